// Test mode's fault knobs with an unmodified lego (Debian 4.9) against startTestCa: lego retries through refused
// nonces, slow answers and delayed validations and gets its certificate; serverInternal answers, dropped connections
// and failed validations make it fail cleanly, naming the problem (lego retries badNonce only, so a serverInternal run is retried as a user would: run it
// again); the knobs are set by startTestCa's options and through the management API, and the CA counts what it did.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestCa, type TestCa } from '@cobble/ca/testing';
import { parseCaConfig } from '../src/config/index.js';
import { Faults } from '../src/testmode/faults.js';
import { describeRun, run } from './clients/common.js';

let ca: TestCa;
let dir: string;
let counter = 0;
const uniqueName = (label: string) => `${label}-${process.pid}-${++counter}.example.com`;
const OFF = { badNoncePercent: 0, serverInternalPercent: 0, connectionResetPercent: 0, responseDelayMs: 0, validationDelayMs: 0, validationFailPercent: 0, authorizationReusePercent: 100 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cobble-faults-'));
  // Seeded, so the same requests fail on every run.
  ca = await startTestCa({ faults: { badNoncePercent: 30, seed: 1 } });
});
after(async () => {
  await ca?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function lego(name: string) {
  const args = [
    '--server', ca.directoryUrl, '--path', join(dir, 'lego'), '--email', 'faults@example.com', '--accept-tos',
    '--domains', name, '--http', '--http.port', `127.0.0.1:${ca.http01Port}`, 'run',
  ];
  return run('lego', args, { LEGO_CA_CERTIFICATES: ca.caBundlePath }, 90_000);
}

async function assertCertificate(name: string): Promise<void> {
  const leaf = new X509Certificate(await readFile(join(dir, 'lego', 'certificates', `${name}.crt`), 'utf8'));
  assert.equal(leaf.subjectAltName, `DNS:${name}`);
}

test('badNoncePercent: lego retries through refused nonces and gets its certificate', async () => {
  assert.deepEqual(await ca.management.faults(), { ...OFF, badNoncePercent: 30, seed: 1 });
  const name = uniqueName('bad-nonce');
  const result = await lego(name);
  assert.equal(result.code, 0, describeRun('lego run', result));
  await assertCertificate(name);
  const injected = await ca.management.injectedFaults();
  assert.ok(injected.badNonce > 0, `the CA refused no nonce: ${JSON.stringify(injected)}`);
});

test('serverInternalPercent: lego fails cleanly on the refused request, and a second run succeeds once the knob is off', async () => {
  await ca.management.setFaults({ serverInternalPercent: 100 });
  const before = await ca.management.injectedFaults();
  const name = uniqueName('server-internal');
  const failed = await lego(name);
  assert.notEqual(failed.code, 0, describeRun('lego run', failed));
  assert.match(failed.output, /urn:ietf:params:acme:error:serverInternal/, describeRun('lego run', failed));
  assert.doesNotMatch(failed.output, /panic|goroutine/, describeRun('lego run', failed));
  const after = await ca.management.injectedFaults();
  assert.ok(after.serverInternal > before.serverInternal, JSON.stringify(after));

  await ca.management.setFaults({});
  const retried = await lego(name);
  assert.equal(retried.code, 0, describeRun('second lego run', retried));
  await assertCertificate(name);
});

test('connectionResetPercent 100: lego fails cleanly on the first dropped request, after the directory and newNonce answered', async () => {
  await ca.management.setFaults({ connectionResetPercent: 100 });
  const before = (await ca.management.injectedFaults()).connectionReset;
  const result = await lego(uniqueName('connection-reset'));
  assert.notEqual(result.code, 0, describeRun('lego run', result));
  // The new-order URL came from the directory, and the POST carried a nonce: both start-up requests were answered.
  assert.match(result.output, /Post "https:\/\/127\.0\.0\.1:\d+\/acme\/new-order": EOF/, describeRun('lego run', result));
  assert.doesNotMatch(result.output, /panic|goroutine/, describeRun('lego run', result));
  assert.ok((await ca.management.injectedFaults()).connectionReset > before);
  await ca.management.setFaults({});
});

test('responseDelayMs: lego gets its certificate from a CA that answers slowly', async () => {
  await ca.management.setFaults({ responseDelayMs: 200 });
  const before = (await ca.management.injectedFaults()).responseDelayed;
  const name = uniqueName('slow');
  const result = await lego(name);
  assert.equal(result.code, 0, describeRun('lego run', result));
  await assertCertificate(name);
  // lego's requests: at least the directory, a nonce, the order, authz, challenge, finalize and the certificate.
  assert.ok((await ca.management.injectedFaults()).responseDelayed - before >= 7);
});

test('validationFailPercent 100: lego fails cleanly with incorrectResponse and no certificate', async () => {
  await ca.management.setFaults({ validationFailPercent: 100 });
  const name = uniqueName('validation-fail');
  const result = await lego(name);
  assert.notEqual(result.code, 0, describeRun('lego run', result));
  assert.match(result.output, /urn:ietf:params:acme:error:incorrectResponse :: .*validationFailPercent/, describeRun('lego run', result));
  await assert.rejects(readFile(join(dir, 'lego', 'certificates', `${name}.crt`)));
  assert.ok((await ca.management.injectedFaults()).validationFailed > 0);
});

test('validationDelayMs: lego polls through a slow validation and gets its certificate', async () => {
  await ca.management.setFaults({ validationDelayMs: 1500 });
  const before = (await ca.management.injectedFaults()).validationDelayed;
  const name = uniqueName('validation-delay');
  const result = await lego(name);
  assert.equal(result.code, 0, describeRun('lego run', result));
  await assertCertificate(name);
  assert.equal((await ca.management.injectedFaults()).validationDelayed, before + 1);
});

test('authorizationReusePercent 0: lego validates the same name again; at 100 (the default) it finds the authorization valid', async () => {
  const name = uniqueName('reuse');
  await ca.management.setFaults({ authorizationReusePercent: 0 });
  const first = await lego(name);
  assert.equal(first.code, 0, describeRun('lego run', first));
  const before = (await ca.management.injectedFaults()).authorizationNotReused;
  const again = await lego(name);
  assert.equal(again.code, 0, describeRun('lego run again', again));
  assert.match(again.output, /Trying to solve HTTP-01/, 'a fresh authorization to validate');
  assert.equal((await ca.management.injectedFaults()).authorizationNotReused, before + 1);
  await ca.management.setFaults({});
  const reused = await lego(name);
  assert.equal(reused.code, 0, describeRun('lego run with re-use', reused));
  assert.match(reused.output, /authorization already valid; skipping challenge/);
});

test('the management API sets the knobs, reads them back, and refuses bad values without changing them', async () => {
  const set = await ca.management.setFaults({ badNoncePercent: 12.5, validationDelayMs: 10, seed: 7 });
  const expected = { ...OFF, badNoncePercent: 12.5, validationDelayMs: 10, seed: 7 };
  assert.deepEqual(set, expected);
  assert.deepEqual(await ca.management.faults(), expected);
  await assert.rejects(ca.management.setFaults({ badNoncePercent: 101 }), /400 .*badNoncePercent/);
  await assert.rejects(ca.management.setFaults({ nonceReject: 5 } as never), /400 .*nonceReject/);
  assert.deepEqual(await ca.management.faults(), expected);
  await ca.management.setFaults({});
  assert.deepEqual(await ca.management.faults(), OFF);
});

test('the same seed injects the same faults; 0 % never and 100 % always', () => {
  const draws = (faults: Faults) => Array.from({ length: 200 }, () => faults.rejectNonce());
  const first = draws(new Faults({ badNoncePercent: 30, seed: 42 }));
  assert.deepEqual(draws(new Faults({ badNoncePercent: 30, seed: 42 })), first);
  assert.notDeepEqual(draws(new Faults({ badNoncePercent: 30, seed: 43 })), first);
  const refused = first.filter(Boolean).length;
  assert.ok(refused > 30 && refused < 90, `30 % of 200 draws refused ${refused}`);
  assert.ok(draws(new Faults({ seed: 1 })).every((r) => !r));
  assert.ok(draws(new Faults({ badNoncePercent: 100, seed: 1 })).every(Boolean));
});

test('testMode.faults is strict configuration: off by default, bad percentages and unknown keys named', () => {
  assert.deepEqual(parseCaConfig({}).testMode.faults, OFF);
  assert.throws(() => parseCaConfig({ testMode: { faults: { serverInternalPercent: -1 } } }), /testMode\.faults\.serverInternalPercent/);
  assert.throws(() => parseCaConfig({ testMode: { faults: { slowMs: 5 } } }), /slowMs/);
});
