// Faults: replays, invalid proofs, undecryptable shares, the helper going away, collection below the minimum
// batch size, time checks at upload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DapClient, DapCollector, DapStore, startAggregator, type ClientParams } from '../src/index.js';
import { sealWeb } from '../src/hpke/index.js';
import { paramsCodec, paramsVdaf, paramsWireContext } from '../src/params.js';
import type { Report } from '../src/messages/index.js';
import { FAST, aheadClock, currentInterval, provision, startPair } from './harness.js';

/** A report whose leader input share is altered after sharding (so its proof cannot verify), or whose helper share is sealed with the wrong AAD. */
async function badReport(client: DapClient, p: ClientParams, kind: 'proof' | 'hpke'): Promise<Report> {
  const codec = paramsCodec(p);
  const ctx = paramsWireContext(p);
  const vdaf = paramsVdaf(p);
  const [lc, hc] = await client.hpkeConfigs();
  const reportId = crypto.getRandomValues(new Uint8Array(16));
  const { publicShare, inputShares } = vdaf.shard(true, reportId, crypto.getRandomValues(new Uint8Array(vdaf.randSize)), codec.vdafContext(ctx.taskId));
  const leaderShare = inputShares[0].slice();
  if (kind === 'proof') leaderShare[0] ^= 0x01; // the measurement share changes, so the validity proof fails
  const now = Math.floor(Date.now() / 1000);
  const metadata = { reportId, time: now - (now % p.timePrecision), publicExtensions: [] };
  const aad = codec.inputShareAad(ctx, metadata, publicShare);
  const seal = async (c: typeof lc, role: 2 | 3, payload: Uint8Array, a: Uint8Array) => {
    const { enc, ciphertext } = await sealWeb(c.publicKey, codec.inputShareInfo(role), a, codec.encodePlaintextInputShare({ extensions: [], payload }));
    return { configId: c.id, enc, payload: ciphertext };
  };
  return {
    metadata, publicShare,
    leaderShare: await seal(lc, 2, leaderShare, aad),
    helperShare: await seal(hc, 3, inputShares[1], kind === 'hpke' ? new Uint8Array([1, 2, 3]) : aad),
  };
}

for (const version of ['dap-09', 'dap-18'] as const) {
  test(`${version}: reports with an invalid proof or an undecryptable share are left out of the aggregate`, async () => {
    const pair = await startPair();
    try {
      const t = await provision(pair, { version, vdaf: { type: 'Prio3Count' }, minBatchSize: 3, timePrecision: 300 });
      const client = new DapClient(t.client);
      const good = await Promise.all([1, 1, 0, 1].map((m) => client.prepareReport(m)));
      const bad = [await badReport(client, t.client, 'proof'), await badReport(client, t.client, 'proof'), await badReport(client, t.client, 'hpke')];
      const s = await client.uploadReports([...good, ...bad]);
      assert.equal(s.uploaded, 7, 'the leader cannot tell bad reports at upload');
      const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
      assert.equal(r.reportCount, 4);
      assert.equal(r.aggregate, 3);
    } finally {
      await pair.close();
    }
  });
}

test('dap-18: a replayed report is refused with report_replayed, within one bulk upload and across uploads', async () => {
  const pair = await startPair();
  try {
    const t = await provision(pair, { version: 'dap-18', vdaf: { type: 'Prio3Count' }, minBatchSize: 2, timePrecision: 300 });
    const client = new DapClient(t.client);
    const a = await client.prepareReport(1);
    const b = await client.prepareReport(1);
    const first = await client.uploadReports([a, b, a]);
    assert.equal(first.uploaded, 2);
    assert.deepEqual(first.rejected.map((r) => r.error), ['report_replayed']);
    const again = await client.uploadReports([b]);
    assert.deepEqual(again.rejected.map((r) => r.error), ['report_replayed']);
    const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
    assert.equal(r.reportCount, 2);
    assert.equal(r.aggregate, 2);
  } finally {
    await pair.close();
  }
});

test('upload time checks: too early, expired task, too late, unknown HPKE config (problem types with taskid)', async () => {
  const pair = await startPair();
  try {
    // Report times relative to the aggregators' clock (the harness runs it ahead of real time), given explicitly.
    const now = aheadClock();
    const t09 = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 60, reportExpiryAge: 3600 });
    const c09 = new DapClient(t09.client);
    const put = async (r: Report) => {
      const codec = paramsCodec(t09.client);
      const res = await fetch(`${pair.leader.url}tasks/${t09.client.taskId}/reports`, { method: 'PUT', headers: { 'content-type': 'application/dap-report' }, body: codec.encodeReport(paramsWireContext(t09.client), r) });
      return { status: res.status, problem: (await res.json()) as { type: string; taskid: string } };
    };
    const early = await put(await c09.prepareReport(1, now + 3600));
    assert.equal(early.status, 400);
    assert.equal(early.problem.type, 'urn:ietf:params:ppm:dap:error:reportTooEarly');
    assert.equal(early.problem.taskid, t09.client.taskId);
    const late = await put(await c09.prepareReport(1, now - 7200));
    assert.equal(late.problem.type, 'urn:ietf:params:ppm:dap:error:reportRejected');
    const stale = await c09.prepareReport(1, now);
    stale.leaderShare.configId = (stale.leaderShare.configId + 1) % 256;
    const outdated = await put(stale);
    assert.equal(outdated.problem.type, 'urn:ietf:params:ppm:dap:error:outdatedConfig');
    assert.equal(outdated.problem.taskid, t09.client.taskId);

    const expired09 = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 60, taskEnd: now - 60 });
    const ce = new DapClient(expired09.client);
    await assert.rejects(ce.uploadReports([await ce.prepareReport(1, now)]).then((s) => (s.rejected.length ? Promise.reject(new Error(String(s.rejected[0].error))) : s)), /reportRejected/);

    const t18 = await provision(pair, { version: 'dap-18', vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 60, taskStart: 0, taskEnd: now - (now % 60) - 60 });
    const c18 = new DapClient(t18.client);
    const s18 = await c18.uploadReports([await c18.prepareReport(1, now), await c18.prepareReport(1, now + 7200)]);
    assert.deepEqual(s18.rejected.map((r) => r.error), ['task_expired', 'report_too_early']);
    const unknown = await fetch(`${pair.leader.url}tasks/${'A'.repeat(43)}/reports`, { method: 'POST', headers: { 'content-type': 'application/ppm-dap;message=upload-req' }, body: new Uint8Array(1) });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { type: string }).type, 'urn:ietf:params:ppm:dap:error:unrecognizedTask');
  } finally {
    await pair.close();
  }
});

for (const version of ['dap-09', 'dap-18'] as const) {
  test(`${version}: collection below the minimum batch size is refused with invalidBatchSize and nothing is released`, async () => {
    const pair = await startPair();
    try {
      const t = await provision(pair, { version, vdaf: { type: 'Prio3Count' }, minBatchSize: 5, timePrecision: 300 });
      const client = new DapClient(t.client);
      await client.upload([1, 1, 1]);
      const collector = new DapCollector(t.collector);
      await assert.rejects(collector.collect({ interval: currentInterval(300) }, { timeoutMs: 20000 }), (e: any) => e.problemType === 'invalidBatchSize');
      // The batch was not marked collected: with enough reports the same interval can still be collected.
      await client.upload([0, 1]);
      const r = await collector.collect({ interval: currentInterval(300) }, { timeoutMs: 20000 });
      assert.equal(r.reportCount, 5);
      assert.equal(r.aggregate, 4);
      // And collected only once: DAP-09 refuses a new job; DAP-18 maps the identical request to the same job.
      if (version === 'dap-09') {
        await assert.rejects(collector.collect({ interval: currentInterval(300) }, { timeoutMs: 20000 }), (e: any) => e.problemType === 'batchQueriedTooManyTimes');
      } else assert.deepEqual(await collector.collect({ interval: currentInterval(300) }, { timeoutMs: 20000 }), r);
      const wider = { ...currentInterval(300), duration: 6 * 300 };
      await assert.rejects(collector.collect({ interval: wider }, { timeoutMs: 20000 }), (e: any) => e.problemType === 'batchOverlap');
    } finally {
      await pair.close();
    }
  });
}

test('with the helper down, aggregation jobs are retried and finish once it is back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-dap-helper-'));
  const helperFile = join(dir, 'helper.sqlite');
  // The harness clock: the current interval, which the test collects, has ended for the aggregators.
  let helper = await startAggregator({ role: 'helper', store: { sqlite: helperFile }, tunables: FAST, keyCheckIntervalMs: 0, clock: aheadClock });
  const port = helper.port;
  const leader = await startAggregator({ role: 'leader', store: { sqlite: ':memory:' }, tunables: { ...FAST, retryBaseMs: 100, retryMaxMs: 400 }, keyCheckIntervalMs: 0, clock: aheadClock });
  try {
    const t = await provision({ leader, helper, close: async () => {} }, { version: 'dap-09', vdaf: { type: 'Prio3Histogram', length: 4, chunkLength: 2 }, minBatchSize: 6, timePrecision: 300 });
    const client = new DapClient(t.client);
    const reports = await Promise.all([0, 1, 1, 3, 3, 3].map((m) => client.prepareReport(m)));
    await helper.close();
    assert.equal((await client.uploadReports(reports)).uploaded, 6);
    const deadline = Date.now() + 10000;
    let job;
    while (Date.now() < deadline) {
      job = await leader.ctx.store.db.selectFrom('aggregation_jobs').selectAll().where('task_id', '=', t.client.taskId).executeTakeFirst();
      if (job && job.lease_attempts >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(job && job.lease_attempts >= 2 && job.state === 'active', `the job should be retrying, got ${JSON.stringify(job && { state: job.state, attempts: job.lease_attempts })}`);
    assert.match(job.last_error ?? '', /fetch failed|ECONNREFUSED/);
    helper = await startAggregator({ role: 'helper', store: { sqlite: helperFile }, port, tunables: FAST, keyCheckIntervalMs: 0, clock: aheadClock });
    const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
    assert.equal(r.reportCount, 6);
    assert.deepEqual(r.aggregate, [1, 2, 0, 3]);
  } finally {
    await leader.close();
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HPKE keys rotate pending → active → expired; expired keys still decrypt, then are deleted', async () => {
  const store = await DapStore.open({ sqlite: ':memory:' });
  try {
    const { Keyring } = await import('../src/aggregator/keys.js');
    const ring = new Keyring(store);
    const t0 = 1_000_000;
    await ring.ensureActive(t0);
    const [first] = ring.advertised();
    const policy = { pendingMs: 1000, activeMs: 10_000, expiredMs: 5000 };
    assert.deepEqual(await ring.rotate(policy, t0 + 8000), []);
    const created = await ring.rotate(policy, t0 + 9000);
    assert.match(created.join(), /created pending/);
    assert.equal(ring.advertised()[0].id, first.id, 'a pending key is not advertised');
    const pending = ring.list().find((k) => k.state === 'pending')!;
    assert.ok(ring.recipient(pending.configId), 'a pending key already decrypts');
    const activated = await ring.rotate(policy, t0 + 10_500);
    assert.match(activated.join(), new RegExp(`activated ${pending.configId}`));
    assert.deepEqual(ring.advertised().map((c) => c.id), [pending.configId]);
    assert.ok(ring.recipient(first.id), 'the expired key still decrypts');
    await ring.rotate(policy, t0 + 16_000);
    assert.equal(ring.recipient(first.id), undefined);
  } finally {
    await store.close();
  }
});

for (const version of ['dap-09', 'dap-18'] as const) {
  test(`${version}: after the leader drops the key a client cached, the upload gets outdated config and the client refetches and succeeds`, async () => {
    const pair = await startPair();
    try {
      const t = await provision(pair, { version, vdaf: { type: 'Prio3Count' }, minBatchSize: 3, timePrecision: 300 });
      const client = new DapClient(t.client);
      assert.equal((await client.upload([1])).uploaded, 1);
      // Let that report be aggregated before its key goes away (expired keys exist for exactly this reason).
      for (let i = 0; i < 200; i++) {
        const st = await pair.leader.ctx.store.stats(t.client.taskId);
        if (st.jobs.finished === 1) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const ring = pair.leader.ctx.keyring;
      const [old] = ring.advertised();
      await ring.create('active');
      await pair.leader.ctx.store.deleteHpkeKey(old.id);
      await ring.load();
      assert.equal(ring.recipient(old.id), undefined);
      const s = await client.upload([1, 0]);
      assert.equal(s.uploaded, 2, JSON.stringify(s.rejected));
      assert.deepEqual(s.rejected, []);
      const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
      assert.equal(r.reportCount, 3);
      assert.equal(r.aggregate, 2);
    } finally {
      await pair.close();
    }
  });
}
