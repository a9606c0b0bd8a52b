// Garbage collection under a steady stream: with a short report_expiry_age and a moving clock, uploads and
// collections keep going while the GC driver deletes expired rows in bounded rounds; the row counts of every table
// stay bounded and every collected aggregate is exact. On SQLite and on PostgreSQL (127.0.0.1:5432).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DapClient, DapCollector, DapStore, GcStore, newTask, startAggregator, type RunningAggregator, type StoreOptions } from '../src/index.js';
import { FAST } from './harness.js';
import { createDatabases } from './support/postgres.js';

const TABLES = ['client_reports', 'aggregation_jobs', 'batch_buckets', 'collected_batches', 'collection_jobs', 'helper_jobs', 'helper_reports', 'aggregate_share_jobs'];

async function steadyStream(stores: { leader: StoreOptions; helper: StoreOptions }): Promise<void> {
  const p = 60;
  const expiry = 300;
  const perInterval = 20;
  const rounds = 24;
  const real = Math.floor(Date.now() / 1000);
  const t0 = real - (real % p) + p;
  let now = t0;
  const clock = () => now;
  const tunables = { ...FAST, gcIntervalMs: 100, gcBatchLimit: 200 };
  const aggs: RunningAggregator[] = [];
  try {
    aggs.push(await startAggregator({ role: 'helper', store: await DapStore.open(stores.helper), tunables, keyCheckIntervalMs: 0, clock }));
    aggs.push(await startAggregator({ role: 'leader', store: await DapStore.open(stores.leader), tunables, keyCheckIntervalMs: 0, clock }));
    const [helper, leader] = aggs;
    const t = await newTask({
      version: 'dap-18', leaderUrl: leader.url, helperUrl: helper.url, vdaf: { type: 'Prio3Count' }, minBatchSize: perInterval, timePrecision: p,
      reportExpiryAge: expiry, collectionGraceSeconds: 10,
    });
    await leader.ctx.putTask(t.leader);
    await helper.ctx.putTask(t.helper);
    const client = new DapClient(t.client);
    const collector = new DapCollector(t.collector);
    const counts = async () => {
      const out: Record<string, number> = {};
      for (const agg of aggs) {
        for (const [table, n] of Object.entries(await new GcStore(agg.ctx.store.db).rowCounts(t.client.taskId))) out[table] = (out[table] ?? 0) + n;
      }
      return out;
    };
    const peak: Record<string, number> = {};
    for (let k = 0; k < rounds; k++) {
      const start = t0 + k * p;
      now = start + 1;
      const values = Array.from({ length: perInterval }, (_, i) => (i + k) % 3 === 0 ? 0 : 1);
      assert.equal((await client.upload(values, { time: now })).uploaded, perInterval);
      now = start + p + 10; // the interval has ended, and its grace has passed
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
    now += expiry * 10;
    for (const agg of aggs) {
      agg.ctx.tunables.gcBatchLimit = 30;
      agg.ctx.tunables.gcMaxRounds = 1;
      await agg.gc.stop(); // only these explicit passes now
    }
    const first = await leader.gc.runOnce();
    assert.ok(first.clientReports <= 30 && first.clientReports > 0, `one pass deletes at most the limit (${first.clientReports})`);
    for (let pass = 0; pass < 50; pass++) {
      const [a, b] = await Promise.all([leader.gc.runOnce(), helper.gc.runOnce()]);
      if (Object.values(a).every((v) => v === 0) && Object.values(b).every((v) => v === 0)) break;
    }
    const left = await counts();
    for (const table of TABLES) assert.equal(left[table], 0, `${table} drained`);
  } finally {
    for (const agg of aggs.reverse()) {
      await agg.close();
      await agg.ctx.store.close();
    }
  }
}

test('GC on SQLite: storage stays bounded under a steady stream of uploads and collections; aggregates exact', async () => {
  await steadyStream({ leader: { sqlite: ':memory:' }, helper: { sqlite: ':memory:' } });
});

test('GC on PostgreSQL: storage stays bounded under a steady stream of uploads and collections; aggregates exact', async (t) => {
  const d = await createDatabases(['gc_leader', 'gc_helper']);
  if (!d) {
    t.skip('PostgreSQL unavailable');
    return;
  }
  try {
    await steadyStream({ leader: { postgres: d.urls[0] }, helper: { postgres: d.urls[1] } });
  } finally {
    await d.drop();
  }
});
