// OCSP responder (RFC 6960), off unless `ocsp.enabled`: GET /ocsp/<base64 request> and POST /ocsp on the plain-HTTP
// port. Each issuer has a delegated responder (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) whose key and certificate are
// made at startup and kept in the data directory; responses are signed on demand and reused for a short time while the
// certificate's status stays the same. This file owns the responder's URL: the one leaves name is the one it serves.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  CRL_REASONS, KeyObjectSigner, OcspRequestError, fromPem, generateSoftwareKey, issueCertificate, issuerHashes, newSerialNumber,
  ocspErrorResponse, ocspSignerTemplate, parseOcspRequest, signOcspResponse, toPem, type CrlReasonName, type OcspCertQuery, type OcspCertStatus,
} from '@cobble/pki';
import type { Clock } from '../core/clock.js';
import type { CertificateRecord } from '../core/index.js';
import type { IssuerChain } from '../issuer/index.js';
import type { OcspConfig } from './config.js';

export { ocspConfigSchema, type OcspConfig } from './config.js';

const PATH = '/ocsp';
/** A responder certificate lives this long and is replaced when less than a third of it is left. */
const RESPONDER_VALIDITY_MS = 90 * 86_400_000;
const MAX_REQUEST_BYTES = 16_384;
const CACHE_ENTRIES = 10_000;

/** The responder URL leaves name in their AIA. */
export function ocspUrl(urlBase: string): string {
  return urlBase + PATH;
}

/** What the responder reads: certificates by serial (the SA). */
export interface CertificateLookup {
  getCertificateBySerial(serial: string): Promise<CertificateRecord | undefined>;
}

interface Responder {
  chain: IssuerChain;
  signer: KeyObjectSigner;
  certificate: Uint8Array;
  /** CertID hashes of the issuer, per hash algorithm, computed once. */
  hashes: Map<OcspCertQuery['hash'], { nameHash: Buffer; keyHash: Buffer }>;
}

const REASON_NAMES = new Map<number, CrlReasonName>(Object.entries(CRL_REASONS).map(([name, code]) => [code, name as CrlReasonName]));

export class OcspResponder {
  private readonly cache = new Map<string, { der: Uint8Array; until: number }>();

  private constructor(
    private readonly responders: Responder[],
    private readonly certificates: CertificateLookup,
    private readonly clock: Clock,
    private readonly config: OcspConfig,
  ) {}

  /** Loads each issuer's responder from `dataDir/ocsp/`, or makes (and stores) a new one when missing or aging. */
  static async start(options: { issuers: readonly IssuerChain[]; dataDir: string; certificates: CertificateLookup; clock: Clock; config: OcspConfig; logger: Logger }): Promise<OcspResponder> {
    const dir = join(options.dataDir, 'ocsp');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const responders: Responder[] = [];
    for (const chain of options.issuers) responders.push(await loadOrCreateResponder(chain, dir, options.clock, options.logger));
    return new OcspResponder(responders, options.certificates, options.clock, options.config);
  }

  /** The DER responder certificate of an issuer (what clients see in responses). */
  responderCertificate(issuerName: string): Uint8Array | undefined {
    return this.responders.find((r) => r.chain.name === issuerName)?.certificate;
  }

  /** Answers a DER OCSPRequest with a DER OCSPResponse (an error status for requests it cannot answer). */
  async respond(requestDer: Uint8Array): Promise<Uint8Array> {
    let queries: OcspCertQuery[];
    try {
      queries = parseOcspRequest(requestDer);
    } catch (err) {
      if (err instanceof OcspRequestError) return ocspErrorResponse('malformedRequest');
      throw err;
    }
    const matched = queries.map((q) => ({ query: q, responder: this.responders.find((r) => issuedBy(r, q)) }));
    // RFC 6960 §2.3: a responder that is not authoritative for a certificate answers "unauthorized". One signer signs a
    // response, so all certificates asked about must share an issuer.
    const responder = matched[0]!.responder;
    if (!responder || matched.some((m) => m.responder !== responder)) return ocspErrorResponse('unauthorized');
    const statuses = await Promise.all(queries.map((q) => this.statusOf(responder, q.serial)));
    const now = this.clock.now();
    const cacheKey = queries.map((q, i) => `${Buffer.from(q.certId.serialNumber).toString('hex')}:${q.hash}:${responder.chain.name}:${statusKey(statuses[i]!)}`).join('|');
    const cached = this.cache.get(cacheKey);
    if (cached && cached.until > now) return cached.der;
    const thisUpdate = new Date(now);
    const nextUpdate = new Date(now + this.config.responseValidity);
    const der = await signOcspResponse({
      signer: responder.signer,
      responderCertificate: responder.certificate,
      producedAt: thisUpdate,
      answers: queries.map((q, i) => ({ certId: q.certId, status: statuses[i]!, thisUpdate, nextUpdate })),
    });
    this.cache.delete(cacheKey);
    this.cache.set(cacheKey, { der, until: now + this.config.cacheMs });
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return der;
  }

  private async statusOf(responder: Responder, serial: string): Promise<OcspCertStatus> {
    const record = await this.certificates.getCertificateBySerial(serial);
    if (!record || record.issuerName !== responder.chain.name) return { status: 'unknown' };
    if (record.revokedAt === undefined) return { status: 'good' };
    return { status: 'revoked', revokedAt: new Date(record.revokedAt), reason: REASON_NAMES.get(record.revokedReason ?? 0) };
  }
}

function statusKey(status: OcspCertStatus): string {
  return status.status === 'revoked' ? `revoked/${status.revokedAt.getTime()}/${status.reason ?? ''}` : status.status;
}

function issuedBy(responder: Responder, query: OcspCertQuery): boolean {
  let hashes = responder.hashes.get(query.hash);
  if (!hashes) responder.hashes.set(query.hash, (hashes = issuerHashes(new Uint8Array(responder.chain.intermediate.cert.rawData), query.hash)));
  return hashes.nameHash.equals(query.issuerNameHash) && hashes.keyHash.equals(query.issuerKeyHash);
}

async function loadOrCreateResponder(chain: IssuerChain, dir: string, clock: Clock, logger: Logger): Promise<Responder> {
  const issuerDer = new Uint8Array(chain.intermediate.cert.rawData);
  // Named after the issuer certificate too: a replaced intermediate gets a new responder.
  const base = join(dir, `${chain.name}-${createHash('sha256').update(issuerDer).digest('hex').slice(0, 16)}`);
  const now = clock.now();
  try {
    const [keyPem, certPem] = await Promise.all([readFile(`${base}.key.pem`, 'utf8'), readFile(`${base}.cert.pem`, 'utf8')]);
    const certificate = fromPem(certPem, 'CERTIFICATE', `${base}.cert.pem`);
    const validTo = Date.parse(new X509Certificate(certificate).validTo);
    if (validTo - now > RESPONDER_VALIDITY_MS / 3) {
      return { chain, signer: new KeyObjectSigner(createPrivateKey(keyPem), `OCSP responder of ${chain.name}`), certificate, hashes: new Map() };
    }
    logger.info({ issuer: chain.name }, 'the OCSP responder certificate is aging; making a new one');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = generateSoftwareKey('ecdsa-p256');
  const signer = new KeyObjectSigner(key, `OCSP responder of ${chain.name}`);
  const notBefore = new Date(Math.floor((now - 60_000) / 1000) * 1000);
  const notAfter = new Date(Math.floor(Math.min(notBefore.getTime() + RESPONDER_VALIDITY_MS, chain.intermediate.cert.notAfter.getTime()) / 1000) * 1000);
  const issued = await issueCertificate(
    ocspSignerTemplate({
      serialNumber: newSerialNumber({ randomLength: 17 }),
      notBefore,
      notAfter,
      issuerCertificate: issuerDer,
      subject: { commonName: `cobble OCSP responder ${chain.name}` },
      publicKey: signer.publicKey,
    }),
    chain.signer,
    { kind: 'ocsp-signer', issuerCertificate: issuerDer },
  );
  // Written to temporary names first: a crash leaves either the old pair or the new one.
  await writeFile(`${base}.key.pem.tmp`, key.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  await writeFile(`${base}.cert.pem.tmp`, toPem(issued.der, 'CERTIFICATE'));
  await rename(`${base}.key.pem.tmp`, `${base}.key.pem`);
  await rename(`${base}.cert.pem.tmp`, `${base}.cert.pem`);
  return { chain, signer, certificate: issued.der, hashes: new Map() };
}

/**
 * Serves GET /ocsp/<base64 DER request> (RFC 6960 Appendix A.1, URL-encoded or not) and POST /ocsp with an
 * application/ocsp-request body; returns false for any other path.
 */
export function serveOcsp(responder: OcspResponder, logger: Logger, request: IncomingMessage, response: ServerResponse): boolean {
  const url = request.url ?? '';
  const isGet = (request.method === 'GET' || request.method === 'HEAD') && url.startsWith(`${PATH}/`);
  const isPost = request.method === 'POST' && (url === PATH || url === `${PATH}/`);
  if (!isGet && !isPost) return false;
  const answer = (der: Uint8Array, cacheable: boolean) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/ocsp-response', 'Content-Length': der.length };
    // RFC 5019 §6: GET responses may be cached by HTTP caches, briefly.
    if (cacheable && isGet) headers['Cache-Control'] = 'public, max-age=60, no-transform, must-revalidate';
    response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : Buffer.from(der));
  };
  const run = (der: Uint8Array) =>
    responder.respond(der).then(
      (out) => answer(out, true),
      (err: unknown) => {
        logger.error({ err }, 'OCSP response failed');
        answer(ocspErrorResponse('internalError'), false);
      },
    );
  if (isGet) {
    let der: Buffer;
    try {
      der = Buffer.from(decodeURIComponent(url.slice(PATH.length + 1)), 'base64');
    } catch {
      answer(ocspErrorResponse('malformedRequest'), false);
      return true;
    }
    void run(der);
    return true;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) {
      answer(ocspErrorResponse('malformedRequest'), false);
      request.destroy();
      return;
    }
    chunks.push(chunk);
  });
  request.on('end', () => {
    if (size <= MAX_REQUEST_BYTES) void run(Buffer.concat(chunks));
  });
  return true;
}
