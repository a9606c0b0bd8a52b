// A small ACME client for tests: signs every request itself with `jose`, so tests can also send requests that a
// well-behaved client never would (stale nonces, wrong urls, foreign algorithms, tampered payloads).
import 'reflect-metadata';
import { Agent, request as httpsRequest } from 'node:https';
import { createHash, webcrypto } from 'node:crypto';
import { createServer, get, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { FlattenedSign, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import * as x509 from '@peculiar/x509';
import { toPem } from '@cobble/pki';

x509.cryptoProvider.set(webcrypto as never);

export type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
export type AccountAlg = 'RS256' | 'ES256' | 'ES384' | 'EdDSA';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = any>(): T;
  text(): string;
  header(name: string): string | undefined;
  links(rel: string): string[];
}

export interface AccountKey {
  alg: AccountAlg;
  privateKey: KeyLike;
  jwk: JWK;
  thumbprint: string;
}

export async function newAccountKey(alg: AccountAlg = 'ES256'): Promise<AccountKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(publicKey);
  return { alg, privateKey, jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
}

export interface SignOptions {
  /** Sign with the embedded jwk instead of the account kid. */
  useJwk?: boolean;
  key?: AccountKey;
  /** Replace or add protected-header members (e.g. a wrong url or nonce). */
  protectedOverrides?: Record<string, unknown>;
  /** Leave out the nonce entirely. */
  omitNonce?: boolean;
}

export class AcmeTestClient {
  directory!: Record<string, any>;
  accountUrl?: string;
  private nonces: string[] = [];
  readonly agent: Agent;

  constructor(
    readonly directoryUrl: string,
    trustBundlePath: string,
    public key: AccountKey,
  ) {
    this.agent = new Agent({ ca: readFileSync(trustBundlePath), keepAlive: true, maxSockets: 8 });
  }

  static async create(directoryUrl: string, trustBundlePath: string, key?: AccountKey): Promise<AcmeTestClient> {
    const client = new AcmeTestClient(directoryUrl, trustBundlePath, key ?? (await newAccountKey()));
    const response = await client.http('GET', directoryUrl);
    if (response.status !== 200) throw new Error(`directory: HTTP ${response.status}`);
    client.directory = response.json();
    return client;
  }

  close(): void {
    this.agent.destroy();
  }

  http(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, agent: this.agent, headers: { ...headers, ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buffer = Buffer.concat(chunks);
          const nonce = res.headers['replay-nonce'];
          if (typeof nonce === 'string') this.nonces.push(nonce);
          resolve(makeResponse(res.statusCode ?? 0, res.headers as HttpResponse['headers'], buffer));
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async nonce(): Promise<string> {
    const cached = this.nonces.pop();
    if (cached) return cached;
    const response = await this.http('HEAD', this.directory.newNonce);
    this.nonces.pop();
    const nonce = response.header('replay-nonce');
    if (!nonce) throw new Error('newNonce returned no Replay-Nonce');
    return nonce;
  }

  /** Builds a flattened JWS; payload `undefined` means POST-as-GET (empty payload). */
  async sign(url: string, payload: unknown, options: SignOptions = {}): Promise<Record<string, unknown>> {
    const key = options.key ?? this.key;
    const header: Record<string, unknown> = { alg: key.alg, url };
    if (!options.omitNonce) header.nonce = await this.nonce();
    if (options.useJwk || !this.accountUrl) header.jwk = key.jwk;
    else header.kid = this.accountUrl;
    Object.assign(header, options.protectedOverrides ?? {});
    for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
    const bytes = payload === undefined ? new Uint8Array() : new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
    return (await new FlattenedSign(bytes).setProtectedHeader(header as never).sign(key.privateKey)) as unknown as Record<string, unknown>;
  }

  async postJws(url: string, jws: unknown, contentType = 'application/jose+json'): Promise<HttpResponse> {
    return this.http('POST', url, JSON.stringify(jws), { 'Content-Type': contentType });
  }

  /** Signs and posts; retries (up to three times) on badNonce as RFC 8555 §6.5 asks clients to. */
  async post(url: string, payload: unknown, options: SignOptions = {}): Promise<HttpResponse> {
    let response = await this.postJws(url, await this.sign(url, payload, options));
    for (let retry = 0; retry < 3 && isBadNonce(response) && !options.protectedOverrides?.nonce; retry++) {
      response = await this.postJws(url, await this.sign(url, payload, options));
    }
    return response;
  }

  async register(payload: Record<string, unknown> = { termsOfServiceAgreed: true, contact: ['mailto:admin@example.com'] }): Promise<HttpResponse> {
    const response = await this.post(this.directory.newAccount, payload, { useJwk: true });
    if (response.status === 201 || response.status === 200) this.accountUrl = response.header('location');
    return response;
  }

  async newOrder(names: string[], extra: Record<string, unknown> = {}): Promise<HttpResponse> {
    return this.post(this.directory.newOrder, { identifiers: names.map((value) => ({ type: 'dns', value })), ...extra });
  }

  keyAuthorization(token: string): string {
    return `${token}.${this.key.thumbprint}`;
  }

  dns01Value(token: string): string {
    return createHash('sha256').update(this.keyAuthorization(token)).digest('base64url');
  }

  /** Polls a resource with POST-as-GET until its status is not pending/processing (bounded). */
  async poll(url: string, until: (status: string) => boolean = (s) => s !== 'pending' && s !== 'processing', attempts = 100): Promise<HttpResponse> {
    for (let i = 0; i < attempts; i++) {
      const response = await this.post(url, undefined);
      if (response.status !== 200 || until(response.json().status)) return response;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${url} still pending after ${attempts} polls`);
  }
}

function isBadNonce(response: HttpResponse): boolean {
  return response.status === 400 && response.header('content-type')?.startsWith('application/problem+json') === true && response.json().type === 'urn:ietf:params:acme:error:badNonce';
}

function makeResponse(status: number, headers: HttpResponse['headers'], body: Buffer): HttpResponse {
  return {
    status,
    headers,
    body,
    json: () => JSON.parse(body.toString('utf8')),
    text: () => body.toString('utf8'),
    header: (name) => {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    links: (rel) => {
      const value = headers.link;
      const all = (Array.isArray(value) ? value.join(', ') : value ?? '').split(/,\s*(?=<)/);
      return all.filter((l) => l.includes(`rel="${rel}"`)).map((l) => l.slice(l.indexOf('<') + 1, l.indexOf('>')));
    },
  };
}

export type CsrKeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-1024';

/** A key pair for a certificate plus a CSR over `names` (first name also as CN unless `commonName` is null). */
export async function makeCsr(names: string[], kind: CsrKeyKind = 'ecdsa-p256', commonName: string | null = names[0]!) {
  const subtle = webcrypto.subtle;
  const algorithm =
    kind === 'ecdsa-p256'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : kind === 'ecdsa-p384'
        ? { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }
        : { name: 'RSASSA-PKCS1-v1_5', modulusLength: kind === 'rsa-1024' ? 1024 : 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const keys = (await subtle.generateKey(algorithm as never, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: commonName === null ? [] : [{ CN: [commonName] }],
    keys: keys as never,
    signingAlgorithm: algorithm as never,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value): x509.JsonGeneralName => ({ type: 'dns', value })))],
  });
  const spkiJwk = await subtle.exportKey('jwk', keys.publicKey);
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', keys.privateKey));
  return { csrDer: Buffer.from(csr.rawData), keys, publicJwk: spkiJwk as JWK, privateKeyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

export function splitPemChain(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** A loopback http-01 responder: serves key authorizations for registered tokens. */
export class Http01Responder {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly tokens: Map<string, string>,
    private readonly delays: Map<string, number>,
  ) {}

  /** Listens on `port` (0: a free one), as a subscriber's web server answering the VA. */
  static async start(port = 0): Promise<Http01Responder> {
    const tokens = new Map<string, string>();
    const delays = new Map<string, number>();
    const server = createServer((req, res) => {
      const match = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      const body = match ? tokens.get(match[1]!) : undefined;
      const answer = () => {
        if (body === undefined) res.writeHead(404).end();
        else res.writeHead(200, { 'Content-Type': 'text/plain' }).end(body);
      };
      const delay = match ? delays.get(match[1]!) : undefined;
      if (delay) setTimeout(answer, delay);
      else answer();
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return new Http01Responder(server, (server.address() as AddressInfo).port, tokens, delays);
  }

  /** Serves `keyAuthorization` for `token`, optionally only after `delayMs` (a slow web server). */
  set(token: string, keyAuthorization: string, delayMs = 0): void {
    this.tokens.set(token, keyAuthorization);
    if (delayMs > 0) this.delays.set(token, delayMs);
  }

  delete(token: string): void {
    this.tokens.delete(token);
    this.delays.delete(token);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers the http-01 challenge of each authorization and waits until it is valid. */
export async function validateHttp01Authorizations(client: AcmeTestClient, responder: Http01Responder, authorizationUrls: string[]): Promise<void> {
  for (const authzUrl of authorizationUrls) {
    const authz = (await client.post(authzUrl, undefined)).json();
    const challenge = authz.challenges.find((c: any) => c.type === 'http-01');
    responder.set(challenge.token, client.keyAuthorization(challenge.token));
    const answered = await client.post(challenge.url, {});
    if (answered.status !== 200) throw new Error(`challenge: ${answered.status} ${answered.text()}`);
    const done = await client.poll(authzUrl);
    if (done.json().status !== 'valid') throw new Error(`authorization ${done.json().status}: ${JSON.stringify(done.json())}`);
  }
}

/** A plain-HTTP GET (the AIA and CRL listener). */
export function fetchHttp(url: string): Promise<{ status: number; body: Buffer; type?: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: res.headers['content-type'] }));
    }).on('error', reject);
  });
}

/** Runs newOrder → http-01 → finalize → download for `names` and returns the pieces. */
export async function issueViaHttp01(
  client: AcmeTestClient,
  responder: Http01Responder,
  names: string[],
  kind: CsrKeyKind = 'ecdsa-p256',
) {
  const orderResponse = await client.newOrder(names);
  if (orderResponse.status !== 201) throw new Error(`newOrder: ${orderResponse.status} ${orderResponse.text()}`);
  const orderUrl = orderResponse.header('location')!;
  let order = orderResponse.json();
  await validateHttp01Authorizations(client, responder, order.authorizations);
  const csr = await makeCsr(names, kind);
  const finalized = await client.post(order.finalize, { csr: csr.csrDer.toString('base64url') });
  if (finalized.status !== 200) throw new Error(`finalize: ${finalized.status} ${finalized.text()}`);
  order = (await client.poll(orderUrl)).json();
  if (order.status !== 'valid') throw new Error(`order ${order.status}`);
  const certResponse = await client.post(order.certificate, undefined);
  return { orderUrl, order, certUrl: order.certificate as string, certResponse, chainPem: certResponse.text(), csr };
}
