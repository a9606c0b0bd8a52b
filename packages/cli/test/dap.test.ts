// `cobble dap` as a new user drives it: a task for a collector who holds their own HPKE key, VDAF names in
// @divviup/dap's spelling, times in RFC 3339, and a default collection that never closes the batch still filling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DapStore, startAggregator } from '@cobble/dap';

const bin = fileURLToPath(new URL('../bin/cobble.js', import.meta.url));

// Asynchronous: the aggregators run in this process and must keep answering.
function cobble(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, 'dap', ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const nowS = () => Math.floor(Date.now() / 1000);

/** DAP's HpkeConfig encoding of an X25519 / HKDF-SHA256 / AES-128-GCM public key. */
function hpkeConfigBytes(id: number, publicKey: Buffer): Buffer {
  const head = Buffer.from([id, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, publicKey.length >> 8, publicKey.length & 0xff]);
  return Buffer.concat([head, publicKey]);
}

test('task create with the collector’s own key and a sumVec VDAF; collect defaults to ended intervals and leaves the filling one open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-cli-dap-'));
  const adminToken = 'admin-token-0123456789';
  // The aggregators' clock, which the test moves on once it needs a still-filling interval to have ended.
  let ahead = 0;
  const clock = () => nowS() + ahead;
  const helper = await startAggregator({ role: 'helper', store: await DapStore.open({ sqlite: ':memory:' }), adminToken, keyCheckIntervalMs: 0, clock });
  const leader = await startAggregator({ role: 'leader', store: await DapStore.open({ sqlite: ':memory:' }), adminToken, keyCheckIntervalMs: 0, clock });
  try {
    const kp = generateKeyPairSync('x25519');
    const pub = Buffer.from(kp.publicKey.export({ format: 'jwk' }).x!, 'base64url');
    writeFileSync(join(dir, 'collector-hpke-config'), hpkeConfigBytes(3, pub).toString('base64url') + '\n');
    writeFileSync(join(dir, 'collector-key'), kp.privateKey.export({ format: 'jwk' }).d! + '\n', { mode: 0o600 });

    const p = 3600;
    const created = await cobble(
      'task', 'create', '--version', 'dap-09', '--vdaf', 'sumVec:3:2', '--min-batch-size', '1', '--time-precision', String(p),
      '--collector-hpke-config', join(dir, 'collector-hpke-config'), '--leader', leader.url, '--helper', helper.url,
      '--leader-admin', leader.url, '--helper-admin', helper.url, '--admin-token', adminToken, '--out', dir,
    );
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /keeps its own HPKE private key/);
    const collectorFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.collector.json'))!);
    const clientFile = collectorFile.replace('.collector.json', '.client.json');
    const collectorJson = JSON.parse(readFileSync(collectorFile, 'utf8'));
    assert.equal(collectorJson.collectorHpkePrivateKey, undefined);
    assert.equal(collectorJson.collectorHpkeConfig, hpkeConfigBytes(3, pub).toString('base64url'));
    assert.deepEqual(collectorJson.vdaf, { type: 'Prio3SumVec', length: 3, bits: 2, chunkLength: 2 });

    // Two reports in an interval that has ended (RFC 3339 time), one in the interval still filling (epoch seconds).
    const t0 = nowS();
    const past = t0 - 2 * p;
    assert.equal((await cobble('upload', '--params', clientFile, '--time', iso(past), '[1,2,3]', '[0,1,0]')).status, 0);
    const current = await cobble('upload', '--params', clientFile, '--time', String(t0), '[3,3,3]');
    assert.equal(current.status, 0, current.stderr);

    // Without the private key nothing is asked of the leader.
    const noKey = await cobble('collect', '--params', collectorFile, '--timeout', '60');
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /no collectorHpkePrivateKey/);

    const first = await cobble('collect', '--params', collectorFile, '--hpke-private-key', join(dir, 'collector-key'), '--timeout', '60');
    assert.equal(first.status, 0, first.stderr);
    const note = /collecting (\S+) to (\S+) \(24 intervals of 3600 s\); the current interval fills until (\S+)/.exec(first.stderr);
    assert.ok(note, first.stderr);
    const [start, end] = [Date.parse(note[1]) / 1000, Date.parse(note[2]) / 1000];
    assert.ok(end <= nowS(), `the default interval ${note[1]}..${note[2]} has ended`);
    assert.equal(Date.parse(note[3]) / 1000, end + p);
    // The report of the filling interval is left out, unless that interval ended while the test ran.
    const currentInside = t0 - (t0 % p) < end;
    const r1 = JSON.parse(first.stdout);
    assert.equal(r1.reportCount, currentInside ? 3 : 2);
    assert.deepEqual(r1.aggregate, currentInside ? [4, 6, 6] : [1, 3, 3]);
    assert.deepEqual(r1.batchInterval, { start: note[1], end: note[2], durationSeconds: end - start });
    // The leader's interval is the span of the reports in the batch (DAP-09 Collection), in the same notation.
    assert.deepEqual(r1.interval, currentInside ? r1.interval : { start: iso(past - (past % p)), end: iso(past - (past % p) + p), durationSeconds: p });

    // Where it reached is recorded (without the key given on the command line); run again at once, the default
    // has nothing new and says when it will.
    const recorded = JSON.parse(readFileSync(collectorFile, 'utf8'));
    assert.equal(recorded.collectedUntil, note[2]);
    assert.equal(recorded.collectorHpkePrivateKey, undefined);
    const again = await cobble('collect', '--params', collectorFile, '--hpke-private-key', join(dir, 'collector-key'));
    if (nowS() - (nowS() % p) === end) {
      assert.equal(again.status, 2, again.stderr);
      assert.match(again.stderr, new RegExp(`everything up to ${note[2]} is collected; the next interval is collectable from ${note[3]}`));
    }

    // The filling interval was not closed: a report uploaded now is accepted, and collecting from where the
    // default stopped (explicitly reaching into the open interval, with a warning that the leader holds it until
    // the interval ends) counts every later report. The leader holds it until its clock passes the interval's end:
    // moved on here rather than waited for.
    const later = await cobble('upload', '--params', clientFile, '[1,0,1]');
    assert.equal(later.status, 0, later.stderr);
    assert.match(later.stdout, /uploaded 1 report/);
    ahead = 3 * p;
    const second = await cobble('collect', '--params', collectorFile, '--hpke-private-key', join(dir, 'collector-key'), '--start', note[2], '--duration', String(2 * p), '--timeout', '60');
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /warning: the interval reaches past .* into one that has not ended; the leader holds the collection until /);
    const r2 = JSON.parse(second.stdout);
    assert.equal(r2.reportCount, currentInside ? 1 : 2);
    assert.deepEqual(r2.aggregate, currentInside ? [1, 0, 1] : [4, 3, 4]);
    assert.equal(r2.batchInterval.start, note[2]);
    assert.equal(JSON.parse(readFileSync(collectorFile, 'utf8')).collectedUntil, iso(end + 2 * p));
  } finally {
    await leader.close();
    await helper.close();
    await leader.ctx.store.close();
    await helper.ctx.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a misspelt --vdaf is refused with every accepted form; a bad --start says how to write times', async () => {
  const bad = await cobble('task', 'create', '--vdaf', 'sumvec:3', '--leader', 'http://127.0.0.1:1/', '--helper', 'http://127.0.0.1:2/');
  assert.equal(bad.status, 2);
  for (const form of ['histogram:LENGTH:CHUNK', 'sumvec:LENGTH:BITS:CHUNK', 'multihot:LENGTH:MAXWEIGHT:CHUNK', 'sumVec']) assert.ok(bad.stderr.includes(form), bad.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'cobble-cli-dap-'));
  try {
    const params = { taskId: 'A'.repeat(43), version: 'dap-09', leaderUrl: 'http://127.0.0.1:1/', helperUrl: 'http://127.0.0.1:2/', vdaf: { type: 'Prio3Count' }, batchMode: 'time-interval', minBatchSize: 1, timePrecision: 60, taskInfo: '', collectorAuthToken: 'x'.repeat(16), collectorHpkeConfig: '' };
    writeFileSync(join(dir, 'c.json'), JSON.stringify(params));
    const r = await cobble('collect', '--params', join(dir, 'c.json'), '--start', 'yesterday');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--start yesterday: write epoch seconds .* or RFC 3339/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
