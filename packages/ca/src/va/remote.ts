// Remote network perspectives for multi-perspective issuance corroboration (BR 3.2.2.9): a VA in another network
// answers the primary over HTTPS with mutual TLS (the BRs require an authenticated and encrypted channel).
// `serveRemotePerspective` is the server side (run by `cobble ca va-remote`), `RemotePerspective` the CA's client.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { ACME_ERROR_PREFIX, type CaaRequest, type CaaResult, type ValidationRequest, type ValidationResult, type Validator } from './types.js';

/** A validator with a network location; what the corroborating VA counts towards its quorum. */
export interface Perspective extends Validator {
  readonly name: string;
  /** Regional Internet Registry of the perspective's network (ARIN, RIPE, APNIC, LACNIC, AFRINIC). */
  readonly rir: string;
  /** As `Validator`, plus a signal the corroborating VA uses to cut off a straggler. */
  validate(req: ValidationRequest, signal?: AbortSignal): Promise<ValidationResult>;
  checkCaa(req: CaaRequest, signal?: AbortSignal): Promise<CaaResult>;
}

const VALIDATE_PATH = '/validate';
const CAA_PATH = '/caa';
/** Requests are a few hundred bytes; anything much larger is not ours. */
const MAX_BODY_BYTES = 64 * 1024;

// The wire format is the Validator contract in JSON. Both sides check it, so a perspective of another version (or
// something else listening there) is a clear failure instead of a misread answer.
const challengeType = z.enum(['http-01', 'dns-01', 'tls-alpn-01']);
const validationRequestSchema = z.strictObject({
  type: challengeType,
  domain: z.string(),
  token: z.string(),
  keyAuthorization: z.string(),
  wildcard: z.boolean(),
  accountUri: z.string(),
}) satisfies z.ZodType<ValidationRequest>;
const caaRequestSchema = z.strictObject({
  domain: z.string(),
  wildcard: z.boolean(),
  accountUri: z.string(),
  validationMethod: challengeType,
}) satisfies z.ZodType<CaaRequest>;
const problemSchema = z.object({ type: z.string(), detail: z.string() });
const recordSchema = z.object({
  url: z.string().optional(),
  hostname: z.string(),
  port: z.string().optional(),
  addressesResolved: z.array(z.string()).optional(),
  addressUsed: z.string().optional(),
});
const validationResultSchema = z.union([
  z.object({ ok: z.literal(true), records: z.array(recordSchema) }),
  z.object({ ok: z.literal(false), problem: problemSchema, records: z.array(recordSchema) }),
]) satisfies z.ZodType<ValidationResult>;
const caaResultSchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), problem: problemSchema }),
]) satisfies z.ZodType<CaaResult>;
const answerSchema = <T extends z.ZodType>(result: T) => z.object({ perspective: z.string(), rir: z.string(), result });

export interface PerspectiveTls {
  /** PEM certificate chain and key this side presents. */
  cert: string;
  key: string;
  /** PEM certificate(s) the other side's certificate must chain to. */
  ca: string;
}

export interface RemotePerspectiveServerOptions {
  /** The perspective's name and RIR, echoed in every answer so the CA can detect a misrouted perspective. */
  name: string;
  rir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  tls: PerspectiveTls & {
    /** If set, the client certificate's subject CN or one of its DNS SANs must be in this list. */
    allowedClientNames?: string[];
  };
}

export interface RemotePerspectiveServer {
  /** https://host:port, what the CA configures as the remote's `url`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function clientNames(socket: TLSSocket): string[] {
  const cert = socket.getPeerCertificate();
  const names = cert.subject?.CN ? [String(cert.subject.CN)] : [];
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.push(entry.slice(4));
  }
  return names;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, `malformed request: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  return parsed.data;
}

/** Serves `validator` as a remote perspective: POST /validate and POST /caa, mutual TLS only. */
export async function serveRemotePerspective(validator: Validator, options: RemotePerspectiveServerOptions): Promise<RemotePerspectiveServer> {
  const allowed = options.tls.allowedClientNames ? new Set(options.tls.allowedClientNames) : undefined;
  const handle = async (req: IncomingMessage): Promise<unknown> => {
    if (allowed) {
      const names = clientNames(req.socket as TLSSocket);
      if (!names.some((name) => allowed.has(name))) {
        throw new HttpError(403, `client certificate names ${JSON.stringify(names)} are not among the allowed client names`);
      }
    }
    if (req.method !== 'POST') throw new HttpError(405, 'only POST is served');
    let result: ValidationResult | CaaResult;
    if (req.url === VALIDATE_PATH) result = await validator.validate(parseBody(validationRequestSchema, await readJson(req)));
    else if (req.url === CAA_PATH) result = await validator.checkCaa(parseBody(caaRequestSchema, await readJson(req)));
    else throw new HttpError(404, `no such endpoint; POST ${VALIDATE_PATH} or ${CAA_PATH}`);
    return { perspective: options.name, rir: options.rir, result };
  };
  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = https.createServer(
    // rejectUnauthorized: a client without a certificate chaining to `ca` does not complete the handshake.
    { cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    (req, res) => {
      handle(req).then(
        (body) => reply(res, 200, body),
        (err: unknown) => {
          if (err instanceof HttpError) reply(res, err.status, { error: err.message });
          else reply(res, 500, { error: `perspective ${options.name} failed: ${(err as Error)?.message ?? String(err)}` });
        },
      );
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `https://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface RemotePerspectiveOptions {
  name: string;
  rir: string;
  /** Base URL of the perspective, https://host:port. */
  url: string;
  tls: PerspectiveTls;
  /** Upper bound for one call, connection included, in milliseconds. */
  timeoutMs: number;
}

/**
 * The CA's side of a remote perspective. Never throws: an unreachable, slow, misconfigured or misbehaving perspective
 * is a failed result (serverInternal, detail "perspective NAME: ..."), which the quorum may tolerate.
 */
export class RemotePerspective implements Perspective {
  readonly name: string;
  readonly rir: string;
  private readonly agent: https.Agent;

  constructor(private readonly options: RemotePerspectiveOptions) {
    this.name = options.name;
    this.rir = options.rir;
    // keepAlive: one TLS handshake per perspective instead of one per validation.
    this.agent = new https.Agent({ cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, keepAlive: true, minVersion: 'TLSv1.2' });
  }

  async validate(req: ValidationRequest, signal?: AbortSignal): Promise<ValidationResult> {
    try {
      return await this.call(VALIDATE_PATH, req, validationResultSchema, signal);
    } catch (err) {
      return { ok: false, problem: this.problem(err), records: [] };
    }
  }

  async checkCaa(req: CaaRequest, signal?: AbortSignal): Promise<CaaResult> {
    try {
      return await this.call(CAA_PATH, req, caaResultSchema, signal);
    } catch (err) {
      return { ok: false, problem: this.problem(err) };
    }
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private problem(err: unknown): { type: string; detail: string } {
    return { type: `${ACME_ERROR_PREFIX}serverInternal`, detail: `perspective ${this.name}: ${(err as Error)?.message ?? String(err)}` };
  }

  private async call<T>(path: string, body: unknown, resultSchema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
    const { status, text } = await this.post(new URL(path, this.options.url), JSON.stringify(body), signal);
    if (status !== 200) {
      let message = text.slice(0, 200);
      try {
        message = String(JSON.parse(text).error ?? message);
      } catch {
        // Not our JSON error body: the raw text start says more than nothing.
      }
      throw new Error(`answered HTTP ${status}: ${message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('answered with something that is not JSON');
    }
    const parsed = answerSchema(resultSchema).safeParse(json);
    if (!parsed.success) throw new Error(`answered with an unexpected body: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
    const { perspective, rir, result } = parsed.data;
    // A perspective answering under another name or RIR is a misconfiguration (wrong URL, swapped certificates):
    // counting it would let one network pose as another.
    if (perspective !== this.name || rir !== this.rir) {
      throw new Error(`answered as perspective ${JSON.stringify(perspective)} in RIR ${JSON.stringify(rir)}, configured as ${JSON.stringify(this.name)} in ${JSON.stringify(this.rir)}`);
    }
    return result as T;
  }

  private post(url: URL, body: string, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const cutOff = () => new Error('cut off: the outcome was already decided');
      if (signal?.aborted) return reject(cutOff());
      const req = https.request(url, {
        method: 'POST',
        agent: this.agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      });
      // Why we gave up, so the failure says "no answer within" rather than whatever the torn socket reports.
      let reason: Error | undefined;
      const stop = (err: Error) => {
        reason ??= err;
        req.destroy(err);
      };
      const timer = setTimeout(() => stop(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      const onAbort = () => stop(cutOff());
      signal?.addEventListener('abort', onAbort, { once: true });
      const fail = (err: Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(reason ?? err);
      };
      req.once('error', fail);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) stop(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.once('close', () => {
          if (!res.complete || reason) return fail(new Error('the connection closed before the answer was complete'));
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(body);
    });
  }
}
