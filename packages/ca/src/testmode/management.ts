// Test mode's management API (HTTP on loopback, in the spirit of Pebble's and pebble-challtestsrv's): what a test
// needs to see and steer besides ACME — the roots and intermediates to trust, a certificate's status by serial,
// revocation without the subscriber's key, and the DNS records the test-mode DNS server answers with. The DNS calls
// take pebble-challtestsrv's request shapes, so scripts written for it carry over. Not for a real CA: anyone on this
// machine can revoke through it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as x509 from '@peculiar/x509';
import type { Clock } from '../core/clock.js';
import type { CertificateRecord } from '../core/objects.js';
import { z } from 'zod';
import type { Faults } from './faults.js';
import { BodyTooLarge, listenOnLoopback, readBody, type LoopbackServer } from './listen.js';
import type { TestCaaRecord, TestDnsRecords } from './records.js';

/** The largest request is a CAA policy list: a few kilobytes. */
const MAX_BODY = 64 * 1024;
/** RFC 5280 §5.3.1 CRLReason codes (7 is unused). Any of them, not only a subscriber's: tests exercise the CA's own. */
const REVOCATION_REASONS = new Set([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);

/** What the API reads and revokes certificates through (the SA). */
export interface CertificateStore {
  getCertificateBySerial(serial: string): Promise<CertificateRecord | undefined>;
  revokeCertificate(serial: string, reason: number, at: number): Promise<boolean>;
}

/** Where the API keeps ARI windows it is told to serve (the SA's IncidentStore). */
export interface RenewalWindowStore {
  setWindowOverride(serial: string, window: { start: number; end: number; explanationUrl?: string }, at: number): Promise<void>;
  clearWindowOverride(serial: string): Promise<void>;
}

/** The parts of an issuer the API lists (an `IssuerChain`'s). */
export interface ManagedIssuer {
  name: string;
  /** The trust anchor of each chain, in the order of `chainsPem`. */
  chainRoots: x509.X509Certificate[];
  /** [default, ...alternates], each the certificates served after the leaf. */
  chainsPem: string[];
}

/** One chain of one issuer: `chain` 0 is the default, 1… the alternates in the order ACME serves them. */
export interface ChainCertificate {
  issuer: string;
  chain: number;
  /** A root: one certificate. Intermediates: every certificate of the chain after the leaf, in order. */
  pem: string;
}

export interface CertificateStatus {
  serial: string;
  status: 'valid' | 'revoked';
  issuer: string;
  profile: string;
  /** RFC 3339. */
  notBefore: string;
  notAfter: string;
  revokedAt?: string;
  /** RFC 5280 CRLReason code. */
  revocationReason?: number;
  /** The leaf only. */
  pem: string;
}

export type ManagementApi = LoopbackServer;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The root each chain of each issuer leads to. */
function chainRoots(issuers: readonly ManagedIssuer[]): ChainCertificate[] {
  return issuers.flatMap((issuer) => issuer.chainRoots.map((root, chain) => ({ issuer: issuer.name, chain, pem: root.toString('pem') + '\n' })));
}

function statusOf(record: CertificateRecord): CertificateStatus {
  const revoked = record.revokedAt !== undefined;
  return {
    serial: record.serial,
    status: revoked ? 'revoked' : 'valid',
    issuer: record.issuerName,
    profile: record.profile,
    notBefore: new Date(record.notBefore).toISOString(),
    notAfter: new Date(record.notAfter).toISOString(),
    ...(revoked ? { revokedAt: new Date(record.revokedAt!).toISOString(), revocationReason: record.revokedReason ?? 0 } : {}),
    pem: record.pem,
  };
}

/** The SA keys certificates by lower-case hex; people paste serials upper-case or with colons (openssl's form). */
function normalizeSerial(serial: string): string {
  const hex = serial.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(hex)) throw new HttpError(400, `not a hexadecimal serial number: ${JSON.stringify(serial)}`);
  return hex;
}

async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(request, MAX_BODY).catch((err: unknown) => {
    throw err instanceof BodyTooLarge ? new HttpError(413, err.message) : err;
  });
  // `curl -X POST .../reset` sends nothing.
  if (body === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'the body must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) throw new HttpError(400, `"${field}" must be a non-empty string`);
  return value;
}

function stringList(body: Record<string, unknown>, field: string): string[] {
  const value = body[field];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new HttpError(400, `"${field}" must be an array of strings`);
  return value as string[];
}

function rfc3339(body: Record<string, unknown>, field: string): number {
  const value = stringField(body, field);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new HttpError(400, `"${field}" must be an RFC 3339 date-time, got ${JSON.stringify(value)}`);
  return ms;
}

function caaPolicies(body: Record<string, unknown>): TestCaaRecord[] {
  const { policies } = body;
  if (!Array.isArray(policies)) throw new HttpError(400, '"policies" must be an array of {flags?, tag, value}');
  return policies.map((p: unknown) => {
    const { flags = 0, tag, value } = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof flags !== 'number' || typeof tag !== 'string' || typeof value !== 'string') throw new HttpError(400, 'each policy must be {flags?: number, tag: string, value: string}');
    return { flags, tag, value };
  });
}

/** The store rejects malformed CAA records and addresses with RangeError: the caller's mistake, a 400. */
function store(change: () => void): undefined {
  try {
    change();
  } catch (err) {
    if (err instanceof RangeError) throw new HttpError(400, err.message);
    throw err;
  }
  return undefined;
}

export async function startManagementApi(
  sources: { records: TestDnsRecords; certificates: CertificateStore; issuers: readonly ManagedIssuer[]; clock: Clock; faults: Faults; renewalWindows: RenewalWindowStore },
  port = 0,
): Promise<ManagementApi> {
  const { records, certificates, clock, faults, renewalWindows } = sources;
  const roots = chainRoots(sources.issuers);
  const intermediates: ChainCertificate[] = sources.issuers.flatMap((i) => i.chainsPem.map((pem, chain) => ({ issuer: i.name, chain, pem })));

  const certificate = async (serial: string): Promise<CertificateRecord> => {
    const record = await certificates.getCertificateBySerial(normalizeSerial(serial));
    if (!record) throw new HttpError(404, `no certificate with serial ${serial}`);
    return record;
  };

  /** Mutations answer 204 (undefined); reads answer 200 with JSON. */
  const posts: Record<string, (body: Record<string, unknown>) => Promise<unknown> | undefined> = {
    '/revoke': async (body) => {
      const { reason = 0 } = body;
      if (typeof reason !== 'number' || !REVOCATION_REASONS.has(reason)) throw new HttpError(400, `"reason" must be an RFC 5280 reason code (${[...REVOCATION_REASONS].join(', ')})`);
      const record = await certificate(stringField(body, 'serial'));
      if (!(await certificates.revokeCertificate(record.serial, reason, clock.now()))) throw new HttpError(409, `certificate ${record.serial} is already revoked`);
      return statusOf(await certificate(record.serial));
    },
    // RFC 9773: the renewalInfo window served for a certificate from now on (until cleared), instead of the computed one.
    '/set-ari-window': async (body) => {
      const record = await certificate(stringField(body, 'serial'));
      const start = rfc3339(body, 'start');
      const end = rfc3339(body, 'end');
      if (end <= start) throw new HttpError(400, '"end" must be later than "start" (RFC 9773 §4.2 forbids serving such a window)');
      const { explanationURL } = body;
      if (explanationURL !== undefined && typeof explanationURL !== 'string') throw new HttpError(400, '"explanationURL" must be a string');
      await renewalWindows.setWindowOverride(record.serial, { start, end, explanationUrl: explanationURL }, clock.now());
      return undefined;
    },
    '/clear-ari-window': async (body) => {
      await renewalWindows.clearWindowOverride((await certificate(stringField(body, 'serial'))).serial);
      return undefined;
    },
    // As pebble-challtestsrv: set-txt adds a value (a name and its wildcard share `_acme-challenge`).
    '/set-txt': (body) => store(() => records.addTxt(stringField(body, 'host'), stringField(body, 'value'))),
    '/clear-txt': (body) => store(() => records.clearTxt(stringField(body, 'host'))),
    '/set-caa': (body) => store(() => records.setCaa(stringField(body, 'host'), caaPolicies(body))),
    '/clear-caa': (body) => store(() => records.clearCaa(stringField(body, 'host'))),
    '/set-a': (body) => store(() => records.setAddresses(4, stringField(body, 'host'), stringList(body, 'addresses'))),
    '/clear-a': (body) => store(() => records.clearAddresses(4, stringField(body, 'host'))),
    '/set-aaaa': (body) => store(() => records.setAddresses(6, stringField(body, 'host'), stringList(body, 'addresses'))),
    '/clear-aaaa': (body) => store(() => records.clearAddresses(6, stringField(body, 'host'))),
    // The same JSON as testMode.faults; keys left out are off. Answers the settings now in force.
    '/faults': async (body) => {
      try {
        return faults.set(body);
      } catch (err) {
        if (err instanceof z.ZodError) throw new HttpError(400, z.prettifyError(err).replace(/\n/g, '; '));
        throw err;
      }
    },
    // Only what test mode holds in memory: certificates and accounts stay in the database.
    '/reset': () => store(() => records.clear()),
  };

  const handle = async (request: IncomingMessage): Promise<unknown> => {
    const path = new URL(request.url ?? '/', 'http://management').pathname;
    if (request.method === 'GET') {
      if (path === '/roots') return roots;
      if (path === '/intermediates') return intermediates;
      if (path === '/faults') return faults.get();
      if (path === '/faults/injected') return faults.counts();
      const serial = /^\/certificates\/([^/]+)$/.exec(path)?.[1];
      if (serial !== undefined) return statusOf(await certificate(decodeURIComponent(serial)));
    } else if (request.method === 'POST') {
      const post = posts[path];
      if (post) return post(await readJsonObject(request));
    }
    throw new HttpError(404, `no ${request.method} ${path}; see the README's "Testing your ACME client with cobble"`);
  };

  const reply = (response: ServerResponse, status: number, body: unknown) => {
    if (body === undefined) response.writeHead(status).end();
    else response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((request, response) => {
    handle(request).then(
      (body) => reply(response, body === undefined ? 204 : 200, body),
      (err: unknown) => {
        if (err instanceof HttpError) reply(response, err.status, { error: err.message });
        else reply(response, 500, { error: `management API failed: ${(err as Error).message}` });
      },
    );
  });
  return listenOnLoopback(server, port);
}
