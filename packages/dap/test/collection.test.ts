// Collection semantics under a moving clock: time-interval collections are held until their interval has ended
// plus the grace for late reports while uploads keep arriving, and every acknowledged report is counted exactly
// once across successive collections; leader-selected batches are sealed at min_batch_size (re-opened when some
// reports fail) and each collection gets the next batch; DAP-09's max_batch_query_count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DapClient, DapCollector, DapStore, newTask, startAggregator, type DapVersion, type RunningAggregator, type StoreOptions } from '../src/index.js';
import type { AggregatorTunables } from '../src/aggregator/index.js';
import { FAST, currentInterval, provision, startPair } from './harness.js';
import { onPostgresPair } from './support/postgres.js';

/** A leader and a helper sharing one injected clock (seconds). */
async function pairWithClock(clock: () => number, stores: { leader: StoreOptions; helper: StoreOptions }, tunables: Partial<AggregatorTunables> = {}) {
  const helper = await startAggregator({ role: 'helper', store: await DapStore.open(stores.helper), tunables: { ...FAST, ...tunables }, keyCheckIntervalMs: 0, clock });
  const leader = await startAggregator({ role: 'leader', store: await DapStore.open(stores.leader), tunables: { ...FAST, ...tunables }, keyCheckIntervalMs: 0, clock });
  const close = async (agg: RunningAggregator) => {
    await agg.close();
    await agg.ctx.store.close();
  };
  return { leader, helper, close: async () => (await close(leader), await close(helper)) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SQLITE = { leader: { sqlite: ':memory:' }, helper: { sqlite: ':memory:' } };

/** Uploads stream in (three uploaders, some reports late) while each interval's collection is held to end + grace. */
async function streamWhileCollecting(version: DapVersion, stores: { leader: StoreOptions; helper: StoreOptions }): Promise<void> {
    const p = 60;
    const grace = 30;
    const real = Math.floor(Date.now() / 1000);
    const t0 = real - (real % p) + p;
    let now = t0;
    const pair = await pairWithClock(() => now, stores);
    try {
      const t = await newTask({ version, leaderUrl: pair.leader.url, helperUrl: pair.helper.url, vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: p, collectionGraceSeconds: grace });
      await pair.leader.ctx.putTask(t.leader);
      await pair.helper.ctx.putTask(t.helper);
      const intervals = 4;
      const stopAt = t0 + intervals * p + grace + p;
      const sent: { time: number; value: number; startedAt: number; doneAt: number; ok: boolean; error?: string }[] = [];
      const client = new DapClient(t.client);
      const uploader = async (seed: number) => {
        for (let i = 0; now < stopAt; i++) {
          const value = (seed + i) % 3 === 0 ? 0 : 1;
          const startedAt = now;
          // A report stamped with the current time, or (every fourth) one up to 1.5 × the grace late.
          const time = i % 4 === 3 ? Math.max(t0, startedAt - ((seed * 7 + i) % 45)) : startedAt;
          const report = await client.prepareReport(value, time);
          const s = await client.uploadReports([report]);
          sent.push({ time: report.metadata.time, value, startedAt, doneAt: now, ok: s.uploaded === 1, error: s.rejected[0]?.error });
          // The clock moves with the stream, one second per upload (about 60 per interval), however fast the machine.
          now += 1;
        }
      };
      // Each interval's collection is asked for as soon as the interval begins: the leader holds it.
      const collector = new DapCollector(t.collector);
      const collections = Array.from({ length: intervals }, async (_, k) => {
        const start = t0 + k * p;
        while (now < start) await sleep(5);
        const askedAt = now;
        const r = await collector.collect({ interval: { start, duration: p } }, { timeoutMs: 60_000, pollMs: 20 });
        return { start, askedAt, finishedAt: now, r };
      });
      await Promise.all([uploader(1), uploader(2), uploader(3), ...collections]);
      const results = await Promise.all(collections);
      let counted = 0;
      for (const { start, askedAt, finishedAt, r } of results) {
        const end = start + p;
        assert.ok(askedAt < end, 'the collection was asked for while its interval was still filling');
        assert.ok(finishedAt >= end + grace, `the collection of ${start} finished at ${finishedAt}, before interval end + grace ${end + grace}`);
        const mine = sent.filter((s) => s.ok && s.time >= start && s.time < end);
        assert.equal(r.reportCount, mine.length, `interval ${start}: every acknowledged report once`);
        assert.equal(r.aggregate, mine.reduce((a, s) => a + s.value, 0));
        // Uploads acknowledged before end + grace were all accepted: a refusal (batch_collected) can only come once
        // the collection has sealed the batch, which it does only after end + grace.
        for (const s of sent.filter((x) => x.time >= start && x.time < end && x.doneAt < end + grace)) {
          assert.ok(s.ok, `a report of ${start} uploaded by ${s.doneAt} was refused: ${s.error}`);
        }
        counted += r.reportCount;
      }
      assert.ok(counted > 150, `a real stream (${counted} reports counted)`);
      assert.ok(sent.some((s) => s.time + p <= s.startedAt && s.ok), 'reports uploaded after their interval ended (within the grace) were counted');
      // Nothing is left waiting or dropped on the leader for the collected intervals.
      const stats = await pair.leader.ctx.store.stats(t.client.taskId);
      assert.equal(stats.reports[2] ?? 0, 0, 'no accepted report was dropped as batch_collected');
    } finally {
      await pair.close();
    }
}

for (const version of ['dap-09', 'dap-18'] as DapVersion[]) {
  test(`${version}: uploads keep arriving while collections are held to interval end + grace; every acknowledged report is counted exactly once`, async () => {
    await streamWhileCollecting(version, SQLITE);
  });
}

test('PostgreSQL, dap-18: uploads keep arriving while collections are held; every acknowledged report is counted exactly once', async (t) => {
  await onPostgresPair(t, 'coll', (stores) => streamWhileCollecting('dap-18', stores));
});

/** Waits until the leader has no report waiting for a job and no job running. */
async function drained(leader: RunningAggregator, taskId: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = await leader.ctx.store.stats(taskId);
    if (!s.reports[0] && !s.jobs.active) return;
    await sleep(20);
  }
  throw new Error('aggregation did not finish');
}

for (const version of ['dap-09', 'dap-18'] as DapVersion[]) {
  test(`${version}, no grace configured: a collection asked for while its interval fills is held until the interval ends, then has every report`, async () => {
    const p = 60;
    const real = Math.floor(Date.now() / 1000);
    const t0 = real - (real % p) + p;
    let now = t0 + 5;
    const pair = await pairWithClock(() => now, SQLITE);
    try {
      const t = await newTask({ version, leaderUrl: pair.leader.url, helperUrl: pair.helper.url, vdaf: { type: 'Prio3Count' }, minBatchSize: 2, timePrecision: p });
      assert.equal(t.leader.collectionGraceSeconds, undefined);
      assert.equal(pair.leader.ctx.tunables.collectionGraceSeconds, undefined);
      await pair.leader.ctx.putTask(t.leader);
      await pair.helper.ctx.putTask(t.helper);
      const client = new DapClient(t.client);
      const collector = new DapCollector(t.collector);
      assert.equal((await client.upload([1, 1, 0], { time: now })).uploaded, 3);
      const job = await collector.start({ interval: { start: t0, duration: p } });
      // Everything uploaded is aggregated (enough for min_batch_size), so only the hold keeps the job processing,
      // for longer than the collection driver takes to pick it up again (200 ms).
      const stillHeld = async () => {
        await drained(pair.leader, t.client.taskId);
        for (let i = 0; i < 8; i++) {
          assert.equal(await collector.poll(job), undefined, `held at ${now - t0} s into the interval`);
          await sleep(100);
        }
      };
      await stillHeld();
      // Reports keep arriving until the interval's last second, and count.
      now = t0 + p - 1;
      assert.equal((await client.upload([1, 1], { time: now })).uploaded, 2);
      await stillHeld();
      now = t0 + p;
      let r;
      for (let i = 0; i < 200 && !r; i++) {
        r = await collector.poll(job);
        if (!r) await sleep(50);
      }
      assert.ok(r, 'the collection finished once its interval ended');
      assert.equal(r.reportCount, 5);
      assert.equal(r.aggregate, 4);
      // Collecting closed the batch: a report for it that comes now is refused.
      const late = await client.upload([1], { time: t0 + p - 1 });
      assert.equal(late.uploaded, 0);
      assert.deepEqual(late.rejected.map((x) => x.error), [version === 'dap-09' ? 'reportRejected' : 'batch_collected']);
    } finally {
      await pair.close();
    }
  });
}

for (const version of ['dap-09', 'dap-18'] as DapVersion[]) {
  test(`${version} leader-selected: a batch is sealed at min_batch_size, re-filled when reports fail, and each collection gets the next batch`, async () => {
    const pair = await startPair({ tunables: { maxJobSize: 3 } });
    try {
      const t = await provision(pair, { version, vdaf: { type: 'Prio3Count' }, minBatchSize: 4, timePrecision: 300, batchMode: 'leader-selected' });
      const client = new DapClient(t.client);
      // The first batch gets 4 reports, one of them with a helper share that cannot be decrypted.
      const first = await Promise.all([1, 1, 1, 1].map((v) => client.prepareReport(v)));
      first[1].helperShare.payload[0] ^= 1;
      assert.equal((await client.uploadReports(first)).uploaded, 4);
      const collector = new DapCollector(t.collector);
      const pending = collector.collect({}, { timeoutMs: 30_000, pollMs: 50 });
      // Only 3 reports verified: the collection waits for the batch to be topped up instead of failing.
      await sleep(800);
      assert.equal((await client.upload([0, 0, 0, 0, 0, 0])).uploaded, 6);
      const a = await pending;
      assert.equal(a.reportCount, 4, 'sealed at min_batch_size verified reports');
      const b = await collector.collect({}, { timeoutMs: 30_000, pollMs: 50 });
      assert.equal(b.reportCount, 4);
      assert.notEqual(a.batchId ?? 'a', b.batchId ?? 'b');
      // The two batches hold the 3 verified ones and 5 of the zeros.
      assert.equal((a.aggregate as number) + (b.aggregate as number), 3, 'every verified report once across the batches');
      // One zero is left in a filling batch: a third collection has nothing sealed to take yet.
      await assert.rejects(collector.collect({}, { timeoutMs: 1500, pollMs: 50 }), /did not finish/);
    } finally {
      await pair.close();
    }
  });
}

test('dap-09 max_batch_query_count: the same interval may be collected that many times, then batchQueriedTooManyTimes', async () => {
  const pair = await startPair();
  try {
    const t = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 2, timePrecision: 300, maxBatchQueryCount: 2 });
    await new DapClient(t.client).upload([1, 0, 1]);
    const collector = new DapCollector(t.collector);
    const q = { interval: currentInterval(300) };
    const a = await collector.collect(q, { timeoutMs: 20_000, pollMs: 50 });
    const b = await collector.collect(q, { timeoutMs: 20_000, pollMs: 50 });
    assert.deepEqual([a.reportCount, a.aggregate], [3, 2]);
    assert.deepEqual([b.reportCount, b.aggregate], [3, 2]);
    await assert.rejects(collector.collect(q, { timeoutMs: 20_000 }), (e: any) => e.problemType === 'batchQueriedTooManyTimes');
    await assert.rejects(collector.collect({ interval: { ...q.interval, duration: q.interval.duration + 300 } }, { timeoutMs: 20_000 }), (e: any) => e.problemType === 'batchOverlap');
  } finally {
    await pair.close();
  }
});

test('task JSON: maxBatchQueryCount above 1 is refused for dap-18, which collects a batch once', async () => {
  const { taskFromJson, taskToJson } = await import('../src/index.js');
  const t = await newTask({ version: 'dap-18', leaderUrl: 'http://l/', helperUrl: 'http://h/', vdaf: { type: 'Prio3Count' } });
  assert.throws(() => taskFromJson({ ...taskToJson(t.leader), maxBatchQueryCount: 2 }), /task\.maxBatchQueryCount/);
  assert.equal(taskFromJson({ ...taskToJson(t.leader), collectionGraceSeconds: 90 }).collectionGraceSeconds, 90);
});
