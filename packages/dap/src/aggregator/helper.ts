// The helper: aggregation job init (verify and commit in one transaction, response stored for idempotent
// retries), continuation, and aggregate shares.
import { b64url } from '../codec.js';
import { seal } from '../hpke/index.js';
import { UnsupportedExtension, decodePingPong, encodePingPong, type AggregationJobInitReq, type PrepareResp, type ReportError } from '../messages/index.js';
import { bucketDeltas, bucketOf, isCollected, mergeAll, mergeEncoded, openInputShare, sha256, timeError } from './common.js';
import type { AggregatorContext, LoadedTask } from './context.js';
import { noisedAggregateShare } from '../dp.js';
import { DapProblem } from './problem.js';
import type { Prio3OutputShare } from '@cobble/vdaf';

type Outcome = { ok: true; prepMsg: Uint8Array; outShare: Prio3OutputShare; time: number } | { ok: false; error: ReportError };

export class Helper {
  constructor(readonly agg: AggregatorContext) {}

  /** Handles AggregationJobInitReq; `urlJobId` is the leader-chosen ID of DAP-09, absent for DAP-18. */
  async aggregationJobInit(task: LoadedTask, urlJobId: Uint8Array | undefined, body: Uint8Array): Promise<{ jobId: Uint8Array; response: Uint8Array; replayed: boolean }> {
    const { def, codec, ctx, vdaf } = task;
    const hash = sha256(body);
    const jobId = urlJobId ?? new Uint8Array(hash.subarray(0, 16));
    const existing = await this.agg.store.getHelperJob(task.idB64, jobId);
    if (existing) {
      if (Buffer.compare(existing.request_hash, hash) !== 0) throw new DapProblem('invalidMessage', 'aggregation job exists with a different request', def.taskId, 409);
      return { jobId, response: new Uint8Array(existing.response), replayed: true };
    }
    let req: AggregationJobInitReq;
    try {
      req = codec.decodeAggregationJobInitReq(ctx, body);
    } catch (e) {
      if (e instanceof UnsupportedExtension) throw new DapProblem('unsupportedExtension', e.message, def.taskId);
      throw new DapProblem('invalidMessage', `malformed aggregation job: ${(e as Error).message}`, def.taskId);
    }
    if (req.batchMode !== def.batchMode) throw new DapProblem('invalidMessage', 'batch mode does not match the task', def.taskId);
    if (req.aggParam.length) throw new DapProblem(def.version === 'dap-09' ? 'invalidMessage' : 'invalidAggregationParameter', 'Prio3 takes an empty aggregation parameter', def.taskId);
    const ids = new Set<string>();
    for (const p of req.prepareInits) {
      const k = Buffer.from(p.reportShare.metadata.reportId).toString('hex');
      if (ids.has(k)) throw new DapProblem('invalidMessage', 'duplicate report ID in aggregation job', def.taskId);
      ids.add(k);
    }

    const now = this.agg.clock();
    const outcomes: Outcome[] = [];
    for (const p of req.prepareInits) {
      // Synchronous crypto: yield now and then so other requests are served during a big job.
      if (outcomes.length % 64 === 63) await new Promise((res) => setImmediate(res));
      outcomes.push(this.prepare(task, p, now));
    }

    const store = this.agg.store;
    try {
      const response = await store.transaction(async (trx) => {
        const okIds = req.prepareInits.filter((_, i) => outcomes[i].ok).map((p) => p.reportShare.metadata.reportId);
        const seen = await store.seenReportIds(trx, task.idB64, okIds);
        const collected = await store.collectedBatches(trx, task.idB64);
        const commit: { bucket: { batchId: string; bucketStart: number }; reportId: Uint8Array; time: number; outShare: Prio3OutputShare }[] = [];
        const resps: PrepareResp[] = req.prepareInits.map((p, i) => {
          const reportId = p.reportShare.metadata.reportId;
          const o = outcomes[i];
          if (!o.ok) return { reportId, kind: 'reject', error: o.error };
          if (seen.has(Buffer.from(reportId).toString('hex'))) return { reportId, kind: 'reject', error: 'report_replayed' };
          const bucket = bucketOf(def, o.time, req.batchId);
          if (isCollected(collected, bucket)) return { reportId, kind: 'reject', error: 'batch_collected' };
          commit.push({ bucket, reportId, time: o.time, outShare: o.outShare });
          return { reportId, kind: 'continue', payload: encodePingPong({ type: 'finish', prepMsg: o.prepMsg }) };
        });
        await store.commitBuckets(trx, task.idB64, bucketDeltas(vdaf, commit), mergeEncoded(vdaf));
        await store.insertHelperReports(trx, task.idB64, commit.map((c) => ({ reportId: c.reportId, time: c.time })));
        const response = codec.encodeAggregationJobResp(resps);
        await store.insertHelperJob(trx, task.idB64, jobId, hash, response, now * 1000);
        return response;
      });
      return { jobId, response, replayed: false };
    } catch (e) {
      // A concurrent identical request won the race: answer from what it stored.
      const again = await store.getHelperJob(task.idB64, jobId);
      if (again && Buffer.compare(again.request_hash, hash) === 0) return { jobId, response: new Uint8Array(again.response), replayed: true };
      throw e;
    }
  }

  private prepare(task: LoadedTask, p: AggregationJobInitReq['prepareInits'][number], now: number): Outcome {
    const { def, codec, ctx, vdaf, vdafCtx } = task;
    const m = p.reportShare.metadata;
    const timeErr = timeError(def, m.time, now);
    if (timeErr) return { ok: false, error: timeErr };
    const opened = openInputShare(this.agg.keyring, codec, ctx, 3, m, p.reportShare.publicShare, p.reportShare.encryptedInputShare);
    if (typeof opened === 'string') return { ok: false, error: opened };
    try {
      const { state, prepShare } = vdaf.prepInit(def.vdafVerifyKey, 1, m.reportId, p.reportShare.publicShare, opened.payload, vdafCtx);
      const inbound = decodePingPong(p.payload);
      if (inbound.type !== 'initialize') return { ok: false, error: 'vdaf_error' };
      const prepMsg = vdaf.prepSharesToPrep([inbound.prepShare, prepShare], vdafCtx);
      const outShare = vdaf.prepNext(state, prepMsg);
      return { ok: true, prepMsg, outShare, time: m.time };
    } catch {
      return { ok: false, error: 'vdaf_error' };
    }
  }

  async aggregationJobContinue(task: LoadedTask, jobId: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
    const existing = await this.agg.store.getHelperJob(task.idB64, jobId);
    if (!existing) throw new DapProblem('unrecognizedAggregationJob', `no aggregation job ${b64url(jobId)}`, task.def.taskId);
    let step: number;
    try {
      step = task.codec.decodeAggregationJobContinueReq(body).step;
    } catch (e) {
      throw new DapProblem('invalidMessage', `malformed continuation: ${(e as Error).message}`, task.def.taskId);
    }
    if (step === 0) throw new DapProblem('invalidMessage', 'continuation step must not be 0', task.def.taskId);
    // Prio3 finishes in the init step, so no continuation can be valid.
    throw new DapProblem('stepMismatch', `aggregation job finished at step 0; step ${step} requested`, task.def.taskId);
  }

  async helperJobResponse(task: LoadedTask, jobId: Uint8Array): Promise<Uint8Array | undefined> {
    const row = await this.agg.store.getHelperJob(task.idB64, jobId);
    return row ? new Uint8Array(row.response) : undefined;
  }

  async aggregateShare(task: LoadedTask, body: Uint8Array): Promise<{ id: Uint8Array; response: Uint8Array }> {
    const { def, codec, ctx, vdaf } = task;
    let req;
    try {
      req = codec.decodeAggregateShareReq(ctx, body);
    } catch (e) {
      throw new DapProblem('invalidMessage', `malformed aggregate share request: ${(e as Error).message}`, def.taskId);
    }
    const sel = req.batchSelector;
    if (sel.batchMode !== def.batchMode) throw new DapProblem('invalidMessage', 'batch mode does not match the task', def.taskId);
    if (req.aggParam.length) throw new DapProblem('invalidMessage', 'Prio3 takes an empty aggregation parameter', def.taskId);
    const hash = sha256(body);
    const id = new Uint8Array(hash.subarray(0, 16));
    let range: { start: number; end: number } | null = null;
    let batchKey: string;
    if (sel.batchMode === 1) {
      const p = def.timePrecision;
      if (sel.interval.duration < p || sel.interval.start % p || sel.interval.duration % p) throw new DapProblem('batchInvalid', 'batch interval not aligned to time_precision', def.taskId);
      range = { start: sel.interval.start, end: sel.interval.start + sel.interval.duration };
      batchKey = `${range.start}-${range.end}`;
    } else batchKey = b64url(sel.batchId);
    const store = this.agg.store;
    const response = await store.transaction(async (trx) => {
      const existing = await store.getAggregateShareJob(trx, task.idB64, batchKey);
      if (existing) {
        if (Buffer.compare(existing.request_hash, hash) === 0) return new Uint8Array(existing.response);
        throw new DapProblem(def.version === 'dap-09' ? 'batchQueriedTooManyTimes' : 'batchOverlap', 'this batch was already collected', def.taskId);
      }
      for (const c of await store.collectedBatches(trx, task.idB64)) {
        if (range && c.start_time !== null && Number(c.start_time) < range.end && range.start < Number(c.end_time)) throw new DapProblem('batchOverlap', 'the batch overlaps a collected batch', def.taskId);
        if (!range && c.batch_key === batchKey) throw new DapProblem('batchOverlap', 'the batch was already collected', def.taskId);
      }
      const sum = await store.sumBuckets(trx, task.idB64, range ?? { batchId: batchKey });
      if (sum.count < def.minBatchSize) throw new DapProblem('invalidBatchSize', `the batch holds ${sum.count} reports, fewer than ${def.minBatchSize}`, def.taskId);
      if (sum.count !== req.reportCount || Buffer.compare(Buffer.from(sum.checksum), Buffer.from(req.checksum)) !== 0) {
        throw new DapProblem('batchMismatch', `helper aggregated ${sum.count} reports, leader ${req.reportCount}${sum.count === req.reportCount ? ' (checksums differ)' : ''}`, def.taskId);
      }
      await store.markCollected(trx, task.idB64, batchKey, range, this.agg.clock() * 1000);
      // Noise is drawn once per batch: a retried request gets the stored response, never a second sample.
      const merged = mergeAll(vdaf, sum.aggShares);
      const share = def.dp ? noisedAggregateShare(vdaf, def.vdaf, def.dp, merged) : merged;
      const aad = codec.aggregateShareAad(ctx, { aggParam: req.aggParam, batchSelector: sel, collectionReqBytes: req.collectionReqBytes });
      const sealed = seal(def.collectorHpkeConfig.publicKey, codec.aggregateShareInfo(3), aad, share);
      const resp = codec.encodeAggregateShare({ configId: def.collectorHpkeConfig.id, enc: sealed.enc, payload: sealed.ciphertext });
      await store.insertAggregateShareJob(trx, task.idB64, batchKey, hash, resp, this.agg.clock() * 1000);
      return resp;
    });
    return { id, response };
  }
}
