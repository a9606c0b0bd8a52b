// A lean ACME client for the benchmark: the same code drives cobble and Pebble, so the comparison measures servers.
// Hand-written instead of acme-client because that library's fixed back-off polling (seconds) would dominate latency.
import { request, type Agent } from 'node:https';
import { FlattenedSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ChallengeSink {
  set(token: string, keyAuthorization: string): void;
  delete(token: string): void;
}

const POLL_INTERVAL_MS = 10;
const MAX_POLLS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds spent per step name, summed over all drivers (for `--steps`). */
export const stepTimes = new Map<string, { ms: number; count: number }>();
/** Every request's time per step name, while `sampling.enabled` is true (bench/acme-scale's per-request percentiles). */
export const stepSamples = new Map<string, number[]>();
export const sampling = { enabled: false };
/** Requests that timed out or failed and were repeated (POST-as-GET only), and badNonce retries. */
export const stalls = { count: 0, badNonces: 0 };
const REQUEST_TIMEOUT_MS = 10_000;

function record(step: string, ms: number): void {
  const entry = stepTimes.get(step) ?? { ms: 0, count: 0 };
  entry.ms += ms;
  entry.count++;
  stepTimes.set(step, entry);
  if (sampling.enabled) {
    const samples = stepSamples.get(step) ?? [];
    samples.push(ms);
    stepSamples.set(step, samples);
  }
}

export class AcmeDriver {
  private nonces: string[] = [];
  private accountUrl?: string;
  private directory!: Record<string, string>;
  private thumbprint!: string;

  private constructor(private readonly agent: Agent, private readonly key: PrivateKey, private readonly jwk: JWK) {}

  /** Fetches the directory and registers a fresh ES256 account. */
  static async register(directoryUrl: string, agent: Agent): Promise<AcmeDriver> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const driver = new AcmeDriver(agent, privateKey, jwk);
    driver.thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
    const dir = await driver.http('GET', directoryUrl);
    if (dir.status !== 200) throw new Error(`directory ${directoryUrl}: HTTP ${dir.status}`);
    driver.directory = JSON.parse(dir.body.toString());
    const account = await driver.post(driver.directory.newAccount, { termsOfServiceAgreed: true, contact: ['mailto:bench@example.com'] });
    if (account.status !== 201 && account.status !== 200) throw new Error(`newAccount: HTTP ${account.status} ${account.body}`);
    driver.accountUrl = String(account.headers.location);
    return driver;
  }

  /** newOrder → http-01 → finalize → download, for one DNS name; returns the PEM chain. */
  async issue(name: string, csrDer: Buffer, sink: ChallengeSink): Promise<string> {
    const created = await this.post(this.directory.newOrder, { identifiers: [{ type: 'dns', value: name }] }, 'newOrder');
    expect(created, 201, 'newOrder');
    const orderUrl = String(created.headers.location);
    let order = JSON.parse(created.body.toString());
    for (const authzUrl of order.authorizations as string[]) {
      const authz = JSON.parse(expect(await this.post(authzUrl, undefined, 'authorization'), 200, 'authorization').body.toString());
      if (authz.status === 'valid') continue;
      const challenge = (authz.challenges as { type: string; url: string; token: string }[]).find((c) => c.type === 'http-01');
      if (!challenge) throw new Error(`no http-01 challenge in ${authzUrl}`);
      sink.set(challenge.token, `${challenge.token}.${this.thumbprint}`);
      try {
        const answered = JSON.parse(expect(await this.post(challenge.url, {}, 'challenge'), 200, 'challenge').body.toString());
        if (answered.status !== 'valid') await this.pollUntil(authzUrl, 'authorization');
      } finally {
        sink.delete(challenge.token);
      }
    }
    order = JSON.parse(expect(await this.post(order.finalize, { csr: csrDer.toString('base64url') }, 'finalize'), 200, 'finalize').body.toString());
    if (order.status !== 'valid') order = await this.pollUntil(orderUrl, 'order');
    const certificate = expect(await this.post(order.certificate, undefined, 'certificate'), 200, 'certificate');
    return certificate.body.toString();
  }

  /** Drops the driver's connection (the agent is its own). */
  close(): void {
    this.nonces = [];
    this.agent.destroy();
  }

  private async pollUntil(url: string, what: string): Promise<any> {
    for (let i = 0; i < MAX_POLLS; i++) {
      const object = JSON.parse(expect(await this.post(url, undefined, `poll ${what}`), 200, what).body.toString());
      if (object.status === 'valid') return object;
      if (object.status === 'invalid') throw new Error(`${what} ${url} became invalid: ${JSON.stringify(object)}`);
      const pause = performance.now();
      await sleep(POLL_INTERVAL_MS);
      record(`poll ${what} (sleeping)`, performance.now() - pause);
    }
    throw new Error(`${what} ${url} not valid after ${MAX_POLLS} polls`);
  }

  /** Signed POST; `payload` undefined is POST-as-GET. Retries a badNonce (Pebble may reject nonces on purpose). */
  private async post(url: string, payload?: unknown, step = 'other'): Promise<Response> {
    const started = performance.now();
    try {
      return await this.postOnce(url, payload);
    } finally {
      record(step, performance.now() - started);
    }
  }

  private async postOnce(url: string, payload?: unknown): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const header: Record<string, unknown> = { alg: 'ES256', url, nonce: await this.nonce() };
      if (this.accountUrl) header.kid = this.accountUrl;
      else header.jwk = this.jwk;
      const bytes = payload === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
      const jws = await new FlattenedSign(bytes).setProtectedHeader(header as never).sign(this.key);
      let response: Response;
      try {
        response = await this.http('POST', url, JSON.stringify(jws));
      } catch (err) {
        // A POST-as-GET is safe to repeat; count it so a run with stalls is visible in the output.
        if (payload !== undefined || attempt >= 2) throw err;
        stalls.count++;
        continue;
      }
      if (response.status === 400 && attempt < 5 && response.body.includes('badNonce')) {
        stalls.badNonces++;
        continue;
      }
      return response;
    }
  }

  private async nonce(): Promise<string> {
    const cached = this.nonces.pop();
    if (cached) return cached;
    await this.http('HEAD', this.directory.newNonce);
    const fresh = this.nonces.pop();
    if (!fresh) throw new Error('newNonce returned no Replay-Nonce');
    return fresh;
  }

  private http(method: string, url: string, body?: string): Promise<Response> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { 'User-Agent': 'cobble-bench/0.1' };
      if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/jose+json', 'Content-Length': Buffer.byteLength(body) });
      const req = request(url, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const nonce = res.headers['replay-nonce'];
          if (typeof nonce === 'string') this.nonces.push(nonce);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${method} ${url}`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function expect(response: Response, status: number, what: string): Response {
  if (response.status !== status) throw new Error(`${what}: HTTP ${response.status} (expected ${status}): ${response.body.toString().slice(0, 500)}`);
  return response;
}
