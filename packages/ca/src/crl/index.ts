// CRLs as a component (Boulder's crl-updater, in process): every issuer's revoked leaves are split over N shards; a
// leaf's shard is chosen at issuance, stored with it and named in its CRL distribution point. The updater signs each
// shard on a schedule and soon after a revocation (debounced, never inside a request), with CRL numbers from the
// database; the route serves the last signed CRL of a shard with ETag and Last-Modified. This file owns the URLs: the
// path built for (issuer, shard) is the one the route parses.
import type { ServerResponse, IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { CRL_REASONS, issueCrl, type CrlReasonName } from '@cobble/pki';
import type { Clock } from '../core/clock.js';
import { recordCrlGenerated } from '../core/metrics.js';
import type { IssuerChain } from '../issuer/index.js';
import type { CrlStore } from '../sa/crl.js';
import type { CrlConfig } from './config.js';

export { crlConfigSchema, type CrlConfig } from './config.js';

const PATH = /^\/crl\/([a-z0-9][a-z0-9-]{0,31})\/(0|[1-9][0-9]{0,3})\.crl$/;

/** The path of a shard's CRL on the plain-HTTP port. */
export function crlPath(issuerName: string, shard: number): string {
  return `/crl/${issuerName}/${shard}.crl`;
}

/** The CRL distribution point URL of a shard: in the leaves of that shard and in the shard CRL's IDP, byte for byte. */
export function crlUrl(urlBase: string, issuerName: string, shard: number): string {
  return urlBase + crlPath(issuerName, shard);
}

/** The shard of a new leaf: from its serial's random low bits, so shards fill evenly. */
export function shardOf(serialHex: string, shards: number): number {
  return Number.parseInt(serialHex.slice(-8), 16) % shards;
}

const REASON_NAMES = new Map<number, CrlReasonName>(Object.entries(CRL_REASONS).map(([name, code]) => [code, name as CrlReasonName]));

/** A signed shard CRL as served. */
export interface PublishedCrl {
  der: Buffer;
  number: number;
  thisUpdate: Date;
  etag: string;
}

export interface CrlUpdaterOptions {
  store: CrlStore;
  issuers: readonly IssuerChain[];
  clock: Clock;
  config: CrlConfig;
  /** Base of the distribution point URLs (known once the plain-HTTP port listens). */
  urlBase: () => string;
  logger: Logger;
}

const key = (issuerName: string, shard: number) => `${issuerName}/${shard}`;

interface PendingShard {
  issuerName: string;
  shard: number;
  /** Whether the debounce has fired and the shard is being signed. */
  scheduled: boolean;
  done: Promise<PublishedCrl>;
  settle: (crl: Promise<PublishedCrl>) => void;
}

export class CrlUpdater {
  private readonly published = new Map<string, PublishedCrl>();
  /** The signing running per shard, and the one queued behind it for calls that came in meanwhile (shared by them). */
  private readonly running = new Map<string, { done: Promise<PublishedCrl>; next?: Promise<PublishedCrl> }>();
  /** Shards revoked in and not yet signed again; a fetch of one waits for `done` (the CRL that lists the revocation). */
  private readonly pending = new Map<string, PendingShard>();
  private debounce?: NodeJS.Timeout;
  private interval?: NodeJS.Timeout;
  private sweep?: Promise<void>;
  private closed = false;

  constructor(private readonly options: CrlUpdaterOptions) {}

  /**
   * Signs every shard every `updateInterval`. Until then a shard is signed when first fetched: a CA (or a test) that
   * starts does not sign every shard of every issuer before anyone asks.
   */
  start(): void {
    const run = () => {
      this.sweep ??= this.regenerateAll()
        .then(
          () => undefined,
          (err: unknown) => this.options.logger.error({ err }, 'scheduled CRL update failed'),
        )
        .finally(() => (this.sweep = undefined));
    };
    this.interval = setInterval(run, this.options.config.updateInterval);
    this.interval.unref();
  }

  private issuer(name: string): IssuerChain | undefined {
    return this.options.issuers.find((i) => i.name === name);
  }

  /** The shards of an issuer: those new leaves get, and any published before the shard count changed. */
  async shardsOf(issuerName: string): Promise<number[]> {
    const published = await this.options.store.publishedShards(issuerName);
    return [...new Set([...Array.from({ length: this.options.config.shards }, (_, i) => i), ...published])].sort((a, b) => a - b);
  }

  /** Signs every shard of every issuer, one at a time (one shard's entries in memory at once). */
  async regenerateAll(): Promise<number> {
    let signed = 0;
    for (const chain of this.options.issuers) {
      for (const shard of await this.shardsOf(chain.name)) {
        if (this.closed) return signed;
        await this.regenerate(chain.name, shard);
        signed++;
      }
    }
    return signed;
  }

  /**
   * Signs the shard's CRL afresh and publishes it. Calls for a shard already being signed wait for that run and one
   * more after it (one for all of them), so the result always includes revocations made before the call.
   */
  regenerate(issuerName: string, shard: number): Promise<PublishedCrl> {
    const k = key(issuerName, shard);
    const current = this.running.get(k);
    if (current) return (current.next ??= current.done.catch(() => undefined).then(() => this.regenerate(issuerName, shard)));
    const entry: { done: Promise<PublishedCrl>; next?: Promise<PublishedCrl> } = { done: this.sign(issuerName, shard) };
    entry.done = entry.done.finally(() => {
      if (this.running.get(k) === entry) this.running.delete(k);
    });
    this.running.set(k, entry);
    return entry.done;
  }

  private async sign(issuerName: string, shard: number): Promise<PublishedCrl> {
    const chain = this.issuer(issuerName);
    if (!chain) throw new Error(`no issuer named "${issuerName}"`);
    const { store, clock, config } = this.options;
    const now = clock.now();
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000);
    // RFC 5280 / the lints: a CRL's nextUpdate does not outlive the issuing certificate.
    const nextUpdate = new Date(Math.min(thisUpdate.getTime() + config.validity, chain.intermediate.cert.notAfter.getTime()));
    const entries = [];
    for await (const page of store.revokedEntries(issuerName, shard, now)) {
      for (const r of page) {
        entries.push({ serialNumber: Buffer.from(r.serial, 'hex'), revocationDate: new Date(Math.floor(r.revokedAt / 1000) * 1000), reason: REASON_NAMES.get(r.reason) });
      }
    }
    const number = await store.nextCrlNumber(issuerName, shard, thisUpdate.getTime());
    const crl = await issueCrl(
      { thisUpdate, nextUpdate, number, entries, kind: 'subscriber', distributionPointUrl: crlUrl(this.options.urlBase(), issuerName, shard) },
      chain.signer,
      { issuerCertificate: new Uint8Array(chain.intermediate.cert.rawData) },
    );
    const published: PublishedCrl = { der: Buffer.from(crl.der), number, thisUpdate, etag: `"${issuerName}-${shard}-${number}"` };
    recordCrlGenerated(issuerName, shard, thisUpdate, clock);
    // A slower run that started earlier must not replace a newer CRL.
    const previous = this.published.get(key(issuerName, shard));
    if (!previous || previous.number < number) this.published.set(key(issuerName, shard), published);
    return this.published.get(key(issuerName, shard))!;
  }

  /**
   * Called after a revocation: the shard is signed again shortly, off the revoking request (several revocations close
   * together, once).
   */
  revoked(issuerName: string, shard: number | undefined): void {
    if (shard === undefined || this.closed || !this.issuer(issuerName)) return;
    const k = key(issuerName, shard);
    // A shard already being signed may have read the database before this revocation: it gets a new entry.
    if (!this.pending.get(k) || this.pending.get(k)!.scheduled) {
      let settle!: PendingShard['settle'];
      const done = new Promise<PublishedCrl>((resolve) => (settle = resolve));
      done.catch(() => undefined);
      this.pending.set(k, { issuerName, shard, scheduled: false, done, settle });
    }
    this.debounce ??= setTimeout(() => this.signPending(), this.options.config.revocationDelayMs).unref();
  }

  private signPending(): void {
    this.debounce = undefined;
    for (const [k, entry] of this.pending) {
      if (entry.scheduled) continue;
      entry.scheduled = true;
      const signed = this.regenerate(entry.issuerName, entry.shard);
      entry.settle(signed);
      signed
        .catch((err: unknown) => this.options.logger.error({ err, issuer: entry.issuerName, shard: entry.shard }, 'CRL update after a revocation failed'))
        .finally(() => {
          if (this.pending.get(k) === entry) this.pending.delete(k);
        });
    }
  }

  /**
   * The shard's current CRL. Right after a revocation in it, the CRL that lists it (signed by the updater; the fetch
   * only waits for it). Before the first scheduled run has reached the shard (just after start) it is signed now; a
   * shard that does not exist is undefined.
   */
  async current(issuerName: string, shard: number): Promise<PublishedCrl | undefined> {
    const pending = this.pending.get(key(issuerName, shard));
    if (pending) return pending.done;
    const published = this.published.get(key(issuerName, shard));
    if (published) return published;
    if (!this.issuer(issuerName) || !(await this.shardsOf(issuerName)).includes(shard)) return undefined;
    return this.regenerate(issuerName, shard);
  }

  /** Stops the timers and waits for CRLs being signed. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    clearTimeout(this.debounce);
    for (const entry of this.pending.values()) if (!entry.scheduled) entry.settle(Promise.reject(new Error('the CRL updater was closed')));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.sweep;
  }
}

/**
 * Serves `/crl/<issuer>/<shard>.crl` (GET, HEAD) with conditional requests; returns false for any other path so the
 * caller can route it elsewhere.
 */
export function serveCrl(updater: CrlUpdater, logger: Logger, request: IncomingMessage, response: ServerResponse): boolean {
  const match = PATH.exec(request.url ?? '');
  if (!match || (request.method !== 'GET' && request.method !== 'HEAD')) return false;
  updater.current(match[1]!, Number(match[2])).then(
    (crl) => {
      if (!crl) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such CRL shard\n');
        return;
      }
      const headers = { ETag: crl.etag, 'Last-Modified': crl.thisUpdate.toUTCString(), 'Cache-Control': 'public, max-age=300' };
      if (notModified(request, crl)) {
        response.writeHead(304, headers).end();
        return;
      }
      response
        .writeHead(200, { ...headers, 'Content-Type': 'application/pkix-crl', 'Content-Length': crl.der.length })
        .end(request.method === 'GET' ? crl.der : undefined);
    },
    (err: unknown) => {
      logger.error({ err }, 'CRL generation failed');
      response.writeHead(500, { 'Content-Type': 'text/plain' }).end('CRL generation failed\n');
    },
  );
  return true;
}

/** RFC 9110 §13.1: If-None-Match decides when present; otherwise If-Modified-Since against thisUpdate. */
function notModified(request: IncomingMessage, crl: PublishedCrl): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) return ifNoneMatch.split(',').some((tag) => tag.trim() === crl.etag || tag.trim() === '*');
  const since = Date.parse(request.headers['if-modified-since'] ?? '');
  return Number.isFinite(since) && crl.thisUpdate.getTime() <= since;
}
