// ACME issuance at scale (issue 11, scope 5): the whole flow against cobble on a database already holding --certs
// certificates (default 10,000,000, with their accounts, orders, authorizations, challenges and serials) and on an
// empty one, on SQLite and on MariaDB, and against Pebble, in the same run, at concurrency 8, 32 and 128. Reported per
// server and concurrency: issuances/s, p50/p99 of the whole flow, server CPU per issuance (/proc of the server
// process), and p50 of the requests other than finalize (Let's Encrypt's ~9 ms median API latency is the bar).
//
// Usage: npm run bench -- acme-scale [--certs N] [--databases sqlite,mariadb] [--concurrency 8,32,128] [--count N]
//                                    [--max-seconds S] [--warmup N] [--no-pebble] [--seed-only | --no-seed]
//                                    [--issuer-keys p384,rsa2048,p256] [--data DIR] [--write-docs]
// Seeding (packages/ca/src/sa/seed.ts) is resumable and cached outside git: the SQLite file and a progress file under
// --data (default $COBBLE_BENCH_DATA or ~/.cache/cobble-bench/acme-scale), on MariaDB the database cobble_bench_scale;
// a later run with a larger --certs continues where the last one stopped. --no-seed measures the databases as they are
// (the table names the count they hold). Servers, driver and Pebble setup are bench/acme-issuance's. --issuer-keys runs
// the cobble servers once per issuing key type (default p384, the development hierarchy): rsa2048 is Pebble's, for the
// server-CPU comparison with the same key type on both sides.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { StorageAuthority } from '../../packages/ca/src/sa/index.js';
import { seedCertificates } from '../../packages/ca/src/sa/seed.js';
import { startChallTestSrv } from '../../packages/ca/test/va/challtestsrv.js';
import { makeCsrs, parseIssuerKeys, phase, startChallengeResponder, startCobble, startPebble, stop, summarize, type IssuerKey, type PhaseResult, type Server } from '../acme-issuance/main.js';
import { sampling, stepSamples } from '../acme-issuance/driver.js';

type DatabaseKind = 'sqlite' | 'mariadb';

interface Options {
  certs: number;
  databases: DatabaseKind[];
  concurrency: number[];
  count: number;
  maxSeconds: number;
  warmup: number;
  pebble: boolean;
  seedOnly: boolean;
  noSeed: boolean;
  data: string;
  batch: number;
  issuerKeys: IssuerKey[];
  writeDocs: boolean;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const MARIADB_URL = process.env.COBBLE_BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/';
const CERTS_PER_ACCOUNT = 100;
/** The requests whose latency Let's Encrypt's ~9 ms median is about: everything but finalize (which signs). */
const NON_FINALIZE = ['newOrder', 'authorization', 'challenge', 'poll authorization', 'poll order', 'certificate'];

function parseArgs(argv: string[]): Options {
  const options: Options = {
    certs: 10_000_000, databases: ['sqlite', 'mariadb'], concurrency: [8, 32, 128], count: 400, maxSeconds: 30, warmup: 100,
    pebble: true, seedOnly: false, noSeed: false, data: process.env.COBBLE_BENCH_DATA ?? join(homedir(), '.cache/cobble-bench/acme-scale'), batch: 10_000, issuerKeys: ['p384'], writeDocs: false,
  };
  const usage = 'usage: [--certs N] [--databases sqlite,mariadb] [--concurrency 8,32,128] [--count N] [--max-seconds S] [--warmup N] [--no-pebble] [--seed-only | --no-seed] [--issuer-keys p384,rsa2048,p256] [--data DIR] [--batch N] [--write-docs]';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value; ${usage}`);
      return v;
    };
    const int = () => {
      const v = Number(next().replace(/_/g, ''));
      if (!Number.isInteger(v) || v < 0) throw new Error(`${arg} needs a non-negative integer`);
      return v;
    };
    if (arg === '--certs') options.certs = int();
    else if (arg === '--count') options.count = int();
    else if (arg === '--max-seconds') options.maxSeconds = int();
    else if (arg === '--warmup') options.warmup = int();
    else if (arg === '--batch') options.batch = Math.max(1, int());
    else if (arg === '--data') options.data = next();
    else if (arg === '--no-pebble') options.pebble = false;
    else if (arg === '--seed-only') options.seedOnly = true;
    else if (arg === '--no-seed') options.noSeed = true;
    else if (arg === '--write-docs') options.writeDocs = true;
    else if (arg === '--concurrency') options.concurrency = next().split(',').map((c) => Number(c));
    else if (arg === '--issuer-keys') options.issuerKeys = parseIssuerKeys(next());
    else if (arg === '--databases') {
      const kinds = next().split(',');
      for (const kind of kinds) if (kind !== 'sqlite' && kind !== 'mariadb') throw new Error(`--databases: ${kind} is not sqlite or mariadb`);
      options.databases = kinds as DatabaseKind[];
    } else throw new Error(`unknown argument ${arg}; ${usage}`);
  }
  if (options.concurrency.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency takes whole numbers, e.g. 8,32,128');
  return options;
}

function mariadbUrl(database: string): string {
  const url = new URL(MARIADB_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One statement on the MariaDB server (admin rights); its result rows. */
async function mariadbAdmin(statement: string): Promise<unknown[]> {
  const connection = await mysql.createConnection({ uri: MARIADB_URL });
  try {
    const [rows] = await connection.query(statement);
    return Array.isArray(rows) ? rows : [];
  } finally {
    await connection.end();
  }
}

/** A leaf-sized PEM (P-256 key, one DNS name, 90 days) for every seeded row. */
function samplePem(): string {
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null',
    '-subj', '/CN=seed.example.com', '-addext', 'subjectAltName=DNS:seed.example.com', '-days', '90'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make the sample certificate: ${made.stderr}`);
  return made.stdout;
}

/** Seeds (or continues seeding) the cached database of `kind` up to --certs; its URL and how many it holds. */
async function seeded(kind: DatabaseKind, options: Options): Promise<{ url: string; certs: number }> {
  await mkdir(options.data, { recursive: true });
  const progressFile = join(options.data, `${kind}.progress.json`);
  let url: string;
  if (kind === 'sqlite') {
    url = `sqlite:${join(options.data, 'scale.sqlite3')}`;
  } else {
    await mariadbAdmin('CREATE DATABASE IF NOT EXISTS `cobble_bench_scale` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    url = mariadbUrl('cobble_bench_scale');
  }
  const progress = existsSync(progressFile) ? (JSON.parse(await readFile(progressFile, 'utf8')) as { next: number; now: number }) : { next: 0, now: Date.now() };
  if (options.noSeed || progress.next >= options.certs) {
    // Opening the SA brings the schema up to date (a new migration may build an index over millions of rows), here
    // rather than in a measured server, whose start would time out.
    const started = performance.now();
    await (await StorageAuthority.open(url)).close();
    console.error(`${kind}: ${progress.next.toLocaleString('en')} certificates, schema current (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return { url, certs: progress.next };
  }
  const sa = await StorageAuthority.open(url);
  // Seeding writes random keys into indexes many times the size of SQLite's 2 MB default page cache and MariaDB's
  // 128 MB default buffer pool: each insert would then read its index pages from disk. A CA database of this size runs
  // with memory to match, so the seed gets it: a 4 GB page cache on its SQLite connection; on MariaDB a buffer pool of
  // half the machine's memory and a 2 GB redo log (global settings that stay, also for the measured servers: with
  // Debian's 96 MB redo log, InnoDB flushes dirty pages for a checkpoint every few thousand certificates) and, while
  // seeding only, the redo log flushed once a second instead of at every commit.
  let restoreFlush: number | undefined;
  if (kind === 'sqlite') await sql`pragma cache_size = -4000000`.execute(sa.db);
  else {
    const chunk = 128 * 1024 * 1024;
    await mariadbAdmin(`SET GLOBAL innodb_buffer_pool_size = ${Math.floor(totalmem() / 2 / chunk) * chunk}`);
    await mariadbAdmin(`SET GLOBAL innodb_log_file_size = ${2 * 1024 * 1024 * 1024}`);
    restoreFlush = Number((await mariadbAdmin('SELECT @@GLOBAL.innodb_flush_log_at_trx_commit AS value') as { value: unknown }[])[0]!.value);
    await mariadbAdmin('SET GLOBAL innodb_flush_log_at_trx_commit = 2');
  }
  const started = performance.now();
  const from = progress.next;
  console.error(`seeding ${kind}: certificates ${from.toLocaleString('en')} to ${options.certs.toLocaleString('en')} (${url})`);
  try {
    await seedCertificates(sa.db, {
      from,
      to: options.certs,
      certsPerAccount: CERTS_PER_ACCOUNT,
      // Fixed at the first batch, so a resumed seed continues the same timeline.
      now: progress.now,
      pem: samplePem(),
      issuerName: 'seed',
      crlShards: 128,
      batch: options.batch,
      onBatch: async (next) => {
        await writeFile(progressFile, JSON.stringify({ next, now: progress.now }));
        if ((next - from) % (options.batch * 20) === 0 || next === options.certs) {
          const seconds = (performance.now() - started) / 1000;
          console.error(`  ${kind}: ${next.toLocaleString('en')} certificates, ${Math.round((next - from) / seconds).toLocaleString('en')}/s`);
        }
      },
    });
  } finally {
    await sa.close();
    if (restoreFlush !== undefined) await mariadbAdmin(`SET GLOBAL innodb_flush_log_at_trx_commit = ${restoreFlush}`);
  }
  return { url, certs: options.certs };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const loadAtStart = loadavg();
  const seededDbs = new Map<DatabaseKind, { url: string; certs: number }>();
  for (const kind of options.databases) seededDbs.set(kind, await seeded(kind, options));
  if (options.seedOnly) return;

  const work = await mkdtemp(join(tmpdir(), 'cobble-bench-scale-'));
  const emptyMariadb = `cobble_bench_empty_${process.pid}`;
  const dns = await startChallTestSrv();
  const { sink, port: responderPort, close: closeResponder } = await startChallengeResponder();
  const servers: Server[] = [];
  try {
    for (const kind of options.databases) {
      if (kind === 'mariadb') await mariadbAdmin(`CREATE DATABASE \`${emptyMariadb}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      const emptyUrl = kind === 'sqlite' ? undefined : mariadbUrl(emptyMariadb);
      const full = seededDbs.get(kind)!;
      for (const key of options.issuerKeys) {
        const start = (state: string, config: Record<string, unknown>) =>
          startCobble(work, responderPort, dns.dnsServer, 1, key, { name: serverName(kind, state, key), config });
        servers.push(await start('empty', emptyUrl ? { database: { url: emptyUrl } } : {}));
        servers.push(await start(compact(full.certs), { database: { url: full.url } }));
      }
    }
    if (options.pebble) servers.push(await startPebble(work, responderPort, dns.dnsServer));
    const trust = servers.map((s) => s.caPem);

    const total = servers.length * (options.warmup + options.count * options.concurrency.length);
    console.error(`generating ${total} CSRs ...`);
    const csrs = await makeCsrs(total);
    let next = 0;
    const take = () => csrs[next++]!;

    for (const server of servers) if (options.warmup > 0) await phase(server, trust, 8, options.warmup, 120, take, sink);
    const results: (PhaseResult & { nonFinalizeP50: number; error?: string })[] = [];
    for (const concurrency of options.concurrency) {
      for (const server of servers) {
        stepSamples.clear();
        sampling.enabled = true;
        try {
          const sample = await phase(server, trust, concurrency, options.count, options.maxSeconds, take, sink);
          const requests = NON_FINALIZE.flatMap((step) => stepSamples.get(step) ?? []).sort((a, b) => a - b);
          results.push({ ...summarize(server.name, concurrency, [sample]), nonFinalizeP50: percentile(requests, 0.5) });
        } catch (err) {
          // Pebble stalls at high concurrency on this machine; the row says so and the run goes on.
          results.push({ ...summarize(server.name, concurrency, []), nonFinalizeP50: NaN, error: (err as Error).message.slice(0, 200) });
        } finally {
          sampling.enabled = false;
        }
        const r = results.at(-1)!;
        console.error(`${server.name} c=${concurrency}: ${r.error ? `FAILED ${r.error}` : `${r.issued} in ${r.seconds.toFixed(1)} s, ${r.perSecond.toFixed(1)}/s, p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, CPU ${r.cpuMsPerIssuance.toFixed(1)} ms/cert, non-finalize p50 ${r.nonFinalizeP50.toFixed(1)} ms`}`);
      }
    }
    const table = render(results, options, seededDbs);
    console.log(table);
    if (options.writeDocs) await writeDocs(table, process.argv.slice(2).filter((a) => a !== '--write-docs'), loadAtStart);
  } finally {
    for (const server of servers) await stop(server.process);
    closeResponder();
    await dns.close();
    if (options.databases.includes('mariadb')) await mariadbAdmin(`DROP DATABASE IF EXISTS \`${emptyMariadb}\``);
    await rm(work, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

/** "cobble sqlite 10M", and the key type after it when it is not the default P-384. */
function serverName(kind: DatabaseKind, state: string, key: IssuerKey): string {
  return `cobble ${kind} ${state}${key === 'p384' ? '' : ` ${key}`}`;
}

function compact(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

function render(results: (PhaseResult & { nonFinalizeP50: number; error?: string })[], options: Options, seededDbs: Map<DatabaseKind, { certs: number }>): string {
  const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const rows = [
    '| Server | Concurrency | Issuances | Issuances/s | p50 (ms) | p99 (ms) | Server CPU per issuance (ms) | p50 of non-finalize requests (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    rows.push(r.error
      ? `| ${r.peer} | ${r.concurrency} | failed: ${r.error.replace(/\|/g, '/')} | | | | | |`
      : `| ${r.peer} | ${r.concurrency} | ${r.issued} | ${f(r.perSecond)} | ${f(r.p50, 0)} | ${f(r.p99, 0)} | ${f(r.cpuMsPerIssuance)} | ${f(r.nonFinalizeP50)} |`);
  }
  for (const r of results) if (r.failures.length) rows.push('', `${r.peer} at concurrency ${r.concurrency}: ${r.failures.length} issuance(s) failed: ${r.failures[0]}`);
  const bars: string[] = [];
  for (const kind of options.databases) {
    for (const key of options.issuerKeys) {
      for (const concurrency of options.concurrency) {
        const empty = results.find((r) => r.peer === serverName(kind, 'empty', key) && r.concurrency === concurrency);
        const full = results.find((r) => r.peer === serverName(kind, compact(seededDbs.get(kind)!.certs), key) && r.concurrency === concurrency);
        if (!empty || !full || empty.error || full.error) continue;
        const ratio = full.perSecond / empty.perSecond;
        const database = key === 'p384' ? kind : `${kind} ${key}`;
        bars.push(`| ${database} | ${concurrency} | ${ratio.toFixed(2)} | ${ratio >= 0.8 ? 'yes' : 'no'} | ${f(full.nonFinalizeP50)} | ${full.nonFinalizeP50 <= 9 ? 'yes' : 'no'} |`);
      }
    }
  }
  if (bars.length) {
    rows.push('', 'Bars (issue 11): throughput on the seeded database within 20 % of the empty one; p50 of non-finalize requests ≤ 9 ms.', '',
      '| Database | Concurrency | Seeded ÷ empty issuances/s | Within 20 % | Non-finalize p50 on the seeded database (ms) | ≤ 9 ms |', '| --- | ---: | ---: | --- | ---: | --- |', ...bars);
  }
  return rows.join('\n');
}

async function writeDocs(table: string, args: string[], loadAtStart: number[]): Promise<void> {
  const path = join(root, 'docs/benchmarks.md');
  const text = await readFile(path, 'utf8');
  const begin = '<!-- acme-scale:begin -->';
  const end = '<!-- acme-scale:end -->';
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  const notesBegin = '<!-- acme-scale:notes:begin -->';
  const notesEnd = '<!-- acme-scale:notes:end -->';
  const start = text.indexOf(begin);
  const stopAt = text.indexOf(end);
  const old = start >= 0 && stopAt > start ? text.slice(start, stopAt) : '';
  // Hand-written analysis between these markers survives a re-run.
  const notes = old.includes(notesBegin) && old.includes(notesEnd) ? `\n${old.slice(old.indexOf(notesBegin), old.indexOf(notesEnd) + notesEnd.length)}\n` : '';
  const section = `${begin}
## ACME issuance at scale (\`bench/acme-scale\`)

The whole flow of bench/acme-issuance (same driver, same Pebble setup, one fresh account and keep-alive connection per
simulated subscriber, a fresh name per issuance) against cobble on an empty database and on one seeded with
certificates and everything their issuance leaves behind (an account per ${CERTS_PER_ACCOUNT} certificates, the order,
its authorization, challenge and serial; random-looking keys, a realistic leaf PEM per row; issue times spread over 90
days), on SQLite and on MariaDB, and against Pebble, all running at the same time as separate processes and measured
one after the other. Server CPU: user+system time of that server's process from /proc, per issuance. "Non-finalize":
newOrder, authorization, challenge, polls and certificate download, each request timed by the driver.

Command: \`npm run bench -- acme-scale${args.length ? ` ${args.join(' ')}` : ''}\`
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; load average
(1/5/15 min) ${load(loadAtStart)} at the start and ${load(loadavg())} at the end (the machine is shared).

${table}
${notes}${end}`;
  const updated = start >= 0 && stopAt > start
    ? text.slice(0, start) + section + text.slice(stopAt + end.length)
    : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(path, updated);
  console.error(`wrote ${path}`);
}

await main();
