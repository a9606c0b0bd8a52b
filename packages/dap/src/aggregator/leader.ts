// The leader: accepts uploads, groups reports into aggregation jobs, drives them against the helper under
// leases, and runs collection jobs. Every step that changes counts is one transaction guarded by the lease token,
// and the helper answers a re-sent job from its stored response, so a killed process never counts a report twice.
import { randomBytes } from 'node:crypto';
import { b64url } from '../codec.js';
import { seal } from '../hpke/index.js';
import { decodeCiphertext, decodePingPong, encodeCiphertext, encodePingPong, writeExtensions, type BatchSelector, type Collection, type PrepareInit, type Report, type ReportError, type ReportMetadata } from '../messages/index.js';
import { Writer, Reader } from '../codec.js';
import type { ClientReportTable } from '../store/schema.js';
import { ConcurrentAssignment } from '../store/index.js';
import { CollectionStore } from '../store/collection.js';
import { bucketDeltas, bucketOf, isCollected, mergeAll, mergeEncoded, openInputShare, sha256, timeError, type CollectedRow } from './common.js';
import type { AggregatorContext, LoadedTask } from './context.js';
import { noisedAggregateShare } from '../dp.js';
import { leaderDrivers, type Driver } from './drivers/index.js';
import { helperAggregateShare, helperAggregationInit } from './peer.js';
import { DapProblem, PeerProblem, type DapErrorType } from './problem.js';
import type { Prio3OutputShare, Prio3PrepState } from '@cobble/vdaf';

type InsertOutcome = { inserted: Set<string>; collected: Set<string> };

function encodeExtensions(exts: ReportMetadata['publicExtensions']): Buffer {
  const w = new Writer(8);
  writeExtensions(w, exts);
  return Buffer.from(w.finish());
}

/** Write-behind buffer: uploads arriving together share one INSERT transaction; each request waits for commit. */
class UploadBuffer {
  private rows: Omit<ClientReportTable, 'state' | 'job_id'>[] = [];
  private waiters: { resolve: (s: InsertOutcome) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly agg: AggregatorContext) {}

  add(rows: Omit<ClientReportTable, 'state' | 'job_id'>[]): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.rows.push(...rows);
      this.waiters.push({ resolve, reject });
      if (this.rows.length >= this.agg.tunables.uploadBatchRows) this.flushSoon(0);
      else this.flushSoon(this.agg.tunables.uploadBatchDelayMs);
    });
  }

  private flushSoon(delay: number): void {
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, delay);
  }

  private async flush(): Promise<void> {
    const rows = this.rows;
    const waiters = this.waiters;
    this.rows = [];
    this.waiters = [];
    if (!rows.length) return;
    try {
      const inserted = await this.agg.store.insertReports(rows);
      for (const w of waiters) w.resolve(inserted);
    } catch (e) {
      for (const w of waiters) w.reject(e);
    }
  }
}

export interface UploadResult {
  /** Per-report failures (DAP-18 UploadErrors); DAP-09 turns the first into a problem document. */
  errors: { reportId: Uint8Array; error: ReportError }[];
}

export class Leader {
  private readonly buffer: UploadBuffer;
  private collectedCache = new Map<string, { rows: CollectedRow[]; at: number }>();
  private drivers: Driver[] = [];

  private readonly collections: CollectionStore;

  constructor(readonly agg: AggregatorContext) {
    this.buffer = new UploadBuffer(agg);
    this.collections = new CollectionStore(agg.store.db, agg.store.dialect);
  }

  private async collected(taskId: string): Promise<CollectedRow[]> {
    const hit = this.collectedCache.get(taskId);
    if (hit && Date.now() - hit.at < 1000) return hit.rows;
    const rows = await this.agg.store.collectedBatches(this.agg.store.db, taskId);
    this.collectedCache.set(taskId, { rows, at: Date.now() });
    return rows;
  }

  // ---- upload ----

  async upload(task: LoadedTask, body: Uint8Array): Promise<UploadResult> {
    let reports: Report[];
    try {
      reports = task.codec.decodeUpload(task.ctx, body);
    } catch (e) {
      throw new DapProblem('invalidMessage', `malformed upload: ${(e as Error).message}`, task.def.taskId);
    }
    const now = this.agg.clock();
    const errors: { reportId: Uint8Array; error: ReportError }[] = [];
    const rows: Omit<ClientReportTable, 'state' | 'job_id'>[] = [];
    const collected = await this.collected(task.idB64);
    const seenInRequest = new Set<string>();
    for (const r of reports) {
      const id = r.metadata.reportId;
      let err: ReportError | null = null;
      if (!this.agg.keyring.recipient(r.leaderShare.configId)) err = 'outdated_config';
      else err = timeError(task.def, r.metadata.time, now);
      if (!err && r.metadata.publicExtensions.length) err = 'invalid_message';
      if (!err && task.def.batchMode === 1 && isCollected(collected, bucketOf(task.def, r.metadata.time))) err = 'batch_collected';
      const hexId = Buffer.from(id).toString('hex');
      if (!err && seenInRequest.has(hexId)) err = 'report_replayed';
      if (err) {
        errors.push({ reportId: id, error: err });
        continue;
      }
      seenInRequest.add(hexId);
      rows.push({
        task_id: task.idB64, report_id: Buffer.from(id), time: r.metadata.time, public_extensions: encodeExtensions(r.metadata.publicExtensions),
        public_share: Buffer.from(r.publicShare), leader_share: Buffer.from(encodeCiphertext(r.leaderShare)), helper_share: Buffer.from(encodeCiphertext(r.helperShare)),
        created_at: Date.now(),
      });
    }
    if (rows.length) {
      const { inserted, collected: late } = await this.buffer.add(rows);
      for (const row of rows) {
        const key = `${task.idB64}:${row.report_id.toString('hex')}`;
        if (late.has(key)) errors.push({ reportId: new Uint8Array(row.report_id), error: 'batch_collected' });
        else if (!inserted.has(key)) errors.push({ reportId: new Uint8Array(row.report_id), error: 'report_replayed' });
      }
    }
    return { errors };
  }

  // ---- background work ----

  /** Runs the job creator and both job drivers in this process (`cobble dap run` runs each on its own). */
  start(): void {
    if (this.drivers.length) return;
    this.drivers = leaderDrivers(this);
    for (const d of this.drivers) d.start();
  }

  async stop(): Promise<void> {
    const drivers = this.drivers;
    this.drivers = [];
    await Promise.allSettled(drivers.map((d) => d.stop()));
  }

  /** Groups waiting reports into aggregation jobs (one transaction per task). Returns the number of jobs made. */
  async createJobs(): Promise<number> {
    let made = 0;
    for (const task of await this.agg.leaderTasks()) {
      made += await this.createJobsForTask(task).catch((e) => {
        if (e instanceof ConcurrentAssignment) return 0;
        throw e;
      });
    }
    return made;
  }

  private async createJobsForTask(task: LoadedTask): Promise<number> {
    const t = this.agg.tunables;
    // Look before locking: the creator polls every jobCreatorIntervalMs, and most polls find too few reports.
    const peek = await this.agg.store.pendingReports(this.agg.store.db, task.idB64, t.minJobSize, false);
    if (!peek.length || (peek.length < t.minJobSize && Date.now() - Math.min(...peek.map((p) => Number(p.created_at))) < t.maxJobDelayMs)) return 0;
    return this.agg.store.transaction(async (trx) => {
      const pending = await this.agg.store.pendingReports(trx, task.idB64, t.maxJobSize * 20);
      if (!pending.length) return 0;
      const oldest = Math.min(...pending.map((p) => Number(p.created_at)));
      if (pending.length < t.minJobSize && Date.now() - oldest < t.maxJobDelayMs) return 0;
      const collected = await this.agg.store.collectedBatches(trx, task.idB64);
      const keep: typeof pending = [];
      const drop: Buffer[] = [];
      for (const p of pending) {
        if (task.def.batchMode === 1 && isCollected(collected, bucketOf(task.def, Number(p.time)))) drop.push(p.report_id);
        else keep.push(p);
      }
      if (drop.length) await this.agg.store.assignReports(trx, task.idB64, null, drop, 2);
      let jobs = 0;
      let i = 0;
      const now = Date.now();
      while (i < keep.length) {
        let size = Math.min(t.maxJobSize, keep.length - i);
        let batchId: Uint8Array | null = null;
        if (task.def.batchMode === 2) {
          const target = task.def.maxBatchSize ?? task.def.minBatchSize;
          const filling = await this.agg.store.fillingBatch(trx, task.idB64);
          batchId = filling ? new Uint8Array(filling.batch_id) : new Uint8Array(randomBytes(32));
          const assigned = filling ? Number(filling.assigned) : 0;
          size = Math.min(size, target - assigned);
          await this.agg.store.putOutstandingBatch(trx, task.idB64, batchId, assigned + size, assigned + size >= target ? 'filled' : 'filling', now, filling ? assigned : null);
        }
        const slice = keep.slice(i, i + size);
        i += size;
        const jobId = new Uint8Array(randomBytes(16));
        const times = slice.map((s) => Number(s.time));
        await this.agg.store.insertAggregationJob(trx, {
          task_id: task.idB64, job_id: jobId, state: 'active', batch_id: batchId, min_time: Math.min(...times), max_time: Math.max(...times),
          report_count: slice.length, lease_expiry: 0, created_at: now, updated_at: now,
        });
        await this.agg.store.assignReports(trx, task.idB64, jobId, slice.map((s) => s.report_id), 1);
        jobs++;
      }
      return jobs;
    });
  }

  /** Runs one aggregation job: leader prep, one round trip to the helper, commit. */
  async driveAggregationJob(job: { task_id: string; job_id: Buffer; lease_attempts: number }, token: string): Promise<void> {
    const store = this.agg.store;
    const task = await this.agg.task(job.task_id);
    if (!task) {
      await store.finishAggregationJob(store.db, job.task_id, job.job_id, token, 'abandoned', 'task no longer exists');
      return;
    }
    const jobRow = await store.getAggregationJob(job.task_id, job.job_id);
    const batchId = jobRow?.batch_id ? new Uint8Array(jobRow.batch_id) : undefined;
    const reports = await store.jobReports(job.task_id, job.job_id);
    const { vdaf, vdafCtx, codec, ctx, def } = task;
    const inits: PrepareInit[] = [];
    const states = new Map<string, { state: Prio3PrepState; reportId: Uint8Array; time: number }>();
    let n = 0;
    for (const r of reports) {
      // Preparation is synchronous crypto; yield now and then so uploads are not starved behind a big job.
      if (++n % 64 === 0) await new Promise((res) => setImmediate(res));
      const metadata: ReportMetadata = { reportId: new Uint8Array(r.report_id), time: Number(r.time), publicExtensions: readExtensionsBuf(r.public_extensions) };
      const publicShare = new Uint8Array(r.public_share);
      const opened = openInputShare(this.agg.keyring, codec, ctx, 2, metadata, publicShare, decodeCiphertext(new Uint8Array(r.leader_share)));
      if (typeof opened === 'string') continue;
      let prep: { state: Prio3PrepState; prepShare: Uint8Array };
      try {
        prep = vdaf.prepInit(def.vdafVerifyKey, 0, metadata.reportId, publicShare, opened.payload, vdafCtx);
      } catch {
        continue;
      }
      states.set(r.report_id.toString('hex'), { state: prep.state, reportId: metadata.reportId, time: metadata.time });
      inits.push({ reportShare: { metadata, publicShare, encryptedInputShare: decodeCiphertext(new Uint8Array(r.helper_share)) }, payload: encodePingPong({ type: 'initialize', prepShare: prep.prepShare }) });
    }
    const verified: { bucket: { batchId: string; bucketStart: number }; reportId: Uint8Array; time: number; outShare: Prio3OutputShare }[] = [];
    if (inits.length) {
      const body = codec.encodeAggregationJobInitReq(ctx, { aggParam: new Uint8Array(0), batchMode: def.batchMode, batchId, verificationKeyId: 0, prepareInits: inits });
      let respBytes: Uint8Array;
      try {
        respBytes = await helperAggregationInit(task, new Uint8Array(job.job_id), body, this.agg.tunables.peerTimeoutMs);
      } catch (e) {
        await this.failOrRetry(job, token, e);
        return;
      }
      let resps;
      try {
        resps = codec.decodeAggregationJobResp(respBytes);
        if (resps.length !== inits.length || resps.some((p, i) => Buffer.compare(Buffer.from(p.reportId), Buffer.from(inits[i].reportShare.metadata.reportId)) !== 0)) {
          throw new Error('helper response does not list the job reports in order');
        }
      } catch (e) {
        await store.finishAggregationJob(store.db, job.task_id, job.job_id, token, 'abandoned', `invalid helper response: ${(e as Error).message}`);
        return;
      }
      for (const p of resps) {
        if (p.kind !== 'continue') continue;
        const s = states.get(Buffer.from(p.reportId).toString('hex'))!;
        try {
          const msg = decodePingPong(p.payload);
          if (msg.type !== 'finish') continue;
          const outShare = vdaf.prepNext(s.state, msg.prepMsg);
          verified.push({ bucket: bucketOf(def, s.time, batchId), reportId: s.reportId, time: s.time, outShare });
        } catch {
          // Rejected by the leader's own check: the helper verified the same proof, so this only happens with a
          // misbehaving helper; the report is left out.
        }
      }
    }
    const deltas = bucketDeltas(vdaf, verified);
    const committed = await store.transaction(async (trx) => {
      if (!(await store.finishAggregationJob(trx, job.task_id, job.job_id, token, 'finished'))) return false;
      const collected = await store.collectedBatches(trx, job.task_id);
      const live = deltas.filter((d) => !isCollected(collected, d));
      await store.commitBuckets(trx, job.task_id, live, mergeEncoded(vdaf));
      await store.scrubJobReports(trx, job.task_id, job.job_id);
      return true;
    });
    if (!committed) console.error(`dap leader: lost the lease on job ${b64url(job.job_id)}; another driver finishes it`);
  }

  private async failOrRetry(job: { task_id: string; job_id: Buffer; lease_attempts: number }, token: string, e: unknown): Promise<void> {
    const t = this.agg.tunables;
    const final = e instanceof PeerProblem && !e.retryable;
    if (final || job.lease_attempts >= t.maxAttempts) {
      await this.agg.store.finishAggregationJob(this.agg.store.db, job.task_id, job.job_id, token, 'abandoned', (e as Error).message);
      return;
    }
    const backoff = Math.min(t.retryMaxMs, t.retryBaseMs * 2 ** (job.lease_attempts - 1));
    await this.agg.store.release('aggregation_jobs', job.task_id, job.job_id, token, Date.now() + backoff, (e as Error).message);
  }

  // ---- collection ----

  async createCollectionJob(task: LoadedTask, jobId: Uint8Array, body: Uint8Array): Promise<'created' | 'exists'> {
    let req;
    try {
      req = task.codec.decodeCollectionReq(task.ctx, body);
    } catch (e) {
      if ((e as Error).name === 'DecodeError' && (e as any).types) throw new DapProblem('unsupportedExtension', (e as Error).message, task.def.taskId);
      throw new DapProblem('invalidMessage', `malformed collection request: ${(e as Error).message}`, task.def.taskId);
    }
    if (req.query.batchMode !== task.def.batchMode) throw new DapProblem('invalidMessage', 'query type does not match the task', task.def.taskId);
    if (req.aggParam.length) throw new DapProblem(task.def.version === 'dap-09' ? 'invalidMessage' : 'invalidAggregationParameter', 'Prio3 takes an empty aggregation parameter', task.def.taskId);
    const prior = await this.agg.store.getCollectionJob(task.idB64, jobId);
    // A deleted job's identical request starts it afresh: for DAP-18 leader-selected tasks every "next batch"
    // request is byte-identical, so the collector deletes each finished job to get the next batch.
    if (prior && Buffer.compare(prior.request, Buffer.from(body)) === 0 && prior.state !== 'failed' && prior.state !== 'deleted') return 'exists';
    if (req.query.batchMode === 1) {
      const { start, duration } = req.query.interval;
      const p = task.def.timePrecision;
      if (duration < p || start % p || duration % p) throw new DapProblem('batchInvalid', `batch interval must be aligned to and at least ${p}s`, task.def.taskId);
      const collected = await this.agg.store.collectedBatches(this.agg.store.db, task.idB64);
      const end = start + duration;
      for (const c of collected) {
        if (c.start_time === null) continue;
        if (Number(c.start_time) < end && start < Number(c.end_time)) {
          const same = Number(c.start_time) === start && Number(c.end_time) === end;
          // DAP-09 lets the same batch be queried max_batch_query_count times (checked below); any other overlap is refused.
          if (same && task.def.version === 'dap-09') continue;
          throw new DapProblem('batchOverlap', 'the batch interval overlaps a collected batch', task.def.taskId);
        }
      }
    }
    if (task.def.version === 'dap-09' && (req.query.batchMode === 1 || req.query.batchId)) {
      const max = task.def.maxBatchQueryCount ?? 1;
      if ((await this.collections.queryCount(task.idB64, Buffer.from(body))) >= max) {
        throw new DapProblem('batchQueriedTooManyTimes', `the batch was already queried ${max} time${max === 1 ? '' : 's'} (max_batch_query_count)`, task.def.taskId);
      }
    }
    // created_at is on the aggregator's clock: garbage collection compares it with the task's report_expiry_age.
    // Re-sending the same request after a failure (e.g. invalidBatchSize) is the collector's way to retry: the
    // store restarts the failed or deleted job (`prior`, read above), and the request is answered as one for an
    // existing job.
    const r = await this.agg.store.insertCollectionJob(task.idB64, jobId, body, this.agg.clock() * 1000);
    if (r === 'conflict') throw new DapProblem('invalidMessage', 'a collection job with this ID exists with a different request', task.def.taskId, 409);
    return r === 'pending' && !prior ? 'created' : 'exists';
  }

  async driveCollectionJob(job: { task_id: string; job_id: Buffer; lease_attempts: number }, token: string): Promise<void> {
    const store = this.agg.store;
    const task = await this.agg.task(job.task_id);
    const row = await store.getCollectionJob(job.task_id, job.job_id);
    if (!task || !row || row.state !== 'pending') return;
    const { def, codec, ctx, vdaf } = task;
    const req = codec.decodeCollectionReq(ctx, new Uint8Array(row.request));
    const retrySoon = () => store.release('collection_jobs', job.task_id, job.job_id, token, Date.now() + 200);
    const fail = async (type: DapErrorType, detail: string) => {
      await store.updateCollectionJob(store.db, job.task_id, job.job_id, { state: 'failed', error: JSON.stringify({ type, detail }), lease_token: null });
    };

    let selector: BatchSelector;
    const now = this.agg.clock();
    if (req.query.batchMode === 1) {
      // Held until every interval of the batch has ended plus the grace for late reports: collecting closes it.
      const grace = def.collectionGraceSeconds ?? this.agg.tunables.collectionGraceSeconds ?? 0;
      if (now < req.query.interval.start + req.query.interval.duration + grace) {
        await retrySoon();
        return;
      }
    }
    const prepared = await store.transaction(async (trx) => {
      if (req.query.batchMode === 1) {
        const { start, duration } = req.query.interval;
        const range = { start, end: start + duration };
        // First the task lock: uploads that got past their collected-batch check are committed and seen below.
        await this.collections.lockTask(trx, job.task_id);
        if (await store.pendingWork(trx, job.task_id, range)) return 'wait';
        const sum = await store.sumBuckets(trx, job.task_id, range);
        if (sum.count < def.minBatchSize) return { fail: `the batch holds ${sum.count} reports, fewer than the minimum batch size ${def.minBatchSize}` };
        await store.markCollected(trx, job.task_id, `${range.start}-${range.end}`, range, now * 1000);
        selector = { batchMode: 1, interval: req.query.interval };
        return sum;
      }
      // DAP-09 may query a collected batch again by its ID (max_batch_query_count, checked at creation).
      const again = !row.batch_id && req.query.batchId && (await this.collections.isBatchCollected(trx, job.task_id, b64url(req.query.batchId)));
      let batchId = row.batch_id ?? (again ? Buffer.from(req.query.batchId!) : await store.claimBatchForCollection(trx, job.task_id, req.query.batchId));
      if (!batchId) return 'wait';
      batchId = Buffer.from(batchId);
      if (!row.batch_id) await store.updateCollectionJob(trx, job.task_id, job.job_id, { batch_id: batchId });
      if (await store.pendingWork(trx, job.task_id, { batchId })) return 'wait';
      const sum = await store.sumBuckets(trx, job.task_id, { batchId: b64url(batchId) });
      if (sum.count < def.minBatchSize) {
        // The leader picked this batch; some of its reports failed preparation. It goes back to filling, and this
        // collection waits for it (or the next one) to hold min_batch_size verified reports, as DAP requires.
        if (!req.query.batchId) {
          await this.collections.reopenBatch(trx, job.task_id, batchId, sum.count, job.job_id);
          return 'wait';
        }
        return { fail: `the batch holds ${sum.count} reports, fewer than the minimum batch size ${def.minBatchSize}` };
      }
      await store.markCollected(trx, job.task_id, b64url(batchId), null, now * 1000);
      selector = { batchMode: 2, batchId: new Uint8Array(batchId) };
      return sum;
    });
    if (prepared === 'wait') {
      this.collectedCache.delete(job.task_id);
      await retrySoon();
      return;
    }
    if ('fail' in prepared) {
      await fail('invalidBatchSize', prepared.fail);
      return;
    }
    this.collectedCache.delete(job.task_id);
    const sum = prepared;
    const batchSelector = selector!;
    const aggParam = new Uint8Array(0);
    const shareReq = codec.encodeAggregateShareReq(ctx, { collectionReqBytes: new Uint8Array(row.request), batchSelector, aggParam, reportCount: sum.count, checksum: sum.checksum });
    let helperShare;
    try {
      helperShare = codec.decodeAggregateShare(await helperAggregateShare(task, shareReq, this.agg.tunables.peerTimeoutMs));
    } catch (e) {
      if (e instanceof PeerProblem && !e.retryable) {
        const type = (e.problemType?.split(':').pop() ?? 'batchMismatch') as DapErrorType;
        await fail(type, `helper refused the aggregate share: ${e.message}`);
      } else {
        const backoff = Math.min(this.agg.tunables.retryMaxMs, this.agg.tunables.retryBaseMs * 2 ** (job.lease_attempts - 1));
        await store.release('collection_jobs', job.task_id, job.job_id, token, Date.now() + backoff);
      }
      return;
    }
    const merged = mergeAll(vdaf, sum.aggShares);
    const leaderShare = def.dp ? noisedAggregateShare(vdaf, def.vdaf, def.dp, merged) : merged;
    const aad = codec.aggregateShareAad(ctx, { aggParam, batchSelector, collectionReqBytes: new Uint8Array(row.request) });
    const sealed = seal(def.collectorHpkeConfig.publicKey, codec.aggregateShareInfo(2), aad, leaderShare);
    const p = def.timePrecision;
    const start = sum.minTime - (sum.minTime % p);
    const end = sum.maxTime - (sum.maxTime % p) + p;
    const collection: Collection = {
      batchId: batchSelector.batchMode === 2 ? batchSelector.batchId : undefined,
      reportCount: sum.count,
      interval: { start, duration: end - start },
      leaderShare: { configId: def.collectorHpkeConfig.id, enc: sealed.enc, payload: sealed.ciphertext },
      helperShare,
    };
    await store.updateCollectionJob(store.db, job.task_id, job.job_id, { state: 'finished', result: Buffer.from(codec.encodeCollection(ctx, collection, def.batchMode)), lease_token: null });
  }

  /** Collection job status for the HTTP layer. */
  async collectionJob(task: LoadedTask, jobId: Uint8Array): Promise<{ state: 'pending' } | { state: 'finished'; body: Uint8Array } | { state: 'failed'; problem: DapProblem } | undefined> {
    const row = await this.agg.store.getCollectionJob(task.idB64, jobId);
    if (!row || row.state === 'deleted') return undefined;
    if (row.state === 'finished') return { state: 'finished', body: new Uint8Array(row.result!) };
    if (row.state === 'failed') {
      const e = JSON.parse(row.error ?? '{}');
      return { state: 'failed', problem: new DapProblem(e.type ?? 'invalidMessage', e.detail ?? 'collection failed', task.def.taskId) };
    }
    return { state: 'pending' };
  }

  async deleteCollectionJob(task: LoadedTask, jobId: Uint8Array): Promise<boolean> {
    const row = await this.agg.store.getCollectionJob(task.idB64, jobId);
    if (!row) return false;
    await this.agg.store.updateCollectionJob(this.agg.store.db, task.idB64, Buffer.from(jobId), { state: 'deleted', result: null });
    return true;
  }
}

function readExtensionsBuf(b: Buffer): ReportMetadata['publicExtensions'] {
  if (!b.length) return [];
  const r = new Reader(new Uint8Array(b));
  return r.vector(2, (v) => ({ type: v.u16(), data: v.opaque16() }));
}

export const checksumOf = (ids: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(32);
  for (const id of ids) {
    const h = sha256(id);
    for (let i = 0; i < 32; i++) out[i] ^= h[i];
  }
  return out;
};
