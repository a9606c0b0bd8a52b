// Incident response at scale: a SQLite CA database seeded with ≥ 1,000,000 certificates, 2.6 % of them selected by an
// incident (an issuance window, as a bug live for a while would select), then bulk revocation of the selection and
// every CRL shard of every issuer signed again — with the same code `cobble ca admin` runs. Reports each phase's time
// and the process's peak RSS (memory stays bounded: everything is paged by certificate ID).
//
// Usage: npm run bench -- incident [--count N] [--fraction F] [--batch N] [--crl-shards N] [--keep DIR]
import 'reflect-metadata';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CaAdmin } from '../../packages/ca/src/admin/index.js';
import { signAllCrls } from '../../packages/ca/src/admin/crl.js';
import { parseCaConfig } from '../../packages/ca/src/config/index.js';
import { systemClock } from '../../packages/ca/src/core/clock.js';
import { loadOrCreateHierarchy } from '../../packages/ca/src/issuer/index.js';
import { StorageAuthority } from '../../packages/ca/src/sa/index.js';
import { seedCertificates } from '../../packages/ca/test/support/seed-certificates.js';

const DAY = 86_400_000;
const { values } = parseArgs({
  options: { count: { type: 'string', default: '1000000' }, fraction: { type: 'string', default: '0.026' }, batch: { type: 'string', default: '500' }, 'crl-shards': { type: 'string', default: '16' }, keep: { type: 'string' } },
});
const count = Number(values.count);
const fraction = Number(values.fraction);
const batchSize = Number(values.batch);

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
async function timed<T>(name: string, rows: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  results.push({ name, seconds, rows, rss: peakRssMb() });
  console.error(`\n${name}: ${seconds.toFixed(1)} s (${rows}), peak RSS so far ${peakRssMb()} MB`);
  return result;
}
const results: { name: string; seconds: number; rows: string; rss: number }[] = [];

const dir = values.keep ?? (await mkdtemp(join(tmpdir(), 'cobble-bench-incident-')));
try {
  const config = parseCaConfig({ dataDir: dir, issuance: { urlBase: 'http://crl.bench.example' }, crl: { shards: Number(values['crl-shards']) }, log: { level: 'error' } }, 'bench');
  const hierarchy = await loadOrCreateHierarchy(dir, systemClock);
  const issuers = hierarchy.issuers.map((i) => i.name);
  const sa = await StorageAuthority.open(`sqlite:${join(dir, 'ca.sqlite3')}`);
  // Issued over the last 80 days: all unexpired (90-day "classic"; the 6-day "shortlived" of the last days too).
  const start = Date.now() - 80 * DAY;
  const spreadMs = 80 * DAY;
  await timed('seed', `${count.toLocaleString('en')} certificates + orders`, () =>
    seedCertificates(sa.db, {
      count,
      start,
      spreadMs,
      accounts: 10_000,
      issuers,
      shortlivedEvery: 1_000_000_000,
      batch: 2000,
      crlShards: config.crl.shards,
      onProgress: (done) => done % 100_000 === 0 && process.stderr.write(`\rseeded ${done.toLocaleString('en')}`),
    }),
  );
  const admin = new CaAdmin(sa, { clock: systemClock, batchSize, onProgress: (p) => p.done % 5000 === 0 && process.stderr.write(`\r${p.phase} ${p.done}`) });
  // The incident: certificates issued in a window holding `fraction` of them (issuance is spread evenly).
  const issuedAfter = start + Math.floor(spreadMs * 0.4);
  const issuedBefore = issuedAfter + Math.floor(spreadMs * fraction);
  const { selected } = await timed('select + mark (incident create)', 'keyset scan of every certificate', () =>
    admin.createIncident({ name: 'bench', selection: { issuedAfter, issuedBefore }, deadline: Date.now(), reason: 4, explanationUrl: 'https://status.example.com/bench' }),
  );
  await timed('incident status', `${selected.toLocaleString('en')} selected`, () => admin.incidentStatus('bench'));
  const revoked = await timed('bulk revocation (incident revoke)', `${selected.toLocaleString('en')} certificates, batches of ${batchSize}`, () => admin.revokeIncident('bench'));
  if (revoked.revoked !== selected) throw new Error(`revoked ${revoked.revoked} of ${selected}`);
  const crls = await timed('sign every CRL shard', `${issuers.length} issuers × ${config.crl.shards} shards`, () => signAllCrls(config, sa, systemClock));
  if (!('signed' in crls)) throw new Error(crls.skipped);
  await sa.close();
  const size = (await stat(join(dir, 'ca.sqlite3'))).size;
  console.log(`\n| phase | time | rows | peak RSS |\n|---|---:|---|---:|`);
  for (const r of results) console.log(`| ${r.name} | ${r.seconds.toFixed(1)} s | ${r.rows} | ${r.rss} MB |`);
  console.log(`\n${count.toLocaleString('en')} certificates, ${selected.toLocaleString('en')} selected (${((100 * selected) / count).toFixed(2)} %), ${crls.signed} CRL shards signed; database ${(size / 1e9).toFixed(2)} GB; peak RSS ${peakRssMb()} MB`);
} finally {
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}
