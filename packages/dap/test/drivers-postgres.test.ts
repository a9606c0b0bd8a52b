// The leader split into processes on PostgreSQL, as Janus runs it: `cobble dap run report-writer`, `job-creator`,
// two `aggregation-driver`s, a `collection-driver` and `gc` against one database, a `cobble dap serve` helper. Each
// kind is SIGKILLed while it has work in hand and restarted; the collected aggregate must be exact and the garbage
// collector must finish its backlog without touching live data. Leases: concurrent acquirers on PostgreSQL
// (FOR UPDATE SKIP LOCKED) never take the same job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DapClient, DapCollector, DapStore, newTask, taskToJson, type ClientParams, type CollectorParams } from '../src/index.js';
import { cobbleBin, freePort, runDapDriver, serveDap } from './support/processes.js';
import { createDatabases } from './support/postgres.js';

// Generous start-up and wait limits: seven processes share two cores with the rest of the test run.
const start = (kind: string, config: string) => runDapDriver(kind, config, { timeoutMs: 120_000 });

function kill9(child: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Polls `probe` every few ms until it is true; false after `ms`. */
async function until(probe: () => Promise<boolean>, ms: number, everyMs = 2): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

test('PostgreSQL: concurrent lease takers never share a job (FOR UPDATE SKIP LOCKED)', async (t) => {
  const d = await createDatabases(['leases']);
  if (!d) return t.skip('PostgreSQL unavailable');
  const stores = await Promise.all(Array.from({ length: 4 }, () => DapStore.open({ postgres: d.urls[0] })));
  try {
    const now = Date.now();
    const jobs = Array.from({ length: 120 }, () => randomBytes(16));
    await stores[0].transaction(async (trx) => {
      for (const id of jobs) {
        await stores[0].insertAggregationJob(trx, { task_id: 'T', job_id: id, state: 'active', batch_id: null, min_time: 0, max_time: 0, report_count: 1, lease_expiry: 0, created_at: now, updated_at: now });
      }
    });
    const taken: string[][] = stores.flatMap(() => [[], []]);
    // Eight takers on four connection pools, each grabbing 3 jobs at a time until none is left.
    await Promise.all(taken.map(async (mine, i) => {
      for (;;) {
        const got = await stores[i % 4].acquire('aggregation_jobs', 3, 60_000, `taker-${i}`, Date.now());
        if (!got.length) return;
        mine.push(...got.map((j) => j.job_id.toString('hex')));
      }
    }));
    const all = taken.flat();
    assert.equal(new Set(all).size, all.length, 'no job was leased twice');
    assert.equal(all.length, jobs.length, 'every job was leased');
    assert.ok(taken.filter((m) => m.length).length > 1, `several takers got work (${taken.map((m) => m.length)})`);
    // A lease that has not expired keeps the job from everyone; one that has, frees it.
    assert.deepEqual(await stores[1].acquire('aggregation_jobs', 5, 60_000, 'late', Date.now()), []);
    assert.equal((await stores[1].acquire('aggregation_jobs', 200, 60_000, 'later', Date.now() + 120_000)).length, jobs.length);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await d.drop();
  }
});

test('PostgreSQL: report writer, job creator, aggregation and collection drivers and GC as processes, each SIGKILLed mid-job and restarted: exact aggregate', { timeout: 600_000 }, async (t) => {
  const d = await createDatabases(['drvleader', 'drvhelper']);
  if (!d) return t.skip('PostgreSQL unavailable');
  const dir = mkdtempSync(join(tmpdir(), 'cobble-dap-drivers-'));
  const ports = { leader: await freePort(), helper: await freePort() };
  const token = 'provisioning-token-for-tests-only';
  for (const [role, url] of [['leader', d.urls[0]], ['helper', d.urls[1]]] as const) {
    writeFileSync(join(dir, `${role}.yaml`), [
      `role: ${role}`,
      `listen: { host: 127.0.0.1, port: ${ports[role]} }`,
      `storage: { postgres: "${url}" }`,
      `adminToken: ${token}`,
      'tunables: { maxJobSize: 25, drivers: 2, leaseMs: 1500, jobCreatorIntervalMs: 30, maxJobDelayMs: 30, pollIdleMs: 20, retryBaseMs: 100, retryMaxMs: 400, gcIntervalMs: 50, gcBatchLimit: 500, gcMaxRounds: 2 }',
      'keyRotation: { checkIntervalSeconds: 0 }',
      '',
    ].join('\n'));
  }
  const leaderYaml = join(dir, 'leader.yaml');
  const procs: Record<string, ChildProcess | undefined> = {};
  const db = new pg.Client({ connectionString: d.urls[0] });
  const pidOf = (c: ChildProcess | undefined) => String(c?.pid);
  const killed: string[] = [];
  try {
    procs.helper = await serveDap(join(dir, 'helper.yaml'), { timeoutMs: 120_000 });
    procs.writer = await start('report-writer', leaderYaml);
    procs.collector = await start('collection-driver', leaderYaml);
    await db.connect();
    const leaderUrl = `http://127.0.0.1:${ports.leader}/`;
    const helperUrl = `http://127.0.0.1:${ports.helper}/`;
    const created = spawnSync(process.execPath, [cobbleBin, 'dap', 'task', 'create', '--version', 'dap-18', '--vdaf', 'histogram:32:6', '--min-batch-size', '1500',
      '--time-precision', '600', '--leader', leaderUrl, '--helper', helperUrl, '--leader-admin', leaderUrl, '--helper-admin', helperUrl, '--admin-token', token, '--out', dir], { encoding: 'utf8' });
    assert.equal(created.status, 0, created.stderr);
    const params = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.client.json'))!), 'utf8')) as ClientParams;
    const collectorParams = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.collector.json'))!), 'utf8')) as CollectorParams;
    const count = async (q: string) => Number((await db.query(q)).rows[0].n);

    // 1. Report writer: killed while uploads are arriving; the client re-sends what was not acknowledged.
    const values = Array.from({ length: 1500 }, (_, i) => (i * 11) % 32);
    const expected = Array.from({ length: 32 }, (_, b) => values.filter((v) => v === b).length);
    const client = new DapClient(params);
    // Reports of the last interval that has ended: the leader holds a collection until its interval ends.
    const now = Math.floor(Date.now() / 1000);
    const interval = { start: now - (now % 600) - 600, duration: 600 };
    const reports = await Promise.all(values.map((v) => client.prepareReport(v, interval.start)));
    const up = client.uploadReports(reports, { concurrency: 4, batchSize: 25 }).then((v) => v, () => undefined);
    assert.ok(await until(async () => (await count('select count(*) n from client_reports')) >= 300, 90_000, 5), 'uploads arrived');
    await kill9(procs.writer);
    killed.push('report-writer');
    const stored = await count('select count(*) n from client_reports');
    assert.ok(stored < 1500, `killed mid-upload (${stored} of 1500 stored)`);
    await up;
    procs.writer = await start('report-writer', leaderYaml);
    const again = await client.uploadReports(reports, { concurrency: 4, batchSize: 100 });
    assert.equal(again.uploaded + again.rejected.filter((r) => r.error === 'report_replayed' || r.error === 'reportRejected').length, 1500);
    assert.equal(await count('select count(*) n from client_reports'), 1500);

    // 2. Job creator: killed once it has made jobs and reports are still waiting for one.
    procs.creator = await start('job-creator', leaderYaml);
    assert.ok(await until(async () => (await count('select count(*) n from aggregation_jobs')) > 0, 90_000, 1), 'jobs created');
    const waiting = await count('select count(*) n from client_reports where state = 0');
    await kill9(procs.creator);
    killed.push('job-creator');
    assert.ok(waiting > 0, 'killed with reports still waiting for a job');
    procs.creator = await start('job-creator', leaderYaml);

    // 3. The collection starts now, while nothing is aggregated yet: its driver keeps taking and releasing it.
    const collection = new DapCollector(collectorParams).collect({ interval }, { timeoutMs: 400_000, pollMs: 200 });
    collection.catch(() => undefined);
    const leasedBy = (table: string, c: ChildProcess | undefined) => async () =>
      (await count(`select count(*) n from ${table} where lease_token like '${pidOf(c)}-%' and lease_expiry > ${Date.now()}`)) > 0;
    assert.ok(await until(leasedBy('collection_jobs', procs.collector), 90_000, 1), 'the collection driver took the collection job');
    await kill9(procs.collector);
    killed.push('collection-driver');

    // 4. Aggregation drivers: the first is killed while it holds the lease of a running job.
    procs.agg1 = await start('aggregation-driver', leaderYaml);
    procs.agg2 = await start('aggregation-driver', leaderYaml);
    assert.ok(await until(leasedBy('aggregation_jobs', procs.agg1), 90_000, 1), 'the first aggregation driver holds a job');
    const victim = pidOf(procs.agg1);
    await kill9(procs.agg1);
    killed.push('aggregation-driver');
    const orphaned = await count(`select count(*) n from aggregation_jobs where state = 'active' and lease_token like '${victim}-%'`);
    assert.ok(orphaned > 0, 'a job was left leased by the killed driver');
    procs.agg1 = await start('aggregation-driver', leaderYaml);
    procs.collector = await start('collection-driver', leaderYaml);

    const r = await collection;
    assert.equal(r.reportCount, 1500);
    assert.deepEqual(r.aggregate, expected);
    // Every report went into exactly one job, and every job was finished once.
    assert.equal(await count("select count(*) n from client_reports where state = 1"), 1500);
    assert.equal(await count("select coalesce(sum(report_count), 0) n from aggregation_jobs where state = 'finished'"), 1500);
    assert.equal(await count("select count(*) n from aggregation_jobs where state <> 'finished'"), 0);

    // 5. Garbage collector: a task whose reports expire after 60 s holds 30000 two-hour-old rows; the GC process
    // is killed while it deletes them in rounds of 500, restarted, and finishes. The live task is not touched.
    const old = await newTask({ version: 'dap-18', leaderUrl, helperUrl, vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 600, reportExpiryAge: 60 });
    const res = await fetch(`${leaderUrl}admin/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(taskToJson(old.leader)) });
    assert.equal(res.status, 201, await res.text());
    const oldTime = Math.floor(Date.now() / 1000) - 7200;
    await db.query(`insert into client_reports (task_id, report_id, time, state, job_id, public_extensions, public_share, leader_share, helper_share, created_at)
      select $1, decode(lpad(to_hex(g), 32, '0'), 'hex'), $2, 2, null, '', '', '', '', $3 from generate_series(1, 30000) g`, [old.client.taskId, oldTime - (oldTime % 600), Date.now()]);
    const expired = () => count(`select count(*) n from client_reports where task_id = '${old.client.taskId}'`);
    procs.gc = await start('gc', leaderYaml);
    assert.ok(await until(async () => (await expired()) < 30000, 90_000, 1), 'the GC started deleting');
    await kill9(procs.gc);
    killed.push('gc');
    const left = await expired();
    assert.ok(left > 0 && left < 30000, `killed mid-backlog (${left} of 30000 left)`);
    procs.gc = await start('gc', leaderYaml);
    assert.ok(await until(async () => (await expired()) === 0, 120_000, 50), 'the restarted GC finished the backlog');
    assert.equal(await count(`select count(*) n from client_reports where task_id = '${params.taskId}'`), 1500, 'live reports untouched');
    assert.deepEqual(killed.sort(), ['aggregation-driver', 'collection-driver', 'gc', 'job-creator', 'report-writer']);
  } finally {
    await Promise.all(Object.values(procs).map(kill9));
    await db.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await d.drop();
  }
});
