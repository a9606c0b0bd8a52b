// Garbage collection under a steady stream: with a short report_expiry_age and a moving clock, uploads and
// collections keep going while the GC driver deletes expired rows in bounded rounds; the row counts of every table
// stay bounded and every collected aggregate is exact. Time-interval and leader-selected tasks, on SQLite and on
// PostgreSQL (127.0.0.1:5432).
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { DapClient, DapCollector, DapStore, GcStore, newTask, startAggregator, type AggregatorTunables, type DapVersion, type RunningAggregator, type StoreOptions } from '../src/index.js';
import { ConcurrentAssignment } from '../src/store/index.js';
import { FAST } from './harness.js';
import { onPostgresPair } from './support/postgres.js';

const TABLES = ['client_reports', 'aggregation_jobs', 'batch_buckets', 'collected_batches', 'collection_jobs', 'helper_jobs', 'helper_reports', 'aggregate_share_jobs'];

/**
 * A helper and a leader on `stores` with one shared clock the test moves (`clock.now`, seconds; it starts at the
 * next interval boundary), one task provisioned on both, and the summed row counts of that task's tables.
 */
async function startGcWorld(stores: { leader: StoreOptions; helper: StoreOptions }, tunables: Partial<AggregatorTunables>, task: Omit<Parameters<typeof newTask>[0], 'leaderUrl' | 'helperUrl'> & { timePrecision: number }) {
  const real = Math.floor(Date.now() / 1000);
  const clock = { now: real - (real % task.timePrecision) + task.timePrecision };
  const aggs: RunningAggregator[] = [];
  const close = async () => {
    for (const agg of aggs.reverse()) {
      await agg.close();
      await agg.ctx.store.close();
    }
  };
  try {
    aggs.push(await startAggregator({ role: 'helper', store: await DapStore.open(stores.helper), tunables: { ...FAST, ...tunables }, keyCheckIntervalMs: 0, clock: () => clock.now }));
    aggs.push(await startAggregator({ role: 'leader', store: await DapStore.open(stores.leader), tunables: { ...FAST, ...tunables }, keyCheckIntervalMs: 0, clock: () => clock.now }));
    const [helper, leader] = aggs as [RunningAggregator, RunningAggregator];
    const t = await newTask({ ...task, leaderUrl: leader.url, helperUrl: helper.url });
    await leader.ctx.putTask(t.leader);
    await helper.ctx.putTask(t.helper);
    const counts = async () => {
      const out: Record<string, number> = {};
      for (const agg of aggs) {
        for (const [table, n] of Object.entries(await new GcStore(agg.ctx.store.db).rowCounts(t.client.taskId))) out[table] = (out[table] ?? 0) + n;
      }
      return out;
    };
    return { clock, t0: clock.now, aggs: [helper, leader], helper, leader, t, counts, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** GC passes on both aggregators until one deletes nothing (at most 50); then every table of the task is empty. */
async function drain(world: Awaited<ReturnType<typeof startGcWorld>>, tables: string[]): Promise<void> {
  for (let pass = 0; pass < 50; pass++) {
    const [a, b] = await Promise.all([world.leader.gc.runOnce(), world.helper.gc.runOnce()]);
    if (Object.values(a).every((v) => v === 0) && Object.values(b).every((v) => v === 0)) break;
  }
  const left = await world.counts();
  for (const table of tables) assert.equal(left[table], 0, `${table} drained`);
}

async function steadyStream(stores: { leader: StoreOptions; helper: StoreOptions }): Promise<void> {
  const p = 60;
  const expiry = 300;
  const perInterval = 20;
  const rounds = 24;
  const world = await startGcWorld(stores, { gcIntervalMs: 100, gcBatchLimit: 200 }, {
    version: 'dap-18', vdaf: { type: 'Prio3Count' }, minBatchSize: perInterval, timePrecision: p, reportExpiryAge: expiry, collectionGraceSeconds: 10,
  });
  const { clock, t0, aggs, helper, leader, t, counts } = world;
  try {
    const client = new DapClient(t.client);
    const collector = new DapCollector(t.collector);
    const peak: Record<string, number> = {};
    for (let k = 0; k < rounds; k++) {
      const start = t0 + k * p;
      clock.now = start + 1;
      const values = Array.from({ length: perInterval }, (_, i) => (i + k) % 3 === 0 ? 0 : 1);
      assert.equal((await client.upload(values, { time: clock.now })).uploaded, perInterval);
      clock.now = start + p + 10; // the interval has ended, and its grace has passed
      const r = await collector.collect({ interval: { start, duration: p } }, { timeoutMs: 30_000, pollMs: 20 });
      assert.equal(r.reportCount, perInterval, `interval ${k}: every report`);
      assert.equal(r.aggregate, values.reduce((a: number, v) => a + v, 0), `interval ${k}: exact aggregate`);
      await leader.gc.runOnce();
      await helper.gc.runOnce();
      const c = await counts();
      // From the point where expiry has started to bite, the stored rows must not grow with the stream.
      if (k >= expiry / p + 2) for (const table of TABLES) peak[table] = Math.max(peak[table] ?? 0, c[table]);
    }
    const window = expiry / p + 2;
    const total = rounds * perInterval;
    for (const table of TABLES) {
      const bound = table.endsWith('reports') ? perInterval * window : 8 * window * 2;
      assert.ok(peak[table] <= bound, `${table}: at most ${peak[table]} rows stored at once (bound ${bound}; ${total} reports streamed)`);
    }
    assert.ok(peak.client_reports > 0 && peak.helper_reports > 0, 'the unexpired window is kept');
    assert.ok(total > 2 * perInterval * window, 'the stream is much longer than what is kept');

    // Everything expires: bounded rounds (limit 30, one round per pass) drain the backlog over several passes.
    clock.now += expiry * 10;
    for (const agg of aggs) {
      agg.ctx.tunables.gcBatchLimit = 30;
      agg.ctx.tunables.gcMaxRounds = 1;
      await agg.gc.stop(); // only these explicit passes now
    }
    const first = await leader.gc.runOnce();
    assert.ok(first.clientReports <= 30 && first.clientReports > 0, `one pass deletes at most the limit (${first.clientReports})`);
    await drain(world, TABLES);
  } finally {
    await world.close();
  }
}

/**
 * Leader-selected batches under the same kind of stream: each round fills one batch (min_batch_size reports) and
 * collects it. Batches carry no interval, so their outstanding-batch rows and collected marks must expire by other
 * means than the time-interval buckets do. Batches that are never collected must expire too.
 */
async function leaderSelectedStream(version: DapVersion, stores: { leader: StoreOptions; helper: StoreOptions }): Promise<void> {
  const p = 60;
  const expiry = 300;
  const perBatch = 20;
  const rounds = 24;
  const tables = [...TABLES, 'outstanding_batches'];
  // GC passes run where the test puts them (below), not on a timer.
  const world = await startGcWorld(stores, { gcIntervalMs: 0, gcBatchLimit: 200 }, {
    version, vdaf: { type: 'Prio3Count' }, batchMode: 'leader-selected', minBatchSize: perBatch, timePrecision: p, reportExpiryAge: expiry,
  });
  const { clock, t0, aggs, helper, leader, t, counts } = world;
  try {
    const client = new DapClient(t.client);
    // A GC pass on each aggregator before every poll of a collection job, so passes also run while the leader
    // has finished a job the collector has not fetched yet (DAP-18 reuses one job ID for every "next batch").
    const collector = new DapCollector(t.collector, {
      fetch: async (input, init) => {
        if (String(input).includes('/collection_jobs/') && (init?.method === 'GET' || init?.method === 'POST')) await Promise.all([leader.gc.runOnce(), helper.gc.runOnce()]);
        return fetch(input, init);
      },
    });
    const aggregated = async () => {
      for (let i = 0; i < 500; i++) {
        const s = await leader.ctx.store.stats(t.client.taskId);
        if (!s.reports[0] && !s.jobs.active) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('aggregation did not finish');
    };
    const batches = new Set<string>();
    const peak: Record<string, number> = {};
    for (let k = 0; k < rounds; k++) {
      clock.now = t0 + k * p + 1;
      const values = Array.from({ length: perBatch }, (_, i) => (i + k) % 3 === 0 ? 0 : 1);
      assert.equal((await client.upload(values, { time: clock.now })).uploaded, perBatch);
      clock.now += 30;
      // The round's reports fill exactly one batch: the collection gets that batch, and only it.
      const r = await collector.collect({}, { timeoutMs: 30_000, pollMs: 20 });
      assert.equal(r.reportCount, perBatch, `batch ${k}: every report`);
      assert.equal(r.aggregate, values.reduce((a: number, v) => a + v, 0), `batch ${k}: exact aggregate`);
      // DAP-09 names the batch it collected (DAP-18's collection does not).
      if (version === 'dap-09') {
        assert.ok(r.batchId && !batches.has(r.batchId), `batch ${k}: a new batch`);
        batches.add(r.batchId);
      }
      await leader.gc.runOnce();
      await helper.gc.runOnce();
      const c = await counts();
      if (k >= expiry / p + 2) for (const table of tables) peak[table] = Math.max(peak[table] ?? 0, c[table]);
    }
    const window = expiry / p + 2;
    for (const table of tables) {
      const bound = table.endsWith('reports') ? perBatch * window : 8 * window * 2;
      assert.ok(peak[table] <= bound, `${table}: at most ${peak[table]} rows stored at once (bound ${bound}; ${rounds * perBatch} reports streamed)`);
    }
    assert.ok(peak.client_reports > 0 && peak.helper_reports > 0 && peak.outstanding_batches > 0, 'the unexpired window is kept');

    // Batches nobody collects: two filled, one still filling. Live, they are kept.
    clock.now += p;
    assert.equal((await client.upload(Array.from({ length: 2 * perBatch + 5 }, () => 1), { time: clock.now })).uploaded, 2 * perBatch + 5);
    await aggregated();
    await leader.gc.runOnce();
    const open = await leader.ctx.store.db.selectFrom('outstanding_batches').select('state').where('task_id', '=', t.client.taskId).where('state', '!=', 'collecting').execute();
    assert.deepEqual(open.map((b) => b.state).sort(), ['filled', 'filled', 'filling'], 'uncollected batches are kept while their reports are live');

    // Everything expires, the uncollected batches too: bounded passes drain every table.
    clock.now += expiry * 10;
    for (const agg of aggs) {
      agg.ctx.tunables.gcBatchLimit = 30;
      agg.ctx.tunables.gcMaxRounds = 1;
    }
    await drain(world, tables);
  } finally {
    await world.close();
  }
}

test('GC on SQLite: storage stays bounded under a steady stream of uploads and collections; aggregates exact', async () => {
  await steadyStream({ leader: { sqlite: ':memory:' }, helper: { sqlite: ':memory:' } });
});

test('GC on PostgreSQL: storage stays bounded under a steady stream of uploads and collections; aggregates exact', async (t) => {
  await onPostgresPair(t, 'gc', (stores) => steadyStream(stores));
});

test('GC drops an uncollected leader-selected batch once no aggregation job refers to it, never one being collected; a job creator that read it before rolls back', async () => {
  const store = await DapStore.open({ sqlite: ':memory:' });
  try {
    const gc = new GcStore(store.db);
    const taskId = 'T';
    const [filling, collecting] = [randomBytes(32), randomBytes(32)];
    const job = (batchId: Buffer, maxTime: number) => store.transaction((trx) => store.insertAggregationJob(trx, {
      task_id: taskId, job_id: randomBytes(16), state: 'finished', batch_id: batchId, min_time: maxTime, max_time: maxTime, report_count: 1, lease_expiry: 0, created_at: 0, updated_at: 0,
    }));
    await store.transaction((trx) => store.putOutstandingBatch(trx, taskId, filling, 3, 'filling', 0, null));
    await store.transaction((trx) => store.putOutstandingBatch(trx, taskId, collecting, 3, 'filled', 0, null));
    assert.ok(await store.transaction((trx) => store.claimBatchForCollection(trx, taskId)));
    await job(filling, 500);
    await job(filling, 2000);
    await job(collecting, 500);
    const batches = async () => (await store.db.selectFrom('outstanding_batches').select('state').execute()).map((b) => b.state).sort();
    const first = await gc.round({ taskId, cutoff: 1000, timePrecision: 60 }, 100);
    assert.equal(first.aggregationJobs, 2);
    assert.deepEqual(await batches(), ['collecting', 'filling'], 'a job with live reports still refers to the filling batch');
    const second = await gc.round({ taskId, cutoff: 3000, timePrecision: 60 }, 100);
    assert.equal(second.outstandingBatches, 1);
    assert.deepEqual(await batches(), ['collecting'], 'the collection decides about the batch it holds');
    // A job creator that read the filling batch (3 assigned) before GC dropped it does not assign reports to it.
    await assert.rejects(store.transaction((trx) => store.putOutstandingBatch(trx, taskId, filling, 5, 'filling', 0, 3)), ConcurrentAssignment);
  } finally {
    await store.close();
  }
});

for (const version of ['dap-09', 'dap-18'] as DapVersion[]) {
  test(`GC on SQLite, ${version} leader-selected: storage stays bounded under a stream of batches and collections; uncollected batches expire; aggregates exact`, async () => {
    await leaderSelectedStream(version, { leader: { sqlite: ':memory:' }, helper: { sqlite: ':memory:' } });
  });
}

test('GC on PostgreSQL, dap-18 leader-selected: storage stays bounded under a stream of batches and collections; uncollected batches expire; aggregates exact', async (t) => {
  await onPostgresPair(t, 'gcls', (stores) => leaderSelectedStream('dap-18', stores));
});
