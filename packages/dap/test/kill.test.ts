// Crash safety with real processes: `cobble dap serve` leader and helper, a task made with `cobble dap task
// create` through the provisioning API, SIGKILL of one aggregator while aggregation jobs are running, restart,
// then `cobble dap collect` must print the exact aggregate (nothing lost, nothing counted twice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DapClient, type ClientParams } from '../src/index.js';
import { cobbleBin, freePort, serveDap } from './support/processes.js';

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function scenario(victim: 'leader' | 'helper', version: 'dap-09' | 'dap-18'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `cobble-dap-kill-${victim}-`));
  const ports = { leader: await freePort(), helper: await freePort() };
  const token = 'provisioning-token-for-tests-only';
  for (const role of ['leader', 'helper'] as const) {
    writeFileSync(join(dir, `${role}.yaml`), [
      `role: ${role}`,
      `listen: { host: 127.0.0.1, port: ${ports[role]} }`,
      `storage: { sqlite: ${role}.sqlite }`,
      `adminToken: ${token}`,
      'tunables: { maxJobSize: 20, drivers: 2, leaseMs: 1500, jobCreatorIntervalMs: 30, maxJobDelayMs: 30, pollIdleMs: 20, retryBaseMs: 100, retryMaxMs: 400 }',
      'keyRotation: { checkIntervalSeconds: 0 }',
      '',
    ].join('\n'));
  }
  const procs: Record<string, ChildProcess> = {};
  try {
    procs.helper = await serveDap(join(dir, 'helper.yaml'));
    procs.leader = await serveDap(join(dir, 'leader.yaml'));
    const leaderUrl = `http://127.0.0.1:${ports.leader}/`;
    const helperUrl = `http://127.0.0.1:${ports.helper}/`;
    const created = spawnSync(process.execPath, [cobbleBin, 'dap', 'task', 'create', '--version', version, '--vdaf', 'histogram:16:4', '--min-batch-size', '600',
      '--time-precision', '300', '--leader', leaderUrl, '--helper', helperUrl, '--leader-admin', leaderUrl, '--helper-admin', helperUrl, '--admin-token', token, '--out', dir], { encoding: 'utf8' });
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /client parameters/);
    const clientFile = readdirSync(dir).find((f) => f.endsWith('.client.json'))!;
    const params = JSON.parse(readFileSync(join(dir, clientFile), 'utf8')) as ClientParams;

    const values = Array.from({ length: 600 }, (_, i) => (i * 7) % 16);
    const expected = Array.from({ length: 16 }, (_, b) => values.filter((v) => v === b).length);
    const client = new DapClient(params);
    // Reports of the last interval that has ended: the leader holds a collection until its interval ends.
    const now = Math.floor(Date.now() / 1000);
    const start = now - (now % 300) - 300;
    const reports = await Promise.all(values.map((v) => client.prepareReport(v, start)));
    const db = new BetterSqlite3(join(dir, 'leader.sqlite'), { readonly: true, fileMustExist: true });
    // Settled at once so a failure while the leader is dead is not an unhandled rejection.
    const up = client.uploadReports(reports, { concurrency: 8, batchSize: 50 }).then((v) => v, () => undefined);
    let seen = { active: 0, finished: 0 };
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      const rows = db.prepare("select state, count(*) n from aggregation_jobs group by state").all() as { state: string; n: number }[];
      seen = { active: rows.find((r) => r.state === 'active')?.n ?? 0, finished: rows.find((r) => r.state === 'finished')?.n ?? 0 };
      if (seen.finished >= 2 && seen.active >= 1) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await kill9(procs[victim]);
    db.close();
    assert.ok(seen.finished >= 2 && seen.active >= 1, `killed mid-aggregation (jobs: ${JSON.stringify(seen)})`);
    if (victim === 'helper') {
      procs.helper = await serveDap(join(dir, 'helper.yaml'));
      assert.equal((await up)?.uploaded, 600);
    } else {
      // Uploads in flight to the dead leader fail; the client retries the ones not acknowledged.
      const done = await up;
      procs.leader = await serveDap(join(dir, 'leader.yaml'));
      if (!done) {
        const retry = await client.uploadReports(reports, { concurrency: 8, batchSize: 50 });
        assert.equal(retry.uploaded + retry.rejected.filter((r) => r.error === 'report_replayed' || r.error === 'reportRejected').length, 600);
      }
    }
    const collectorFile = readdirSync(dir).find((f) => f.endsWith('.collector.json'))!;
    const collected = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [cobbleBin, 'dap', 'collect', '--params', join(dir, collectorFile), '--start', String(start), '--duration', '300', '--timeout', '60']);
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(collected.status, 0, collected.stderr);
    const result = JSON.parse(collected.stdout);
    assert.equal(result.reportCount, 600);
    assert.deepEqual(result.aggregate, expected);
  } finally {
    await Promise.all(Object.values(procs).map(kill9));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('leader SIGKILLed mid-aggregation and restarted: exact aggregate (DAP-09)', () => scenario('leader', 'dap-09'));
test('leader SIGKILLed mid-aggregation and restarted: exact aggregate (DAP-18)', () => scenario('leader', 'dap-18'));
test('helper SIGKILLed mid-aggregation and restarted: exact aggregate (DAP-18)', () => scenario('helper', 'dap-18'));
