import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DapClient, DapCollector, startDapDemo, startAggregator, loadDapConfigFile, ConfigError } from '../src/index.js';

const cobble = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));

test('startDapDemo brings up a leader, a helper and a task that our client and collector can use', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-dap-demo-'));
  const demo = await startDapDemo({ dataDir: dir });
  try {
    assert.match(demo.printInstructions(), /dap upload --params .*demo-client\.json/);
    assert.match(demo.printInstructions(), /dap collect --params .*demo-collector\.json/);
    // Into the last minute that has ended (the demo task's precision): the leader holds a collection until its
    // interval ends.
    const now = Math.floor(Date.now() / 1000);
    const interval = { start: now - (now % 60) - 60, duration: 60 };
    // Asynchronous spawn: the servers run in this process and must keep answering.
    const up = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [cobble, 'dap', 'upload', '--params', demo.clientParamsFile, '--time', String(interval.start), ...Array.from({ length: 12 }, (_, i) => String(i % 2))]);
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, /uploaded 12 report/);
    const { readFileSync } = await import('node:fs');
    const collector = new DapCollector(JSON.parse(readFileSync(demo.collectorParamsFile, 'utf8')));
    const r = await collector.collect({ interval }, { timeoutMs: 20000 });
    assert.equal(r.reportCount, 12);
    assert.equal(r.aggregate, 6);
    void DapClient;
  } finally {
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors name the file, the key and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-dap-cfg-'));
  try {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'role: leader\nlisten: { port: "eighty" }\n');
    assert.throws(() => loadDapConfigFile(f), (e: unknown) => e instanceof ConfigError && e.message.includes(f) && e.message.includes("'listen.port'") && /Fix/.test(e.message));
    writeFileSync(f, 'listen: { port: 0 }\n');
    assert.throws(() => loadDapConfigFile(f), /key 'role'.*set role: leader or role: helper/);
    const cli = spawnSync(process.execPath, [cobble, 'dap', 'serve', '--config', join(dir, 'missing.yaml')], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /missing\.yaml: cannot read the config file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the provisioning API requires its bearer token and validates tasks', async () => {
  const agg = await startAggregator({ role: 'helper', store: { sqlite: ':memory:' }, adminToken: 'admin-token-0123456789', keyCheckIntervalMs: 0 });
  try {
    const noAuth = await fetch(`${agg.url}admin/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noAuth.status, 401);
    const bad = await fetch(`${agg.url}admin/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer admin-token-0123456789' }, body: JSON.stringify({ taskId: 'x' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { detail: string }).detail, /^task\./);
    const keys = await fetch(`${agg.url}admin/hpke_keys`, { headers: { authorization: 'Bearer admin-token-0123456789' } });
    assert.equal(((await keys.json()) as { keys: { state: string }[] }).keys[0].state, 'active');
  } finally {
    await agg.close();
  }
});
