// The same end-to-end matrix on PostgreSQL (127.0.0.1:5432, user postgres, trust auth). Each run creates its own
// databases and drops them afterwards. Unreachable Postgres fails the run under CI=true and skips visibly otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matrix } from './matrix.js';
import { createDatabases } from './support/postgres.js';

matrix('PostgreSQL', async () => {
  const d = await createDatabases(['leader', 'helper']);
  if (!d) return undefined;
  return { leader: { postgres: d.urls[0] }, helper: { postgres: d.urls[1] }, cleanup: () => d.drop() };
});

test('PostgreSQL: two leader processes share one database; their drivers split the jobs under leases', async (t) => {
  const d = await createDatabases(['leader2', 'helper2']);
  if (!d) {
    t.skip('PostgreSQL unavailable');
    return;
  }
  const { startAggregator, DapStore, DapClient, DapCollector } = await import('../src/index.js');
  const { FAST, aheadClock, currentInterval, provision } = await import('./harness.js');
  const tunables = { ...FAST, maxJobSize: 5, drivers: 3 };
  // The harness clock: the current interval, which the test collects, has ended for the aggregators.
  const helper = await startAggregator({ role: 'helper', store: { postgres: d.urls[1] }, tunables, keyCheckIntervalMs: 0, clock: aheadClock });
  const leaderA = await startAggregator({ role: 'leader', store: { postgres: d.urls[0] }, tunables, keyCheckIntervalMs: 0, clock: aheadClock });
  const leaderB = await startAggregator({ role: 'leader', store: { postgres: d.urls[0] }, tunables, keyCheckIntervalMs: 0, clock: aheadClock });
  try {
    const task = await provision({ leader: leaderA, helper, close: async () => {} }, { version: 'dap-18', vdaf: { type: 'Prio3Count' }, minBatchSize: 60, timePrecision: 600 });
    // Count what each instance's drivers finish by wrapping their drive function.
    const driven = { a: 0, b: 0 };
    for (const [k, l] of [['a', leaderA.leader!], ['b', leaderB.leader!]] as const) {
      const orig = l.driveAggregationJob.bind(l);
      l.driveAggregationJob = async (job, token) => {
        driven[k]++;
        return orig(job, token);
      };
    }
    const values = Array.from({ length: 60 }, (_, i) => (i % 4 === 0 ? 0 : 1));
    assert.equal((await new DapClient(task.client).upload(values)).uploaded, 60);
    const r = await new DapCollector(task.collector).collect({ interval: currentInterval(600) }, { timeoutMs: 30000 });
    assert.equal(r.reportCount, 60);
    assert.equal(r.aggregate, 45);
    const stats = await leaderA.ctx.store.stats(task.client.taskId);
    assert.equal(stats.jobs.finished, driven.a + driven.b, 'every job was driven exactly once');
    assert.ok(driven.a > 0 && driven.b > 0, `both leaders drove jobs (${JSON.stringify(driven)})`);
    void DapStore;
  } finally {
    await leaderA.close();
    await leaderB.close();
    await helper.close();
    await d.drop();
  }
});

test('PostgreSQL: an idle connection the server ends does not take the aggregator down; the next query reconnects', async (t) => {
  const d = await createDatabases(['idle']);
  if (!d) {
    t.skip('PostgreSQL unavailable');
    return;
  }
  const { DapStore } = await import('../src/index.js');
  const pg = (await import('pg')).default;
  const store = await DapStore.open({ postgres: d.urls[0] });
  const admin = new pg.Client({ connectionString: d.urls[0] });
  try {
    await store.listTasks();
    await admin.connect();
    const ended = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    assert.ok(ended.rowCount! > 0, 'the store had a connection to end');
    // The error reaches the pool's idle client asynchronously; an unheard one would fail this test as uncaught.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await store.listTasks(), []);
  } finally {
    await admin.end();
    await store.close();
    await d.drop();
  }
});
