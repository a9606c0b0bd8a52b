// `task update`: which fields may change in place (each aggregator's own policy, and DAP-09's expiration), refused
// changes that name the key and why, the provisioning API's PATCH, and `cobble dap task update` on both stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DapClient, DapStore, TaskError, applyTaskUpdate, newTask, startAggregator, taskFromJson, taskToJson } from '../src/index.js';
import { FAST } from './harness.js';
import { cobbleBin } from './support/processes.js';

/** The CLI as a child process, without blocking this process's event loop (it serves the aggregators the CLI calls). */
function cobble(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [cobbleBin, ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('applyTaskUpdate changes only the fields that are safe, and says why the others are not', async () => {
  const t09 = (await newTask({ version: 'dap-09', leaderUrl: 'http://l/', helperUrl: 'http://h/', vdaf: { type: 'Prio3Count' }, reportExpiryAge: 3600 })).leader;
  const t18 = (await newTask({ version: 'dap-18', leaderUrl: 'http://l/', helperUrl: 'http://h/', vdaf: { type: 'Prio3Count' } })).leader;
  const u = applyTaskUpdate(t09, { taskEnd: 2_000_000_000, reportExpiryAge: null, tolerableClockSkew: 60, collectionGraceSeconds: 120 });
  assert.deepEqual([u.taskEnd, u.reportExpiryAge, u.tolerableClockSkew, u.collectionGraceSeconds], [2_000_000_000, undefined, 60, 120]);
  assert.deepEqual(taskToJson(taskFromJson(taskToJson(u))), taskToJson(u), 'the updated task is a valid task');
  assert.deepEqual({ ...u, taskEnd: t09.taskEnd, reportExpiryAge: t09.reportExpiryAge, tolerableClockSkew: t09.tolerableClockSkew, collectionGraceSeconds: undefined }, t09, 'nothing else changed');
  assert.throws(() => applyTaskUpdate(t09, { minBatchSize: 1 }), (e: unknown) => e instanceof TaskError && /task\.minBatchSize: cannot be changed in place/.test((e as Error).message));
  assert.throws(() => applyTaskUpdate(t09, { vdafVerifyKey: 'AAAA' }), /task\.vdafVerifyKey: cannot be changed/);
  assert.throws(() => applyTaskUpdate(t18, { taskEnd: 2_000_000_000 }), /task\.taskEnd: on DAP-18 the task end is part of the TaskConfiguration/);
  assert.throws(() => applyTaskUpdate(t09, { reportExpiryAge: -5 }), /task\.reportExpiryAge/);
  assert.equal(applyTaskUpdate(t18, { reportExpiryAge: 7200 }).reportExpiryAge, 7200);
});

test('PATCH /admin/tasks/{id} through `cobble dap task update --*-admin`: an expired DAP-09 task refuses uploads; refused fields answer 400', async () => {
  const adminToken = 'admin-token-0123456789abcdef';
  const helper = await startAggregator({ role: 'helper', store: { sqlite: ':memory:' }, tunables: FAST, keyCheckIntervalMs: 0, adminToken });
  const leader = await startAggregator({ role: 'leader', store: { sqlite: ':memory:' }, tunables: FAST, keyCheckIntervalMs: 0, adminToken });
  try {
    const t = await newTask({ version: 'dap-09', leaderUrl: leader.url, helperUrl: helper.url, vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 60 });
    await leader.ctx.putTask(t.leader);
    await helper.ctx.putTask(t.helper);
    const client = new DapClient(t.client);
    assert.equal((await client.upload([1])).uploaded, 1);

    const now = Math.floor(Date.now() / 1000);
    const r = await cobble(['dap', 'task', 'update', t.client.taskId, '--expires', String(now - 60), '--report-expiry-age', '86400',
      '--leader-admin', leader.url, '--helper-admin', helper.url, '--admin-token', adminToken]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /updated on the helper and the leader: taskEnd = \d+, reportExpiryAge = 86400/);
    for (const agg of [leader, helper]) {
      const def = (await agg.ctx.task(t.client.taskId))!.def;
      assert.deepEqual([def.taskEnd, def.reportExpiryAge], [now - 60, 86400]);
    }
    const late = await client.upload([1]);
    assert.equal(late.uploaded, 0, 'the task has expired');
    assert.equal(late.rejected.length, 1);

    const patch = (body: unknown, id = t.client.taskId) => fetch(`${leader.url}admin/tasks/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify(body) });
    const refused = await patch({ minBatchSize: 1 });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { detail: string }).detail, /task\.minBatchSize: cannot be changed in place/);
    assert.equal((await patch({ taskEnd: null })).status, 200);
    assert.equal((await leader.ctx.task(t.client.taskId))!.def.taskEnd, undefined);
    assert.equal((await patch({ taskEnd: null }, 'A'.repeat(43))).status, 404);
    const unauth = await fetch(`${leader.url}admin/tasks/${t.client.taskId}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(unauth.status, 401);
  } finally {
    await leader.close();
    await helper.close();
  }
});

test('`cobble dap task update` on the two stores: both change, or (refused) neither', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-task-update-'));
  try {
    const cfg = (role: string) => {
      const file = join(dir, `${role}.yaml`);
      writeFileSync(file, `role: ${role}\nstorage: { sqlite: ${join(dir, `${role}.sqlite`)} }\n`);
      return file;
    };
    const files = { leader: cfg('leader'), helper: cfg('helper') };
    const t = await newTask({ version: 'dap-18', leaderUrl: 'http://127.0.0.1:1/', helperUrl: 'http://127.0.0.1:2/', vdaf: { type: 'Prio3Count' } });
    for (const [role, def] of [['leader', t.leader], ['helper', t.helper]] as const) {
      const store = await DapStore.open({ sqlite: join(dir, `${role}.sqlite`) });
      await store.putTask({ taskId: t.client.taskId, role, version: 'dap-18', definition: JSON.stringify(taskToJson(def)), at: Date.now() });
      await store.close();
    }
    const run = (...args: string[]) => spawnSync(process.execPath, [cobbleBin, 'dap', 'task', 'update', t.client.taskId, ...args, '--leader-config', files.leader, '--helper-config', files.helper], { encoding: 'utf8' });
    const ok = run('--report-expiry-age', '600', '--collection-grace', '30');
    assert.equal(ok.status, 0, ok.stderr);
    const refused = run('--expires', '2030-01-01T00:00:00Z', '--report-expiry-age', '900');
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /task\.taskEnd: on DAP-18/);
    const nothing = run();
    assert.equal(nothing.status, 2);
    assert.match(nothing.stderr, /nothing to change/);
    for (const role of ['leader', 'helper']) {
      const store = await DapStore.open({ sqlite: join(dir, `${role}.sqlite`) });
      const def = taskFromJson(JSON.parse((await store.getTask(t.client.taskId))!.definition));
      await store.close();
      assert.deepEqual([def.reportExpiryAge, def.collectionGraceSeconds, def.taskEnd], [600, 30, undefined], `${role}: the first update only`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
