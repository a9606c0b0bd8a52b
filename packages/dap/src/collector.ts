// The DAP collector: starts a collection job at the leader, polls it, decrypts both aggregate shares and
// unshards the result. WebCrypto only, like the client.
import { b64url } from './codec.js';
import { openWeb, publicKeyFromPrivateWeb } from './hpke/web.js';
import type { BatchSelector, HpkeConfig, Interval, Query } from './messages/index.js';
import { collectorHpke, paramsCodec, paramsVdaf, paramsWireContext, type CollectorParams } from './params.js';
import { resultToJson } from './vdaf.js';
import { unshardNoised } from './dp.js';

export interface CollectionResult {
  reportCount: number;
  interval: Interval;
  batchId?: string;
  aggregate: unknown;
}

export class DapCollectError extends Error {
  constructor(message: string, readonly status?: number, readonly problemType?: string) {
    super(message);
    this.name = 'DapCollectError';
  }
}

const join = (base: string, path: string) => base.replace(/\/+$/, '') + path;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CollectionJob {
  url: string;
  query: Query;
  requestBytes: Uint8Array;
}

export class DapCollector {
  private readonly fetch: typeof fetch;

  constructor(readonly params: CollectorParams, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
    const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    this.fetch = ((input: any, init?: RequestInit) => f(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) })) as typeof fetch;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.params.collectorAuthToken}`, ...extra };
  }

  /** The collector's HPKE key, checked against its config: a collection closes the batch, so fail before that. */
  private async key(): Promise<{ config: HpkeConfig; privateKey: Uint8Array }> {
    let k;
    try {
      k = collectorHpke(this.params);
    } catch (e) {
      throw new DapCollectError((e as Error).message);
    }
    const publicKey = await publicKeyFromPrivateWeb(k.privateKey);
    if (b64url(publicKey) !== b64url(k.config.publicKey)) throw new DapCollectError('collectorHpkePrivateKey does not belong to collectorHpkeConfig');
    return k;
  }

  /** Starts a collection job. A time-interval query needs `interval` (seconds); leader-selected takes none. */
  async start(q: { interval?: Interval; batchId?: Uint8Array } = {}): Promise<CollectionJob> {
    const p = this.params;
    await this.key();
    const codec = paramsCodec(p);
    const ctx = paramsWireContext(p);
    let query: Query;
    if (p.batchMode === 'time-interval') {
      if (!q.interval) throw new DapCollectError('a time-interval task needs a batch interval');
      query = { batchMode: 1, interval: q.interval };
    } else query = { batchMode: 2, batchId: p.version === 'dap-09' ? q.batchId : undefined };
    const requestBytes = codec.encodeCollectionReq(ctx, { query, aggParam: new Uint8Array(0), extensions: [] });
    const base = join(p.leaderUrl, `/tasks/${p.taskId}/collection_jobs`);
    if (p.version === 'dap-09') {
      const url = `${base}/${b64url(globalThis.crypto.getRandomValues(new Uint8Array(16)))}`;
      const res = await this.fetch(url, { method: 'PUT', headers: this.headers({ 'content-type': codec.mediaType('collection-req') }), body: requestBytes });
      if (!res.ok) throw await collectError(res, url);
      return { url, query, requestBytes };
    }
    const res = await this.fetch(base, { method: 'POST', headers: this.headers({ 'content-type': codec.mediaType('collection-req') }), body: requestBytes });
    if (!res.ok) throw await collectError(res, base);
    const location = res.headers.get('location');
    if (!location) throw new DapCollectError(`${base} created a collection job without a Location`);
    return { url: new URL(location, p.leaderUrl).toString(), query, requestBytes };
  }

  /** One poll: undefined while the leader is still working. */
  async poll(job: CollectionJob): Promise<CollectionResult | undefined> {
    const p = this.params;
    const codec = paramsCodec(p);
    const ctx = paramsWireContext(p);
    const res = await this.fetch(job.url, { method: p.version === 'dap-09' ? 'POST' : 'GET', headers: this.headers() });
    if (!res.ok) throw await collectError(res, job.url);
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 202 || body.length === 0) return undefined;
    const c = codec.decodeCollection(ctx, body);
    const { config, privateKey } = await this.key();
    const selector: BatchSelector = job.query.batchMode === 1 ? { batchMode: 1, interval: job.query.interval } : { batchMode: 2, batchId: c.batchId ?? new Uint8Array(32) };
    const aad = codec.aggregateShareAad(ctx, { aggParam: new Uint8Array(0), batchSelector: selector, collectionReqBytes: job.requestBytes });
    const leaderShare = await openWeb(privateKey, config.publicKey, c.leaderShare.enc, codec.aggregateShareInfo(2), aad, c.leaderShare.payload);
    const helperShare = await openWeb(privateKey, config.publicKey, c.helperShare.enc, codec.aggregateShareInfo(3), aad, c.helperShare.payload);
    const aggregate = p.dp ? unshardNoised(paramsVdaf(p), p.vdaf, [leaderShare, helperShare]) : paramsVdaf(p).unshard([leaderShare, helperShare], c.reportCount);
    return { reportCount: c.reportCount, interval: c.interval, batchId: c.batchId ? b64url(c.batchId) : undefined, aggregate: resultToJson(aggregate) };
  }

  /** Starts a job and polls until it finishes (or fails, or the timeout passes). */
  async collect(q: { interval?: Interval; batchId?: Uint8Array } = {}, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<CollectionResult> {
    const job = await this.start(q);
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (Date.now() < deadline) {
      const r = await this.poll(job);
      if (r) {
        // DAP-18 names a collection job by its request, and every leader-selected "next batch" request is the same:
        // deleting the finished job lets the next collection get the next batch.
        if (this.params.version === 'dap-18' && this.params.batchMode === 'leader-selected') await this.fetch(job.url, { method: 'DELETE', headers: this.headers() });
        return r;
      }
      await sleep(opts.pollMs ?? 250);
    }
    throw new DapCollectError(`collection job ${job.url} did not finish within ${opts.timeoutMs ?? 120_000} ms`);
  }
}

async function collectError(res: Response, url: string): Promise<DapCollectError> {
  const text = await res.text();
  let type: string | undefined;
  let detail = text.slice(0, 300);
  try {
    const p = JSON.parse(text);
    type = p.type;
    detail = p.detail ?? detail;
  } catch {
    // not a problem document
  }
  return new DapCollectError(`${url} answered ${res.status}${type ? ` ${type}` : ''}: ${detail}`, res.status, type?.split(':').pop());
}
