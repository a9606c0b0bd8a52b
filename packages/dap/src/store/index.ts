// The only code that speaks SQL. One database per aggregator: a SQLite file by default, PostgreSQL for scale-out
// (several processes then share work through leases taken with FOR UPDATE SKIP LOCKED).
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { migrations, type Dialect } from './migrations.js';
import type { AggregationJobTable, ClientReportTable, CollectionJobTable, Database, HpkeKeyTable } from './schema.js';

export type { Database } from './schema.js';
export type { Dialect } from './migrations.js';
export type Tx = Kysely<Database> | Transaction<Database>;

export interface StoreOptions {
  /** Path of the SQLite database file (":memory:" for tests). */
  sqlite?: string;
  /** PostgreSQL connection string, e.g. postgres://postgres@127.0.0.1:5432/dap. */
  postgres?: string;
}

export const BUCKET_SHARDS = 8;
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export interface BucketDelta {
  batchId: string;
  bucketStart: number;
  aggShare: Uint8Array;
  count: number;
  checksum: Uint8Array;
  minTime: number;
  maxTime: number;
}

export interface BucketSum {
  aggShares: Uint8Array[];
  count: number;
  checksum: Uint8Array;
  minTime: number;
  maxTime: number;
}

/** Another job creator assigned some of the same reports first; the transaction is rolled back and retried later. */
export class ConcurrentAssignment extends Error {
  constructor() {
    super('reports were assigned to a job concurrently');
    this.name = 'ConcurrentAssignment';
  }
}

export class DapStore {
  private constructor(readonly db: Kysely<Database>, readonly dialect: Dialect) {}

  static async open(opts: StoreOptions): Promise<DapStore> {
    let store: DapStore;
    if (opts.postgres) {
      const types = { getTypeParser: (oid: number, format?: any) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) };
      const pool = new pg.Pool({ connectionString: opts.postgres, max: 10, types: types as any });
      // An idle connection the server ends (a restart, pg_terminate_backend, a dropped database) leaves the pool and
      // is replaced on next use; unheard, its error would end the whole process.
      pool.on('error', (e) => console.error('dap store: idle PostgreSQL connection lost:', e.message));
      store = new DapStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
    } else {
      const file = opts.sqlite ?? ':memory:';
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      const database = new BetterSqlite3(file);
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      database.pragma('busy_timeout = 10000');
      store = new DapStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), 'sqlite');
    }
    await store.migrate();
    return store;
  }

  async migrate(): Promise<void> {
    const all = migrations(this.dialect);
    const migrator = new Migrator({ db: this.db, provider: { getMigrations: async () => all } });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  // ---- HPKE keys ----

  listHpkeKeys(): Promise<HpkeKeyTable[]> {
    return this.db.selectFrom('hpke_keys').selectAll().orderBy('config_id').execute();
  }

  async putHpkeKey(k: { configId: number; config: Uint8Array; privateKey: Uint8Array; state: HpkeKeyTable['state']; at: number }): Promise<void> {
    await this.db.insertInto('hpke_keys').values({ config_id: k.configId, config: buf(k.config), private_key: buf(k.privateKey), state: k.state, state_changed_at: k.at }).execute();
  }

  async setHpkeKeyState(configId: number, state: HpkeKeyTable['state'], at: number): Promise<void> {
    await this.db.updateTable('hpke_keys').set({ state, state_changed_at: at }).where('config_id', '=', configId).execute();
  }

  async deleteHpkeKey(configId: number): Promise<void> {
    await this.db.deleteFrom('hpke_keys').where('config_id', '=', configId).execute();
  }

  // ---- tasks ----

  async putTask(t: { taskId: string; role: string; version: string; definition: string; at: number }): Promise<'created' | 'exists' | 'conflict'> {
    const existing = await this.db.selectFrom('tasks').select('definition').where('task_id', '=', t.taskId).executeTakeFirst();
    if (existing) return existing.definition === t.definition ? 'exists' : 'conflict';
    await this.db.insertInto('tasks').values({ task_id: t.taskId, role: t.role, version: t.version, definition: t.definition, created_at: t.at }).execute();
    return 'created';
  }

  getTask(taskId: string) {
    return this.db.selectFrom('tasks').selectAll().where('task_id', '=', taskId).executeTakeFirst();
  }

  listTasks() {
    return this.db.selectFrom('tasks').selectAll().orderBy('created_at').execute();
  }

  async deleteTask(taskId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tasks').where('task_id', '=', taskId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- leader: uploads ----

  /**
   * Inserts reports in one transaction; returns the `task:hexId` keys inserted and those refused because their
   * time-interval batch is collected (the others are replays). The batch check runs inside the transaction, under
   * a key-share lock on the task row that a collection takes exclusively (store/collection.ts) before it looks
   * for waiting reports: a report is either seen by the collection or refused here, never silently dropped.
   */
  async insertReports(rows: Omit<ClientReportTable, 'state' | 'job_id'>[]): Promise<{ inserted: Set<string>; collected: Set<string> }> {
    const inserted = new Set<string>();
    const collected = new Set<string>();
    if (!rows.length) return { inserted, collected };
    await this.transaction(async (trx) => {
      const taskIds = [...new Set(rows.map((r) => r.task_id))].sort();
      if (this.dialect === 'postgres') await trx.selectFrom('tasks').select('task_id').where('task_id', 'in', taskIds).orderBy('task_id').forKeyShare().execute();
      const marks = await trx.selectFrom('collected_batches').select(['task_id', 'start_time', 'end_time']).where('task_id', 'in', taskIds).where('start_time', 'is not', null).execute();
      const isCollected = (r: { task_id: string; time: number }) => marks.some((m) => m.task_id === r.task_id && Number(m.start_time) <= r.time && r.time < Number(m.end_time));
      const live = rows.filter((r) => {
        if (!marks.length || !isCollected(r)) return true;
        collected.add(`${r.task_id}:${r.report_id.toString('hex')}`);
        return false;
      });
      for (let i = 0; i < live.length; i += 400) {
        const chunk = live.slice(i, i + 400).map((r) => ({ ...r, state: 0, job_id: null }));
        const res = await trx.insertInto('client_reports').values(chunk).onConflict((oc) => oc.columns(['task_id', 'report_id']).doNothing()).returning(['task_id', 'report_id']).execute();
        for (const r of res) inserted.add(`${r.task_id}:${r.report_id.toString('hex')}`);
      }
    });
    return { inserted, collected };
  }

  collectedBatches(tx: Tx, taskId: string) {
    return tx.selectFrom('collected_batches').selectAll().where('task_id', '=', taskId).execute();
  }

  // ---- leader: job creation ----

  /**
   * Reports waiting for a job. On PostgreSQL the rows are locked (SKIP LOCKED), so concurrent job creators take
   * disjoint sets; `lock: false` only looks (a row lock is a write in PostgreSQL, too dear for a poll that finds too few).
   */
  pendingReports(tx: Tx, taskId: string, limit: number, lock = true) {
    let q = tx.selectFrom('client_reports').select(['report_id', 'time', 'created_at']).where('task_id', '=', taskId).where('state', '=', 0).orderBy('time').limit(limit);
    if (lock && this.dialect === 'postgres') q = q.forUpdate().skipLocked();
    return q.execute();
  }

  /** Moves waiting reports into a job (or drops them). Throws, rolling the transaction back, if another job creator got any of them first. */
  async assignReports(tx: Tx, taskId: string, jobId: Uint8Array | null, reportIds: Buffer[], state: 1 | 2): Promise<void> {
    for (let i = 0; i < reportIds.length; i += 500) {
      const chunk = reportIds.slice(i, i + 500);
      const r = await tx.updateTable('client_reports').set({ job_id: jobId ? buf(jobId) : null, state }).where('task_id', '=', taskId).where('state', '=', 0).where('report_id', 'in', chunk).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== chunk.length) throw new ConcurrentAssignment();
    }
  }

  async insertAggregationJob(tx: Tx, j: Omit<AggregationJobTable, 'lease_token' | 'lease_attempts' | 'last_error' | 'job_id' | 'batch_id'> & { job_id: Uint8Array; batch_id: Uint8Array | null }): Promise<void> {
    await tx.insertInto('aggregation_jobs').values({ ...j, job_id: buf(j.job_id), batch_id: j.batch_id ? buf(j.batch_id) : null, lease_token: null, lease_attempts: 0, last_error: null }).execute();
  }

  fillingBatch(tx: Tx, taskId: string) {
    return tx.selectFrom('outstanding_batches').selectAll().where('task_id', '=', taskId).where('state', '=', 'filling').orderBy('created_at').executeTakeFirst();
  }

  /**
   * A new batch (`prior` null), or a filling one topped up from `prior` assigned reports. The update repeats what the
   * job creator read: if another creator topped the batch up meanwhile, or garbage collection dropped it (store/gc.ts),
   * the transaction is rolled back (ConcurrentAssignment) rather than assign reports to a batch nobody will collect.
   */
  async putOutstandingBatch(tx: Tx, taskId: string, batchId: Uint8Array, assigned: number, state: 'filling' | 'filled', at: number, prior: number | null): Promise<void> {
    if (prior === null) {
      await tx.insertInto('outstanding_batches').values({ task_id: taskId, batch_id: buf(batchId), assigned, state, created_at: at }).execute();
      return;
    }
    const r = await tx.updateTable('outstanding_batches').set({ assigned, state }).where('task_id', '=', taskId).where('batch_id', '=', buf(batchId))
      .where('state', '=', 'filling').where('assigned', '=', prior).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new ConcurrentAssignment();
  }

  /** Leader-selected: the oldest filled batch not yet given to a collection job, or a specific one. */
  async claimBatchForCollection(tx: Tx, taskId: string, batchId?: Uint8Array): Promise<Buffer | undefined> {
    let q = tx.selectFrom('outstanding_batches').select('batch_id').where('task_id', '=', taskId);
    q = batchId ? q.where('batch_id', '=', buf(batchId)).where('state', '!=', 'collecting') : q.where('state', '=', 'filled').orderBy('created_at');
    const row = await q.limit(1).executeTakeFirst();
    if (!row) return undefined;
    // Still in the state it was found in: not claimed by another collection driver, nor dropped by garbage collection.
    let claim = tx.updateTable('outstanding_batches').set({ state: 'collecting' }).where('task_id', '=', taskId).where('batch_id', '=', row.batch_id);
    claim = batchId ? claim.where('state', '!=', 'collecting') : claim.where('state', '=', 'filled');
    const r = await claim.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? row.batch_id : undefined;
  }

  // ---- leases ----

  /** Takes up to `n` runnable jobs from `table` under a lease; SKIP LOCKED lets many drivers share the queue. */
  async acquire(table: 'aggregation_jobs' | 'collection_jobs', n: number, leaseMs: number, token: string, now: number) {
    const state = table === 'aggregation_jobs' ? 'active' : 'pending';
    return this.transaction(async (trx) => {
      let q = trx.selectFrom(table).select(['task_id', 'job_id']).where('state', '=', state).where('lease_expiry', '<=', now).orderBy('lease_expiry').limit(n);
      if (this.dialect === 'postgres') q = q.forUpdate().skipLocked();
      const rows = await q.execute();
      const out: { task_id: string; job_id: Buffer; lease_attempts: number }[] = [];
      for (const r of rows) {
        const upd = await trx.updateTable(table).set((eb) => ({ lease_token: token, lease_expiry: now + leaseMs, lease_attempts: eb('lease_attempts', '+', 1) }))
          .where('task_id', '=', r.task_id).where('job_id', '=', r.job_id).where('state', '=', state).where('lease_expiry', '<=', now)
          .returning(['task_id', 'job_id', 'lease_attempts']).executeTakeFirst();
        if (upd) out.push(upd);
      }
      return out;
    });
  }

  async release(table: 'aggregation_jobs' | 'collection_jobs', taskId: string, jobId: Buffer, token: string, retryAt: number, error?: string): Promise<void> {
    const q = this.db.updateTable(table).set({ lease_token: null, lease_expiry: retryAt, updated_at: Date.now() }).where('task_id', '=', taskId).where('job_id', '=', jobId).where('lease_token', '=', token);
    await q.execute();
    if (error && table === 'aggregation_jobs') await this.db.updateTable('aggregation_jobs').set({ last_error: error.slice(0, 500) }).where('task_id', '=', taskId).where('job_id', '=', jobId).execute();
  }

  getAggregationJob(taskId: string, jobId: Buffer) {
    return this.db.selectFrom('aggregation_jobs').selectAll().where('task_id', '=', taskId).where('job_id', '=', jobId).executeTakeFirst();
  }

  jobReports(taskId: string, jobId: Buffer) {
    return this.db.selectFrom('client_reports').selectAll().where('task_id', '=', taskId).where('job_id', '=', jobId).orderBy('report_id').execute();
  }

  /** Ends a job if we still hold its lease; false if another driver took it over. */
  async finishAggregationJob(tx: Tx, taskId: string, jobId: Buffer, token: string, state: 'finished' | 'abandoned', error?: string): Promise<boolean> {
    const r = await tx.updateTable('aggregation_jobs').set({ state, lease_token: null, updated_at: Date.now(), last_error: error ?? null })
      .where('task_id', '=', taskId).where('job_id', '=', jobId).where('lease_token', '=', token).where('state', '=', 'active').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async scrubJobReports(tx: Tx, taskId: string, jobId: Buffer): Promise<void> {
    const empty = Buffer.alloc(0);
    await tx.updateTable('client_reports').set({ public_share: empty, leader_share: empty, helper_share: empty, public_extensions: empty }).where('task_id', '=', taskId).where('job_id', '=', jobId).execute();
  }

  // ---- batch buckets (both roles) ----

  /** Adds output-share aggregates into buckets; `merge` combines two encoded aggregate shares. */
  async commitBuckets(tx: Tx, taskId: string, deltas: BucketDelta[], merge: (a: Uint8Array, b: Uint8Array) => Uint8Array): Promise<void> {
    const shard = randomInt(BUCKET_SHARDS);
    for (const d of deltas) {
      await tx.insertInto('batch_buckets').values({ task_id: taskId, batch_id: d.batchId, bucket_start: d.bucketStart, shard, agg_share: null, report_count: 0, checksum: Buffer.alloc(32), min_time: d.minTime, max_time: d.maxTime })
        .onConflict((oc) => oc.columns(['task_id', 'batch_id', 'bucket_start', 'shard']).doNothing()).execute();
      let q = tx.selectFrom('batch_buckets').selectAll().where('task_id', '=', taskId).where('batch_id', '=', d.batchId).where('bucket_start', '=', d.bucketStart).where('shard', '=', shard);
      if (this.dialect === 'postgres') q = q.forUpdate();
      const row = (await q.executeTakeFirst())!;
      const checksum = Buffer.from(row.checksum);
      for (let i = 0; i < 32; i++) checksum[i] ^= d.checksum[i];
      await tx.updateTable('batch_buckets').set({
        agg_share: buf(row.agg_share ? merge(row.agg_share, d.aggShare) : d.aggShare),
        report_count: Number(row.report_count) + d.count,
        checksum,
        min_time: Math.min(Number(row.min_time), d.minTime),
        max_time: Math.max(Number(row.max_time), d.maxTime),
      }).where('task_id', '=', taskId).where('batch_id', '=', d.batchId).where('bucket_start', '=', d.bucketStart).where('shard', '=', shard).execute();
    }
  }

  /** Sums the buckets of a batch: a time range [start, end) or one leader-selected batch ID. */
  async sumBuckets(tx: Tx, taskId: string, sel: { start: number; end: number } | { batchId: string }): Promise<BucketSum> {
    let q = tx.selectFrom('batch_buckets').selectAll().where('task_id', '=', taskId);
    q = 'batchId' in sel ? q.where('batch_id', '=', sel.batchId) : q.where('batch_id', '=', '').where('bucket_start', '>=', sel.start).where('bucket_start', '<', sel.end);
    const rows = await q.execute();
    const checksum = new Uint8Array(32);
    let count = 0;
    let minTime = Infinity;
    let maxTime = -Infinity;
    const aggShares: Uint8Array[] = [];
    for (const r of rows) {
      if (r.agg_share) aggShares.push(new Uint8Array(r.agg_share));
      count += Number(r.report_count);
      for (let i = 0; i < 32; i++) checksum[i] ^= r.checksum[i];
      if (Number(r.report_count) > 0) {
        minTime = Math.min(minTime, Number(r.min_time));
        maxTime = Math.max(maxTime, Number(r.max_time));
      }
    }
    return { aggShares, count, checksum, minTime, maxTime };
  }

  async markCollected(tx: Tx, taskId: string, batchKey: string, range: { start: number; end: number } | null, at: number): Promise<void> {
    await tx.insertInto('collected_batches').values({ task_id: taskId, batch_key: batchKey, start_time: range?.start ?? null, end_time: range?.end ?? null, collected_at: at })
      .onConflict((oc) => oc.columns(['task_id', 'batch_key']).doNothing()).execute();
  }

  // ---- leader: collection ----

  /**
   * A new collection job, or a failed or deleted one with the same request started afresh: the collector's retry
   * after a failure, and DAP-18's "next batch", whose requests are all identical. 'pending' for either: the job now
   * waits for its driver. One statement, because garbage collection may delete a finished job at any moment; a
   * restarted job's created_at (`now`, what garbage collection ages it by) starts again.
   */
  async insertCollectionJob(taskId: string, jobId: Uint8Array, request: Uint8Array, now: number): Promise<'pending' | 'exists' | 'conflict'> {
    const r = await this.db.insertInto('collection_jobs')
      .values({ task_id: taskId, job_id: buf(jobId), request: buf(request), state: 'pending', batch_id: null, result: null, error: null, lease_expiry: 0, lease_token: null, lease_attempts: 0, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['task_id', 'job_id'])
        .doUpdateSet({ state: 'pending', batch_id: null, result: null, error: null, lease_expiry: 0, lease_token: null, created_at: now, updated_at: now })
        .where('collection_jobs.state', 'in', ['failed', 'deleted']).where('collection_jobs.request', '=', buf(request)))
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows) === 1) return 'pending';
    const existing = await this.db.selectFrom('collection_jobs').select('request').where('task_id', '=', taskId).where('job_id', '=', buf(jobId)).executeTakeFirst();
    // Gone since the insert: garbage collection took an expired job with this ID; this one is new.
    if (!existing) return this.insertCollectionJob(taskId, jobId, request, now);
    return Buffer.compare(existing.request, buf(request)) === 0 ? 'exists' : 'conflict';
  }

  getCollectionJob(taskId: string, jobId: Uint8Array) {
    return this.db.selectFrom('collection_jobs').selectAll().where('task_id', '=', taskId).where('job_id', '=', buf(jobId)).executeTakeFirst();
  }

  async updateCollectionJob(tx: Tx, taskId: string, jobId: Buffer, set: Partial<Pick<CollectionJobTable, 'state' | 'batch_id' | 'result' | 'error' | 'lease_token' | 'lease_expiry'>>): Promise<void> {
    await tx.updateTable('collection_jobs').set({ ...set, updated_at: Date.now() }).where('task_id', '=', taskId).where('job_id', '=', jobId).execute();
  }

  /** Is anything still to be aggregated for this batch (reports waiting for a job, or jobs still running)? */
  async pendingWork(tx: Tx, taskId: string, sel: { start: number; end: number } | { batchId: Buffer }): Promise<boolean> {
    if ('batchId' in sel) {
      const job = await tx.selectFrom('aggregation_jobs').select('job_id').where('task_id', '=', taskId).where('state', '=', 'active').where('batch_id', '=', sel.batchId).limit(1).executeTakeFirst();
      return !!job;
    }
    const report = await tx.selectFrom('client_reports').select('report_id').where('task_id', '=', taskId).where('state', '=', 0).where('time', '>=', sel.start).where('time', '<', sel.end).limit(1).executeTakeFirst();
    if (report) return true;
    const job = await tx.selectFrom('aggregation_jobs').select('job_id').where('task_id', '=', taskId).where('state', '=', 'active')
      .where('min_time', '<', sel.end).where('max_time', '>=', sel.start).limit(1).executeTakeFirst();
    return !!job;
  }

  // ---- helper ----

  getHelperJob(taskId: string, jobId: Uint8Array) {
    return this.db.selectFrom('helper_jobs').selectAll().where('task_id', '=', taskId).where('job_id', '=', buf(jobId)).executeTakeFirst();
  }

  /** Report IDs of this task the helper has already committed, among `ids`. */
  async seenReportIds(tx: Tx, taskId: string, ids: Uint8Array[]): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await tx.selectFrom('helper_reports').select('report_id').where('task_id', '=', taskId).where('report_id', 'in', ids.slice(i, i + 500).map(buf)).execute();
      for (const r of rows) seen.add(r.report_id.toString('hex'));
    }
    return seen;
  }

  /** `time` is the report time (seconds): the replay guard expires with it (store/gc.ts). */
  async insertHelperReports(tx: Tx, taskId: string, reports: { reportId: Uint8Array; time: number }[]): Promise<void> {
    for (let i = 0; i < reports.length; i += 400) {
      await tx.insertInto('helper_reports').values(reports.slice(i, i + 400).map((r) => ({ task_id: taskId, report_id: buf(r.reportId), time: r.time }))).execute();
    }
  }

  /** `at` (ms) comes from the aggregator's clock, which garbage collection compares it with. */
  async insertHelperJob(tx: Tx, taskId: string, jobId: Uint8Array, requestHash: Uint8Array, response: Uint8Array, at: number): Promise<void> {
    await tx.insertInto('helper_jobs').values({ task_id: taskId, job_id: buf(jobId), request_hash: buf(requestHash), response: buf(response), created_at: at }).execute();
  }

  getAggregateShareJob(tx: Tx, taskId: string, batchKey: string) {
    return tx.selectFrom('aggregate_share_jobs').selectAll().where('task_id', '=', taskId).where('batch_key', '=', batchKey).executeTakeFirst();
  }

  async insertAggregateShareJob(tx: Tx, taskId: string, batchKey: string, requestHash: Uint8Array, response: Uint8Array, at: number): Promise<void> {
    await tx.insertInto('aggregate_share_jobs').values({ task_id: taskId, batch_key: batchKey, request_hash: buf(requestHash), response: buf(response), created_at: at }).execute();
  }

  /** Counts for tests and the operator: reports by state, jobs by state. */
  async stats(taskId: string) {
    const reports = await this.db.selectFrom('client_reports').select(['state', sql<number>`count(*)`.as('n')]).where('task_id', '=', taskId).groupBy('state').execute();
    const jobs = await this.db.selectFrom('aggregation_jobs').select(['state', sql<number>`count(*)`.as('n')]).where('task_id', '=', taskId).groupBy('state').execute();
    return { reports: Object.fromEntries(reports.map((r) => [r.state, Number(r.n)])), jobs: Object.fromEntries(jobs.map((r) => [r.state, Number(r.n)])) };
  }
}
