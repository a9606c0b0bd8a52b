// Garbage collection queries: everything of a task older than its report_expiry_age, deleted in bounded rounds
// (select at most `limit` keys through a (task, time) index, delete those keys), so one round never holds long
// locks or builds a huge transaction, and a backlog drains over several rounds. Portable SQL only (SQLite and
// PostgreSQL): no DELETE ... LIMIT, no LIMIT inside IN subqueries.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface GcCutoff {
  taskId: string;
  /** Report times (seconds) before this are expired: now − report_expiry_age. */
  cutoff: number;
  /** Time-interval buckets are deleted only once their whole interval lies before the cutoff. */
  timePrecision: number;
}

/** Rows deleted per table in one round. */
export interface GcCounts {
  clientReports: number;
  aggregationJobs: number;
  batchBuckets: number;
  collectedBatches: number;
  outstandingBatches: number;
  collectionJobs: number;
  helperJobs: number;
  helperReports: number;
  aggregateShareJobs: number;
}

export const emptyCounts = (): GcCounts => ({
  clientReports: 0, aggregationJobs: 0, batchBuckets: 0, collectedBatches: 0, outstandingBatches: 0, collectionJobs: 0, helperJobs: 0, helperReports: 0, aggregateShareJobs: 0,
});

const CHUNK = 500;

export class GcStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** One bounded round for one task: at most `limit` rows per table. */
  async round(c: GcCutoff, limit: number): Promise<GcCounts> {
    const { taskId, cutoff } = c;
    const cutoffMs = cutoff * 1000;
    const n = emptyCounts();
    const db = this.db;

    const reports = await db.selectFrom('client_reports').select('report_id').where('task_id', '=', taskId).where('time', '<', cutoff).limit(limit).execute();
    n.clientReports = await this.deleteIn('client_reports', taskId, 'report_id', reports.map((r) => r.report_id));

    // Active jobs are left to finish (their reports are refused as too old anyway); the next round takes them.
    const jobs = await db.selectFrom('aggregation_jobs').select('job_id').where('task_id', '=', taskId).where('max_time', '<', cutoff).where('state', '!=', 'active').limit(limit).execute();
    n.aggregationJobs = await this.deleteIn('aggregation_jobs', taskId, 'job_id', jobs.map((r) => r.job_id));

    // max_time < cutoff − precision puts the bucket's whole interval before the cutoff, so no report that could
    // still be accepted belongs to it.
    const buckets = await db.selectFrom('batch_buckets').select(['batch_id', 'bucket_start', 'shard']).where('task_id', '=', taskId).where('max_time', '<', cutoff - c.timePrecision).limit(limit).execute();
    for (const b of buckets) {
      const r = await db.deleteFrom('batch_buckets').where('task_id', '=', taskId).where('batch_id', '=', b.batch_id).where('bucket_start', '=', b.bucket_start).where('shard', '=', b.shard).executeTakeFirst();
      n.batchBuckets += Number(r.numDeletedRows);
    }

    // A collected mark must outlive every report that could still be accepted for its batch: time-interval marks
    // go once their interval ends before the cutoff, leader-selected ones (no interval) by when they were collected.
    const collected = await db.selectFrom('collected_batches').select(['batch_key', 'start_time']).where('task_id', '=', taskId)
      .where((eb) => eb.or([eb('end_time', '<=', cutoff), eb.and([eb('end_time', 'is', null), eb('collected_at', '<', cutoffMs)])]))
      .limit(limit).execute();
    const keys = collected.map((r) => r.batch_key);
    n.collectedBatches = await this.deleteIn('collected_batches', taskId, 'batch_key', keys);
    n.aggregateShareJobs = await this.deleteIn('aggregate_share_jobs', taskId, 'batch_key', keys);
    const leaderSelected = collected.filter((r) => r.start_time === null).map((r) => Buffer.from(r.batch_key, 'base64url'));
    n.outstandingBatches = await this.deleteIn('outstanding_batches', taskId, 'batch_id', leaderSelected);

    // Leader-selected batches never collected: a batch is made with its first aggregation job, and jobs go above
    // only once their reports have expired, so a batch no job refers to any more holds nothing live. One being
    // collected is left to its collection. The delete repeats the state and count it saw: the job creator (topping
    // a filling batch up) and a collection (claiming a filled one) change one of them in the transaction that
    // makes the batch live again, and then it stays (putOutstandingBatch and claimBatchForCollection check).
    const orphans = await db.selectFrom('outstanding_batches as ob').select(['ob.batch_id', 'ob.state', 'ob.assigned']).where('ob.task_id', '=', taskId).where('ob.state', '!=', 'collecting')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('aggregation_jobs as aj').select('aj.job_id').whereRef('aj.task_id', '=', 'ob.task_id').whereRef('aj.batch_id', '=', 'ob.batch_id'))))
      .limit(limit).execute();
    for (const o of orphans) {
      const r = await db.deleteFrom('outstanding_batches').where('task_id', '=', taskId).where('batch_id', '=', o.batch_id).where('state', '=', o.state).where('assigned', '=', o.assigned).executeTakeFirst();
      n.outstandingBatches += Number(r.numDeletedRows);
    }

    const cjobs = await db.selectFrom('collection_jobs').select('job_id').where('task_id', '=', taskId).where('created_at', '<', cutoffMs).where('state', '!=', 'pending').limit(limit).execute();
    n.collectionJobs = await this.deleteIn('collection_jobs', taskId, 'job_id', cjobs.map((r) => r.job_id));

    const hjobs = await db.selectFrom('helper_jobs').select('job_id').where('task_id', '=', taskId).where('created_at', '<', cutoffMs).limit(limit).execute();
    n.helperJobs = await this.deleteIn('helper_jobs', taskId, 'job_id', hjobs.map((r) => r.job_id));

    // The helper's replay guard: a report this old is refused as too late before replay is checked.
    const hreports = await db.selectFrom('helper_reports').select('report_id').where('task_id', '=', taskId).where('time', '<', cutoff).limit(limit).execute();
    n.helperReports = await this.deleteIn('helper_reports', taskId, 'report_id', hreports.map((r) => r.report_id));

    // Aggregate-share answers of batches whose mark is already gone (or never existed on this side).
    const shares = await db.selectFrom('aggregate_share_jobs').select('batch_key').where('task_id', '=', taskId).where('created_at', '<', cutoffMs).limit(limit).execute();
    n.aggregateShareJobs += await this.deleteIn('aggregate_share_jobs', taskId, 'batch_key', shares.map((r) => r.batch_key));
    return n;
  }

  /** Deletes the given keys of one task, in chunks that keep the IN list small. */
  private async deleteIn(
    table: 'client_reports' | 'aggregation_jobs' | 'collected_batches' | 'aggregate_share_jobs' | 'outstanding_batches' | 'collection_jobs' | 'helper_jobs' | 'helper_reports',
    taskId: string, column: 'report_id' | 'job_id' | 'batch_key' | 'batch_id', keys: (Buffer | string)[],
  ): Promise<number> {
    let n = 0;
    for (let i = 0; i < keys.length; i += CHUNK) {
      // The column/table pairs are fixed above; Kysely cannot type a union of tables with different key columns.
      const r = await this.db.deleteFrom(table as 'client_reports').where('task_id', '=', taskId).where(column as 'report_id', 'in', keys.slice(i, i + CHUNK) as Buffer[]).executeTakeFirst();
      n += Number(r.numDeletedRows);
    }
    return n;
  }

  /** Row counts of the tables GC bounds, for tests and `stats`. */
  async rowCounts(taskId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const tables = ['client_reports', 'aggregation_jobs', 'batch_buckets', 'collected_batches', 'outstanding_batches', 'collection_jobs', 'helper_jobs', 'helper_reports', 'aggregate_share_jobs'] as const;
    for (const t of tables) {
      const r = await this.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).where('task_id', '=', taskId).executeTakeFirstOrThrow();
      out[t] = Number(r.n);
    }
    return out;
  }
}
