// What a new user types and meets: VDAF specs in cobble's and @divviup/dap's spellings, a collector's own HPKE
// config, the default collection interval, and unrecognizedTask answered per draft.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DapClient, DapCollector, TaskError, b64url, chooseCollectInterval, collectorHpkeConfigFrom, formatTime, parseTime, parseVdafSpec, type CollectorParams,
} from '../src/index.js';
import { encodeHpkeConfig } from '../src/messages/index.js';
import { generateKeyPair } from '../src/hpke/node.js';
import { provision, startPair } from './harness.js';

test('--vdaf accepts @divviup/dap spellings (sumVec, its VdafSpec objects) and Prio3 type names', () => {
  const sumVec = { type: 'Prio3SumVec', length: 4, bits: 8, chunkLength: 2 };
  assert.deepEqual(parseVdafSpec('sumVec:4:8:2', 'dap-09'), sumVec);
  assert.deepEqual(parseVdafSpec('sum_vec:4:8:2', 'dap-09'), sumVec);
  assert.deepEqual(parseVdafSpec('Prio3SumVec:4:8:2', 'dap-09'), sumVec);
  assert.deepEqual(parseVdafSpec('{"type":"sumVec","length":4,"bits":8,"chunkLength":2}', 'dap-09'), sumVec);
  assert.deepEqual(parseVdafSpec('{"type":"histogram","length":10,"chunkLength":3}', 'dap-09'), { type: 'Prio3Histogram', length: 10, chunkLength: 3 });
  assert.deepEqual(parseVdafSpec('{"type":"sum","bits":16}', 'dap-09'), { type: 'Prio3Sum', bits: 16 });
  assert.deepEqual(parseVdafSpec('{"type":"count"}', 'dap-09'), { type: 'Prio3Count' });
  assert.deepEqual(parseVdafSpec('Count', 'dap-18'), { type: 'Prio3Count' });
  // cobble's own forms keep working; the chunk length defaults to about √(length·bits).
  assert.deepEqual(parseVdafSpec('sumvec:4:8', 'dap-09'), { type: 'Prio3SumVec', length: 4, bits: 8, chunkLength: 6 });
  assert.deepEqual(parseVdafSpec('sum:4', 'dap-18'), { type: 'Prio3Sum', maxMeasurement: 15 });
  assert.deepEqual(parseVdafSpec('sum:max=100', 'dap-18'), { type: 'Prio3Sum', maxMeasurement: 100 });
  assert.deepEqual(parseVdafSpec('multihot:10:3:4', 'dap-18'), { type: 'Prio3MultihotCountVec', length: 10, maxWeight: 3, chunkLength: 4 });
});

test('an unknown or malformed --vdaf is refused with every accepted form, [:CHUNK] variants included', () => {
  const forms = ['count', 'sum:BITS', 'sum:max=N', 'histogram:LENGTH', 'histogram:LENGTH:CHUNK', 'sumvec:LENGTH:BITS', 'sumvec:LENGTH:BITS:CHUNK', 'multihot:LENGTH:MAXWEIGHT', 'multihot:LENGTH:MAXWEIGHT:CHUNK', 'sumVec'];
  for (const bad of ['poplar1', 'histogram', 'sumvec:4', 'sumvec:4:8:zero', '{"type":"sumVec","length":4}', '{not json']) {
    assert.throws(() => parseVdafSpec(bad, 'dap-09'), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      for (const f of forms) assert.ok(e.message.includes(f), `${bad}: '${f}' missing from: ${e.message}`);
      return true;
    });
  }
  assert.throws(() => parseVdafSpec('multihot:10:3', 'dap-09'), /needs --version dap-18/);
});

test("a collector's own HPKE config is read from base64url, raw bytes or a collector JSON; other suites are refused", () => {
  const kp = generateKeyPair();
  const cfg = { id: 7, kemId: 0x20, kdfId: 1, aeadId: 1, publicKey: kp.publicKey };
  const bytes = encodeHpkeConfig(cfg);
  assert.deepEqual(collectorHpkeConfigFrom(b64url(bytes), 'x'), cfg);
  assert.deepEqual(collectorHpkeConfigFrom(bytes, 'x'), cfg);
  assert.deepEqual(collectorHpkeConfigFrom(new TextEncoder().encode(`${b64url(bytes)}\n`), 'x'), cfg);
  assert.deepEqual(collectorHpkeConfigFrom(JSON.stringify({ collectorHpkeConfig: b64url(bytes) }), 'x'), cfg);
  assert.throws(() => collectorHpkeConfigFrom(b64url(encodeHpkeConfig({ ...cfg, aeadId: 3 })), 'flag'), /flag: HPKE suite .*aead 0x0003 is not supported/);
  assert.throws(() => collectorHpkeConfigFrom('AAAA', 'flag'), /flag: not an encoded HpkeConfig/);
  assert.throws(() => collectorHpkeConfigFrom('{"other":1}', 'flag'), /without a collectorHpkeConfig/);
});

test('a task created with the collector’s own HPKE config hands out no private key, and the collector’s key opens the aggregate', async () => {
  const pair = await startPair();
  try {
    const kp = generateKeyPair();
    const t = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 60, collectorHpkeConfig: { id: 9, kemId: 0x20, kdfId: 1, aeadId: 1, publicKey: kp.publicKey } });
    assert.equal(t.collector.collectorHpkePrivateKey, undefined);
    assert.equal(t.collector.collectorHpkeConfig, b64url(encodeHpkeConfig({ id: 9, kemId: 0x20, kdfId: 1, aeadId: 1, publicKey: kp.publicKey })));
    const now = Math.floor(Date.now() / 1000);
    await new DapClient(t.client).upload([1, 1, 0], { time: now - 120 });
    const interval = { start: now - (now % 60) - 180, duration: 180 };
    // Without the private key the collection is refused before the leader is asked (which would close the batch).
    await assert.rejects(new DapCollector(t.collector).collect({ interval }), /no collectorHpkePrivateKey/);
    const other = generateKeyPair();
    await assert.rejects(new DapCollector({ ...t.collector, collectorHpkePrivateKey: b64url(other.privateKey) }).collect({ interval }), /does not belong to collectorHpkeConfig/);
    const params: CollectorParams = { ...t.collector, collectorHpkePrivateKey: b64url(kp.privateKey) };
    const r = await new DapCollector(params).collect({ interval }, { timeoutMs: 20_000 });
    assert.equal(r.reportCount, 3);
    assert.equal(r.aggregate, 2);
  } finally {
    await pair.close();
  }
});

test('times are epoch seconds or RFC 3339 and print as RFC 3339', () => {
  assert.equal(parseTime('1767225600', '--start'), 1767225600);
  assert.equal(parseTime('2026-01-01T00:00:00Z', '--start'), 1767225600);
  assert.equal(parseTime('2026-01-01T01:00:00+01:00', '--start'), 1767225600);
  assert.equal(formatTime(1767225600), '2026-01-01T00:00:00Z');
  assert.throws(() => parseTime('tomorrow', '--start'), /--start tomorrow: write epoch seconds .* or RFC 3339/);
  assert.throws(() => parseTime('2026-01-01', '--end'), /--end 2026-01-01/);
  assert.throws(() => parseTime('2026-01-01T00:00:00.5Z', '--end'), /whole seconds/);
});

test('the default collection interval ends where the still-filling interval begins and says so', () => {
  const p = 3600;
  const now = 1767225600 + 5 * p + 1234; // 05:20:34 on 2026-01-01
  const d = chooseCollectInterval({ now, timePrecision: p });
  assert.equal(d.start + d.duration, 1767225600 + 5 * p, 'ends at 05:00, the start of the current hour');
  assert.equal(d.duration, 86400);
  assert.equal(d.warning, undefined);
  assert.equal(d.note, 'collecting 2025-12-31T05:00:00Z to 2026-01-01T05:00:00Z (24 intervals of 3600 s); the current interval fills until 2026-01-01T06:00:00Z');
  // Successive default collections tile time: the next starts where the last ended.
  const next = chooseCollectInterval({ now: now + 2 * p, timePrecision: p, collectedUntil: d.start + d.duration });
  assert.deepEqual([next.start, next.duration], [d.start + d.duration, 2 * p]);
  assert.match(next.note, /\(2 intervals of 3600 s, from where the last collection ended\)/);
  assert.throws(() => chooseCollectInterval({ now, timePrecision: p, collectedUntil: d.start + d.duration }), /everything up to 2026-01-01T05:00:00Z is collected; the next interval is collectable from 2026-01-01T06:00:00Z/);
  // An explicit interval ignores the mark.
  assert.equal(chooseCollectInterval({ now, timePrecision: p, collectedUntil: d.start + d.duration, start: '2026-01-01T00:00:00Z' }).start, 1767225600);
  // A precision longer than a day: the last complete interval.
  const w = chooseCollectInterval({ now, timePrecision: 7 * 86400 });
  assert.equal(w.duration, 7 * 86400);
  assert.ok(w.start + w.duration <= now);
  // --start alone runs to the same point; a start inside the filling interval is not collectable yet.
  const s = chooseCollectInterval({ now, timePrecision: p, start: '2026-01-01T02:00:00Z' });
  assert.deepEqual([s.start, s.duration], [1767225600 + 2 * p, 3 * p]);
  assert.throws(() => chooseCollectInterval({ now, timePrecision: p, start: '2026-01-01T05:00:00Z' }), /has not ended yet: it is collectable from 2026-01-01T06:00:00Z/);
  // --end alone goes back 24 h; --start with --duration or --end, in either notation.
  const e = chooseCollectInterval({ now, timePrecision: p, end: String(1767225600 + 4 * p) });
  assert.deepEqual([e.start, e.duration], [1767225600 + 4 * p - 86400, 86400]);
  const sd = chooseCollectInterval({ now, timePrecision: p, start: '1767225600', duration: '7200' });
  const se = chooseCollectInterval({ now, timePrecision: p, start: '2026-01-01T00:00:00Z', end: '2026-01-01T02:00:00Z' });
  assert.deepEqual([sd.start, sd.duration], [se.start, se.duration]);
  // An explicit interval reaching into the filling one is the user's choice, with a warning.
  const open = chooseCollectInterval({ now, timePrecision: p, start: '2026-01-01T04:00:00Z', duration: String(2 * p) });
  assert.match(open.warning ?? '', /has not ended; the leader holds the collection until 2026-01-01T06:00:00Z/);
  assert.throws(() => chooseCollectInterval({ now, timePrecision: p, start: '2026-01-01T00:30:00Z', duration: '3600' }), /not a multiple of the task's time precision \(3600 s\); nearest: 2026-01-01T00:00:00Z or 2026-01-01T01:00:00Z/);
  assert.throws(() => chooseCollectInterval({ now, timePrecision: p, end: '1767225600', duration: '3600' }), /--end or --duration, not both/);
});

test('unrecognizedTask is 400 on DAP-09 (an abort, §3.2) and 404 on DAP-18; a request of neither draft gets 400', async () => {
  const pair = await startPair();
  try {
    const unknown = 'A'.repeat(43);
    const ask = async (base: string, path: string, method: string, contentType?: string) => {
      const res = await fetch(`${base}${path}`, { method, headers: contentType ? { 'content-type': contentType } : {}, body: method === 'GET' || method === 'DELETE' ? undefined : new Uint8Array(1) });
      const body = (await res.json()) as { type: string; status: number };
      assert.equal(body.type, 'urn:ietf:params:ppm:dap:error:unrecognizedTask', `${method} ${path}`);
      assert.equal(body.status, res.status);
      return res.status;
    };
    const L = pair.leader.url;
    const H = pair.helper.url;
    const job = 'B'.repeat(22);
    // Routes of one draft only.
    assert.equal(await ask(L, `tasks/${unknown}/reports`, 'PUT', 'application/dap-report'), 400);
    assert.equal(await ask(L, `hpke_config?task_id=${unknown}`, 'GET'), 400);
    assert.equal(await ask(L, `tasks/${unknown}/collection_jobs/${job}`, 'PUT', 'application/dap-collect-req'), 400);
    assert.equal(await ask(H, `tasks/${unknown}/aggregation_jobs/${job}`, 'PUT', 'application/dap-aggregation-job-init-req'), 400);
    assert.equal(await ask(L, `tasks/${unknown}/reports`, 'POST', 'application/ppm-dap;message=upload-req'), 404);
    assert.equal(await ask(L, `tasks/${unknown}/collection_jobs`, 'POST', 'application/ppm-dap;message=collection-job-req'), 404);
    assert.equal(await ask(H, `tasks/${unknown}/aggregation_jobs`, 'POST', 'application/ppm-dap;message=aggregation-job-init-req'), 404);
    assert.equal(await ask(H, `tasks/${unknown}/aggregation_jobs/${job}`, 'GET'), 404);
    // Routes both drafts share: the media type decides.
    assert.equal(await ask(H, `tasks/${unknown}/aggregate_shares`, 'POST', 'application/dap-aggregate-share-req'), 400);
    assert.equal(await ask(H, `tasks/${unknown}/aggregate_shares`, 'POST', 'application/ppm-dap;message=aggregate-share-req'), 404);
    assert.equal(await ask(H, `tasks/${unknown}/aggregation_jobs/${job}`, 'POST', 'application/ppm-dap;message=aggregation-job-continue-req'), 404);
    assert.equal(await ask(H, `tasks/${unknown}/aggregation_jobs/${job}`, 'DELETE'), 400);
    // The wrong role for the route is an unknown task too, by the same rule.
    assert.equal(await ask(H, `tasks/${unknown}/reports`, 'PUT', 'application/dap-report'), 400);
    assert.equal(await ask(H, `tasks/${unknown}/reports`, 'POST', 'application/ppm-dap;message=upload-req'), 404);
  } finally {
    await pair.close();
  }
});
