// DAP end to end: reports per second from the first upload to the collected aggregate, with a `cobble dap serve`
// leader and helper as separate processes on this machine (SQLite, one file each), and on PostgreSQL with the
// leader split into `cobble dap run` processes (report writer, job creator, aggregation drivers, collection
// driver) as Janus runs it. Reports are generated before the clock starts (client cost is not part of the figure).
// Also: HPKE open per report, ours vs @hpke/core; and garbage collection of --gc-reports expired reports (stored
// as aggregated reports are, shares scrubbed) by a `cobble dap run gc` process, with its memory sampled.
// Usage: npm run bench -- dap [--count N] [--histogram N] [--quick] [--job-size N] [--drivers N] [--agg-procs N]
//        [--only sqlite|postgres|gc] [--gc-reports N]
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import pg from 'pg';
import { DapClient, DapCollector, DapStore, newTask, taskToJson, type ClientParams, type DapVersion, type VdafConfig } from '@cobble/dap';
import { HpkeRecipient, generateKeyPair, seal } from '../../packages/dap/src/hpke/index.js';
import { freePort, runDapDriver, serveDap } from '../../packages/dap/test/support/processes.js';
import { createDatabases } from '../../packages/dap/test/support/postgres.js';
import { paramsCodec, paramsVdaf, paramsWireContext } from '../../packages/dap/src/params.js';
import type { HpkeConfig, Report } from '../../packages/dap/src/messages/index.js';

const { values: args } = parseArgs({
  options: { count: { type: 'string' }, histogram: { type: 'string' }, quick: { type: 'boolean' }, 'job-size': { type: 'string' }, drivers: { type: 'string' }, 'agg-procs': { type: 'string' }, only: { type: 'string' }, 'gc-reports': { type: 'string' } },
});
const jobSize = Number(args['job-size'] ?? 2000);
// Watchdog: names the stage if one stalls, so a hang shows where it is instead of going silent.
let stage = { name: 'start', at: Date.now() };
const setStage = (name: string) => (stage = { name, at: Date.now() });
setInterval(() => {
  if (Date.now() - stage.at > 30_000) console.error(`  (still in stage '${stage.name}' after ${Math.round((Date.now() - stage.at) / 1000)} s)`);
}, 10_000).unref();
const drivers = Number(args.drivers ?? 3);
const aggProcs = Number(args['agg-procs'] ?? 2);
const ADMIN = 'bench-provisioning-token-0001';

const profArgs = process.env.BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`] : [];
function serve(config: string): Promise<ChildProcess> {
  return serveDap(config, { execArgv: profArgs });
}

async function hpkeConfigs(p: ClientParams): Promise<[HpkeConfig, HpkeConfig]> {
  return new DapClient(p).hpkeConfigs();
}

/** Report generation with the node:crypto sealer (only to prepare input quickly; not timed). `time` in seconds. */
function makeReports(p: ClientParams, configs: [HpkeConfig, HpkeConfig], measurements: unknown[], time: number): Report[] {
  const codec = paramsCodec(p);
  const ctx = paramsWireContext(p);
  const vdaf = paramsVdaf(p);
  const vctx = codec.vdafContext(ctx.taskId);
  return measurements.map((m) => {
    const reportId = crypto.getRandomValues(new Uint8Array(16));
    const { publicShare, inputShares } = vdaf.shard(m, reportId, crypto.getRandomValues(new Uint8Array(vdaf.randSize)), vctx);
    const metadata = { reportId, time: time - (time % p.timePrecision), publicExtensions: [] };
    const aad = codec.inputShareAad(ctx, metadata, publicShare);
    const enc = (c: HpkeConfig, role: 2 | 3, payload: Uint8Array) => {
      const s = seal(c.publicKey, codec.inputShareInfo(role), aad, codec.encodePlaintextInputShare({ extensions: [], payload }));
      return { configId: c.id, enc: s.enc, payload: s.ciphertext };
    };
    return { metadata, publicShare, leaderShare: enc(configs[0], 2, inputShares[0]), helperShare: enc(configs[1], 3, inputShares[1]) };
  });
}

interface Row {
  store: string;
  name: string;
  version: DapVersion;
  reports: number;
  uploadS: number;
  totalS: number;
  rate: number;
}

/** SQLite: `cobble dap serve` leader and helper. PostgreSQL: a helper and the leader as separate driver processes. */
async function run(store: 'sqlite' | 'postgres', name: string, version: DapVersion, vdaf: VdafConfig, measurements: unknown[], expected: unknown): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-bench-dap-'));
  const ports = { leader: await freePort(), helper: await freePort() };
  const pgdb = store === 'postgres' ? await createDatabases(['benchleader', 'benchhelper']) : undefined;
  if (store === 'postgres' && !pgdb) throw new Error('PostgreSQL is unreachable; run with --only sqlite');
  for (const role of ['leader', 'helper'] as const) {
    const storage = pgdb ? `storage: { postgres: "${pgdb.urls[role === 'leader' ? 0 : 1]}" }` : `storage: { sqlite: ${role}.sqlite }`;
    writeFileSync(join(dir, `${role}.yaml`), [
      `role: ${role}`, `listen: { host: 127.0.0.1, port: ${ports[role]} }`, storage, `adminToken: ${ADMIN}`,
      `tunables: { maxJobSize: ${jobSize}, minJobSize: ${Math.min(500, jobSize)}, maxJobDelayMs: 200, drivers: ${drivers}, jobCreatorIntervalMs: 50, uploadBatchRows: 2000, uploadBatchDelayMs: 10, leaseMs: 120000 }`,
      'keyRotation: { checkIntervalSeconds: 0 }', '',
    ].join('\n'));
  }
  const procs = [await serve(join(dir, 'helper.yaml'))];
  const names = ['helper'];
  if (store === 'sqlite') {
    procs.push(await serve(join(dir, 'leader.yaml')));
    names.push('leader');
  } else {
    const leaderYaml = join(dir, 'leader.yaml');
    for (const kind of ['report-writer', 'job-creator', ...Array.from({ length: aggProcs }, () => 'aggregation-driver'), 'collection-driver']) {
      procs.push(await runDapDriver(kind, leaderYaml, { execArgv: profArgs }));
      names.push(kind);
    }
  }
  const cpuAtStart = procs.map((p) => cpuSeconds(p.pid!));
  try {
    const leaderUrl = `http://127.0.0.1:${ports.leader}/`;
    const helperUrl = `http://127.0.0.1:${ports.helper}/`;
    const t = await newTask({ version, leaderUrl, helperUrl, vdaf, minBatchSize: measurements.length, timePrecision: 3600 });
    console.error(`  ${name} ${version}: task made`);
    setStage(`${name} ${version}: provisioning`);
    for (const [url, def] of [[leaderUrl, t.leader], [helperUrl, t.helper]] as const) {
      const res = await fetch(`${url}admin/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(taskToJson(def)) });
      if (!res.ok) throw new Error(`provisioning failed: ${await res.text()}`);
    }
    console.error(`  ${name} ${version}: task provisioned`);
    setStage(`${name} ${version}: fetching HPKE configs`);
    const configs = await hpkeConfigs(t.client);
    setStage(`${name} ${version}: generating reports`);
    console.error(`  ${name} ${version}: HPKE configs fetched`);
    // Reports of the last hour that has ended, and that hour collected: the leader holds a time-interval collection
    // until its interval ends, which would make the figure a wait for the clock.
    const now = Math.floor(Date.now() / 1000);
    const batch = { start: now - (now % 3600) - 3600, duration: 3600 };
    const reports = makeReports(t.client, configs, measurements, batch.start);
    console.error(`  ${name} ${version}: ${reports.length} reports generated, uploading`);
    const client = new DapClient(t.client);
    setStage(`${name} ${version}: uploading`);
    const t0 = performance.now();
    const up = await client.uploadReports(reports, { concurrency: 32, batchSize: 1000 });
    const t1 = performance.now();
    console.error(`  uploaded in ${((t1 - t0) / 1000).toFixed(2)} s, collecting`);
    if (up.uploaded !== reports.length) throw new Error(`only ${up.uploaded} uploaded: ${JSON.stringify(up.rejected.slice(0, 3))}`);
    setStage(`${name} ${version}: collecting`);
    const r = await new DapCollector(t.collector).collect({ interval: batch }, { timeoutMs: 600_000, pollMs: 100 });
    const t2 = performance.now();
    if (r.reportCount !== reports.length || JSON.stringify(r.aggregate) !== JSON.stringify(expected)) throw new Error(`wrong aggregate: ${JSON.stringify(r).slice(0, 200)}`);
    const totalS = (t2 - t0) / 1000;
    // Where the time went: CPU seconds each process spent from start-up to the collected aggregate.
    console.error(`  CPU s: ${procs.map((p, i) => `${names[i]} ${(cpuSeconds(p.pid!) - cpuAtStart[i]).toFixed(2)}`).join(', ')} (wall ${totalS.toFixed(2)})`);
    return { store: pgdb ? `PostgreSQL, leader as ${3 + aggProcs} processes` : 'SQLite, one leader process', name, version, reports: reports.length, uploadS: (t1 - t0) / 1000, totalS, rate: reports.length / totalS };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(dir, { recursive: true, force: true });
    await pgdb?.drop();
  }
}

/** User + system CPU seconds of a process so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident and peak memory of a process, from /proc (kB). */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

interface GcRow {
  reports: number;
  storeS: number;
  gcS: number;
  rssStartMb: number;
  rssPeakMb: number;
}

/** Stores `n` expired reports of one task in PostgreSQL, then times `cobble dap run gc` deleting them all. */
async function gcBench(n: number): Promise<GcRow> {
  const pgdb = await createDatabases(['benchgc']);
  if (!pgdb) throw new Error('PostgreSQL is unreachable; run with --only sqlite');
  const dir = mkdtempSync(join(tmpdir(), 'cobble-bench-dapgc-'));
  const store = await DapStore.open({ postgres: pgdb.urls[0] });
  const db = new pg.Client({ connectionString: pgdb.urls[0] });
  let gc: ChildProcess | undefined;
  try {
    const t = await newTask({ version: 'dap-18', leaderUrl: 'http://127.0.0.1:1/', helperUrl: 'http://127.0.0.1:2/', vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 3600, reportExpiryAge: 3600 });
    await store.putTask({ taskId: t.client.taskId, role: 'leader', version: 'dap-18', definition: JSON.stringify(taskToJson(t.leader)), at: Date.now() });
    await db.connect();
    const old = Math.floor(Date.now() / 1000) - 7200;
    setStage(`gc: storing ${n} reports`);
    const s0 = performance.now();
    // Aggregated reports as the leader keeps them (state 1, shares scrubbed), spread over hourly buckets.
    for (let i = 0; i < n; i += 100_000) {
      await db.query(`insert into client_reports (task_id, report_id, time, state, job_id, public_extensions, public_share, leader_share, helper_share, created_at)
        select $1, decode(lpad(to_hex(g), 32, '0'), 'hex'), $2 - (g % 24) * 3600, 1, decode(lpad(to_hex(g / 1000), 32, '0'), 'hex'), '', '', '', '', $3
        from generate_series($4::bigint, $5::bigint) g`, [t.client.taskId, old - (old % 3600), Date.now(), i + 1, Math.min(n, i + 100_000)]);
    }
    // Statistics as autovacuum would have them for a table that grew over time; without them PostgreSQL plans the
    // GC's deletes by key as sequential scans of the fresh million rows.
    await db.query('analyze client_reports');
    const storeS = (performance.now() - s0) / 1000;
    console.error(`  gc: ${n} reports stored in ${storeS.toFixed(1)} s`);
    writeFileSync(join(dir, 'leader.yaml'), ['role: leader', `storage: { postgres: "${pgdb.urls[0]}" }`, 'tunables: { gcIntervalMs: 100, gcBatchLimit: 5000, gcMaxRounds: 20 }', 'keyRotation: { checkIntervalSeconds: 0 }', ''].join('\n'));
    setStage('gc: collecting garbage');
    const g0 = performance.now();
    gc = await runDapDriver('gc', join(dir, 'leader.yaml'));
    const rssStart = memoryOf(gc.pid!).rss;
    let left = n;
    while (left > 0) {
      await new Promise((r) => setTimeout(r, 250));
      left = Number((await db.query('select count(*) n from client_reports')).rows[0].n);
    }
    const gcS = (performance.now() - g0) / 1000;
    const mem = memoryOf(gc.pid!);
    return { reports: n, storeS, gcS, rssStartMb: rssStart / 1024, rssPeakMb: mem.hwm / 1024 };
  } finally {
    gc?.kill('SIGTERM');
    await db.end().catch(() => undefined);
    await store.close();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
    await pgdb.drop();
  }
}

async function hpkeOpenBench(n: number): Promise<{ ours: number; peer: number }> {
  const kp = generateKeyPair();
  const info = new TextEncoder().encode('dap-18 input share\x01\x02');
  const aad = new Uint8Array(200).fill(7);
  const pt = new Uint8Array(60).fill(1); // a Prio3Count leader input share with its framing
  const cts = Array.from({ length: n }, () => seal(kp.publicKey, info, aad, pt));
  const ours = new HpkeRecipient(kp.privateKey);
  let t = performance.now();
  for (const c of cts) ours.open(c.enc, info, aad, c.ciphertext);
  const oursUs = ((performance.now() - t) * 1000) / n;
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  const sk = await suite.kem.deserializePrivateKey(kp.privateKey.slice().buffer);
  t = performance.now();
  for (const c of cts) {
    const ctx = await suite.createRecipientContext({ recipientKey: sk, enc: c.enc.slice().buffer, info: info.slice().buffer });
    await ctx.open(c.ciphertext.slice().buffer, aad.slice().buffer);
  }
  const peerUs = ((performance.now() - t) * 1000) / n;
  return { ours: oursUs, peer: peerUs };
}

const quick = args.quick ?? false;
const nCount = Number(args.count ?? (quick ? 4000 : 20000));
const nHist = Number(args.histogram ?? (quick ? 500 : 3000));
console.log(`DAP end-to-end bench on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), Node ${process.version}`);
const hp = await hpkeOpenBench(quick ? 500 : 3000);
console.log(`HPKE open (X25519/HKDF-SHA256/AES-128-GCM): cobble ${hp.ours.toFixed(1)} µs, @hpke/core ${hp.peer.toFixed(1)} µs, ratio ${(hp.peer / hp.ours).toFixed(1)}x faster`);
const rows: Row[] = [];
const count = (n: number) => Array.from({ length: n }, (_, i) => i % 3 !== 0);
const countSum = (n: number) => count(n).filter(Boolean).length;
const hist = Array.from({ length: nHist }, (_, i) => (i * 37) % 100);
const histExpected = Array.from({ length: 100 }, (_, b) => hist.filter((v) => v === b).length);
for (const store of ['sqlite', 'postgres'] as const) {
  if (args.only && args.only !== store) continue;
  rows.push(await run(store, 'Prio3Count', 'dap-18', { type: 'Prio3Count' }, count(nCount), countSum(nCount)));
  rows.push(await run(store, 'Prio3Count', 'dap-09', { type: 'Prio3Count' }, count(Math.min(nCount, quick ? 2000 : 10000)), countSum(Math.min(nCount, quick ? 2000 : 10000))));
  rows.push(await run(store, 'Prio3Histogram(100)', 'dap-18', { type: 'Prio3Histogram', length: 100, chunkLength: 10 }, hist, histExpected));
}
console.log('\n| storage | VDAF | DAP | reports | upload (s) | upload → collected (s) | reports/s end to end |');
console.log('|---|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.store} | ${r.name} | ${r.version} | ${r.reports} | ${r.uploadS.toFixed(2)} | ${r.totalS.toFixed(2)} | ${Math.round(r.rate)} |`);
const gcRows: GcRow[] = [];
if (!args.only || args.only === 'gc') gcRows.push(await gcBench(Number(args['gc-reports'] ?? (quick ? 100_000 : 1_000_000))));
if (gcRows.length) {
  console.log('\n| expired reports | stored in (s) | GC process deleted them in (s) | deleted/s | GC RSS at start (MB) | GC peak RSS (MB) |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const g of gcRows) console.log(`| ${g.reports} | ${g.storeS.toFixed(1)} | ${g.gcS.toFixed(1)} | ${Math.round(g.reports / g.gcS)} | ${g.rssStartMb.toFixed(0)} | ${g.rssPeakMb.toFixed(0)} |`);
}
console.log(`\n| HPKE open per report | cobble (node:crypto) | @hpke/core | ratio |\n|---|---:|---:|---:|\n| X25519 / HKDF-SHA256 / AES-128-GCM | ${hp.ours.toFixed(1)} µs | ${hp.peer.toFixed(1)} µs | ${(hp.peer / hp.ours).toFixed(1)}× faster |`);
