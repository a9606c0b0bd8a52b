// ACME issuance benchmark: the whole flow (newOrder → http-01 → finalize → download) against cobble and, in the same
// run, against Pebble (Debian's `pebble`, PEBBLE_VA_NOSLEEP=1, real validation), at concurrency 1 and 8.
//
// Usage: npm run bench -- acme-issuance [--c1 N] [--c8 N] [--max-seconds S] [--warmup N] [--cobble-workers N] [--rounds N]
//                                      [--only cobble|pebble] [--issuer-keys p384,rsa2048,p256] [--steps] [--write-docs]
// --c1/--c8 are issuances per server at each concurrency, split over --rounds rounds that alternate between the servers
// (so a load change on the machine hits both alike); --max-seconds bounds each server's total time per concurrency.
// --warmup is the number of unmeasured issuances per server at concurrency 8 before measuring (default 200).
// --steps prints where each phase's time went, per ACME request kind (mean ms per issuance).
// Both servers run as their own processes (cobble through `cobble ca serve --config FILE [--workers N]`), validate through the same loopback http-01 responder and look names up in
// the same pebble-challtestsrv; one driver implementation (./driver.ts) talks to both.
// --issuer-keys runs one cobble server per issuing key type in the same rounds: p384 is the default development
// hierarchy (an ECDSA P-384 intermediate, as Let's Encrypt's E-series); rsa2048 and p256 configure one intermediate of
// that type (made here with openssl, in the `issuers:` section) for every subscriber key, as Pebble signs everything
// with its RSA-2048 intermediate: rsa2048 is the same-key-type comparison.
import 'reflect-metadata';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { Agent, get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { freePort, startChallTestSrv } from '../../packages/ca/test/va/challtestsrv.js';
import { AcmeDriver, stalls, stepTimes, type ChallengeSink } from './driver.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type IssuerKey = 'p384' | 'p256' | 'rsa2048';
const ISSUER_KEYS: IssuerKey[] = ['p384', 'p256', 'rsa2048'];

/** The value of --issuer-keys (this bench's and bench/acme-scale's): distinct key types, in the order given. */
export function parseIssuerKeys(value: string | undefined): IssuerKey[] {
  const keys = (value ?? '').split(',');
  if (keys.some((k) => !ISSUER_KEYS.includes(k as IssuerKey))) throw new Error(`--issuer-keys takes a comma-separated list of ${ISSUER_KEYS.join(', ')}`);
  return [...new Set(keys as IssuerKey[])];
}

interface Options { c1: number; c8: number; maxSeconds: number; warmup: number; cobbleWorkers: number; rounds: number; only?: 'cobble' | 'pebble'; issuerKeys: IssuerKey[]; writeDocs: boolean; steps: boolean }

function parseArgs(argv: string[]): Options {
  const options: Options = { c1: 60, c8: 240, maxSeconds: 30, warmup: 200, cobbleWorkers: 1, rounds: 3, issuerKeys: ['p384'], writeDocs: false, steps: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${arg} needs a non-negative integer`);
      return v;
    };
    if (arg === '--c1') options.c1 = value();
    else if (arg === '--c8') options.c8 = value();
    else if (arg === '--max-seconds') options.maxSeconds = value();
    else if (arg === '--warmup') options.warmup = value();
    else if (arg === '--cobble-workers') options.cobbleWorkers = Math.max(1, value());
    else if (arg === '--rounds') options.rounds = Math.max(1, value());
    else if (arg === '--write-docs') options.writeDocs = true;
    else if (arg === '--issuer-keys') options.issuerKeys = parseIssuerKeys(argv[++i]);
    else if (arg === '--steps') options.steps = true;
    else if (arg === '--only') {
      const peer = argv[++i];
      if (peer !== 'cobble' && peer !== 'pebble') throw new Error('--only takes cobble or pebble');
      options.only = peer;
    } else throw new Error(`unknown argument ${arg}; usage: [--c1 N] [--c8 N] [--max-seconds S] [--warmup N] [--cobble-workers N] [--rounds N] [--only cobble|pebble] [--issuer-keys p384,rsa2048,p256] [--steps] [--write-docs]`);
  }
  return options;
}

/** `cobble` (P-384 development issuer), `cobble rsa2048` / `cobble p256` (an issuer of that key type) or `pebble`. */
export interface Server { name: string; directoryUrl: string; process: ChildProcess; caPem: Buffer }

export interface PhaseResult { peer: string; concurrency: number; issued: number; seconds: number; perSecond: number; p50: number; p99: number; cpuMsPerIssuance: number; driverCpuMsPerIssuance: number; repeated?: number; badNonces?: number; failures: string[]; roundRates: number[] }

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The loopback http-01 responder both servers validate against: the driver puts each key authorization in `sink`. */
export async function startChallengeResponder(): Promise<{ sink: ChallengeSink; port: number; close(): void }> {
  const tokens = new Map<string, string>();
  const responder = http.createServer((req, res) => {
    const body = tokens.get((req.url ?? '').slice('/.well-known/acme-challenge/'.length));
    if (body === undefined) res.writeHead(404).end();
    else res.end(body);
  });
  responder.keepAliveTimeout = 1000;
  responder.listen(0, '127.0.0.1');
  await once(responder, 'listening');
  return {
    sink: { set: (t, k) => tokens.set(t, k), delete: (t) => tokens.delete(t) },
    port: (responder.address() as AddressInfo).port,
    close: () => {
      responder.closeAllConnections();
      responder.close();
    },
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const loadAtStart = loadavg();
  const work = await mkdtemp(join(tmpdir(), 'cobble-bench-acme-'));
  const dns = await startChallTestSrv();
  const { sink, port: responderPort, close: closeResponder } = await startChallengeResponder();
  const servers: Server[] = [];
  try {
    if (options.only !== 'pebble') {
      for (const issuerKey of options.issuerKeys) servers.push(await startCobble(work, responderPort, dns.dnsServer, options.cobbleWorkers, issuerKey));
    }
    if (options.only !== 'cobble') servers.push(await startPebble(work, responderPort, dns.dnsServer));
    const trust = servers.map((s) => s.caPem);

    const total = (options.warmup + options.c1 + options.c8) * servers.length;
    console.error(`generating ${total} CSRs ...`);
    const csrs = await makeCsrs(total);
    let next = 0;
    const take = () => csrs[next++]!;

    const results: PhaseResult[] = [];
    // Unmeasured warm-up at concurrency 8, so both servers are measured in steady state: V8 has compiled cobble's hot
    // paths (a short cold run mostly measures the JIT) and both have their caches and connections warm.
    for (const server of servers) {
      if (options.warmup > 0) await phase(server, trust, 8, options.warmup, 120, take, sink);
    }
    for (const [concurrency, count] of [[1, options.c1], [8, options.c8]] as const) {
      if (count === 0) continue;
      const samples = new Map<Server, Sample[]>(servers.map((server) => [server, []]));
      for (let round = 0; round < options.rounds; round++) {
        const share = Math.floor(count / options.rounds) + (round < count % options.rounds ? 1 : 0);
        for (const server of servers) {
          samples.get(server)!.push(await phase(server, trust, concurrency, share, options.maxSeconds / options.rounds, take, sink));
        }
      }
      for (const server of servers) {
        const result = summarize(server.name, concurrency, samples.get(server)!);
        results.push(result);
        if (options.steps) {
          const steps = new Map<string, { ms: number; count: number }>();
          for (const sample of samples.get(server)!) {
            for (const [step, t] of sample.steps) {
              const entry = steps.get(step) ?? { ms: 0, count: 0 };
              entry.ms += t.ms;
              entry.count += t.count;
              steps.set(step, entry);
            }
          }
          const perIssuance = [...steps].map(([step, t]) => `${step} ${(t.ms / result.issued).toFixed(1)} ms (${(t.count / result.issued).toFixed(2)}×)`);
          console.error(`  ${server.name} c=${concurrency} per issuance: ${perIssuance.join(', ')}`);
        }
        if (result.repeated || result.badNonces) console.error(`  ${server.name} c=${concurrency}: ${result.repeated} repeated requests after a timeout/reset, ${result.badNonces} badNonce retries`);
        if (result.failures.length) console.error(`  ${server.name} c=${concurrency}: ${result.failures.length} failed issuance(s), first: ${result.failures[0]}`);
        console.error(`${server.name} c=${concurrency}: ${result.issued} in ${result.seconds.toFixed(2)} s, ${result.perSecond.toFixed(1)}/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
      }
    }
    const table = render(results);
    console.log(table);
    if (options.writeDocs) await writeDocs(table, process.argv.slice(2).filter((a) => a !== '--write-docs'), options, loadAtStart);
  } finally {
    for (const server of servers) await stop(server.process);
    closeResponder();
    await dns.close();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * One keep-alive connection per simulated subscriber, as a real ACME client keeps: its requests (and nonces) stay
 * with one server process even when cobble runs several workers.
 */
export function driverAgent(trust: Buffer[]): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, ca: trust });
}

const MAX_FAILURES = 5;

export interface Sample {
  latencies: number[];
  /** Issuances that failed (the request's error), not counted in `latencies`. */
  failures: string[];
  seconds: number;
  serverCpuMs: number;
  driverCpuMs: number;
  repeated: number;
  badNonces: number;
  steps: Map<string, { ms: number; count: number }>;
}

/** `count` issuances spread over `concurrency` simulated subscribers, each with its own account and connection. */
export async function phase(server: Server, trust: Buffer[], concurrency: number, count: number, maxSeconds: number, take: () => { name: string; der: Buffer }, sink: ChallengeSink): Promise<Sample> {
  const drivers = await Promise.all(Array.from({ length: concurrency }, () => AcmeDriver.register(server.directoryUrl, driverAgent(trust))));
  stepTimes.clear();
  stalls.count = 0;
  stalls.badNonces = 0;
  const latencies: number[] = [];
  const failures: string[] = [];
  const cpuBefore = cpuMs(server.process.pid!);
  const driverBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  let remaining = count;
  await Promise.all(drivers.map(async (driver) => {
    while (remaining > 0 && performance.now() < deadline) {
      remaining--;
      const { name, der } = take();
      const t0 = performance.now();
      let pem: string;
      try {
        pem = await driver.issue(name, der, sink);
      } catch (err) {
        // A server that stops answering one request (seen with Pebble: a newOrder POST unanswered for 10 s) costs its
        // throughput that time; the issuance counts as failed, the run goes on, and the table says so.
        failures.push((err as Error).message);
        if (failures.length > MAX_FAILURES) throw new Error(`${server.name}: more than ${MAX_FAILURES} failed issuances; first: ${failures[0]}`);
        continue;
      }
      latencies.push(performance.now() - t0);
      if (!pem.includes('BEGIN CERTIFICATE')) throw new Error(`${server.name} returned no certificate for ${name}`);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const serverCpuMs = cpuMs(server.process.pid!) - cpuBefore;
  const driverUsage = process.cpuUsage(driverBefore);
  for (const driver of drivers) driver.close();
  return {
    latencies, seconds, serverCpuMs, driverCpuMs: (driverUsage.user + driverUsage.system) / 1000,
    repeated: stalls.count, badNonces: stalls.badNonces, failures, steps: new Map(stepTimes),
  };
}

/** Pools the rounds: throughput = all issuances ÷ all measured time; percentiles over all latencies. */
export function summarize(peer: string, concurrency: number, samples: Sample[]): PhaseResult {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const sum = (f: (s: Sample) => number) => samples.reduce((total, s) => total + f(s), 0);
  const seconds = sum((s) => s.seconds);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? NaN;
  return {
    peer, concurrency, issued: latencies.length, seconds, perSecond: latencies.length / seconds, p50: pick(0.5), p99: pick(0.99),
    cpuMsPerIssuance: sum((s) => s.serverCpuMs) / latencies.length, driverCpuMsPerIssuance: sum((s) => s.driverCpuMs) / latencies.length,
    repeated: sum((s) => s.repeated), badNonces: sum((s) => s.badNonces),
    failures: samples.flatMap((s) => s.failures),
    roundRates: samples.map((s) => s.latencies.length / s.seconds),
  };
}

/** User + system CPU time in ms of a process and its descendants (cobble's workers), from /proc (Linux). */
function cpuMs(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended while we looked
    }
  }
  let ticks = 0;
  const pending = [pid];
  while (pending.length) {
    const current = pending.pop()!;
    ticks += stats.get(current)?.ticks ?? 0;
    for (const [child, stat] of stats) if (stat.ppid === current) pending.push(child);
  }
  return (ticks * 1000) / 100;
}

export async function makeCsrs(count: number): Promise<{ name: string; der: Buffer }[]> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  // One certificate key for all CSRs: key generation is client work and not part of the measured flow.
  const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'];
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  const out: { name: string; der: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const name = `b${i}-${run}.example.com`;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${name}`,
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])],
    });
    out.push({ name, der: Buffer.from(csr.rawData) });
  }
  return out;
}

/** An issuing hierarchy made with openssl: a root and one intermediate whose key (of `keyType`) is in a key file. */
async function benchIssuer(dir: string, keyType: Exclude<IssuerKey, 'p384'>): Promise<unknown> {
  await mkdir(dir, { recursive: true });
  const newKey = keyType === 'rsa2048' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  openssl('req', '-x509', ...newKey, '-nodes', '-keyout', file('root.key'), '-out', file('root.pem'), '-days', '3650', '-subj', `/C=US/O=cobble bench/CN=Bench Root ${keyType}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', ...newKey, '-nodes', '-keyout', file('issuer.key'), '-out', file('issuer.csr'), '-subj', `/C=US/O=cobble bench/CN=Bench ${keyType}`);
  await writeFile(file('issuer.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,keyCertSign,cRLSign\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  openssl('x509', '-req', '-in', file('issuer.csr'), '-CA', file('root.pem'), '-CAkey', file('root.key'), '-CAcreateserial', '-days', '1000', '-extfile', file('issuer.ext'), '-out', file('issuer.pem'));
  openssl('pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', file('issuer.key'), '-out', file('issuer.key.enc.pem'), '-passout', 'pass:bench');
  return [{
    name: `bench-${keyType}`,
    keyTypes: ['ecdsa', 'rsa'],
    certificate: file('issuer.pem'),
    keyFile: { path: file('issuer.key.enc.pem'), passphrase: 'bench' },
    defaultChain: { certificates: [file('issuer.pem')], root: file('root.pem') },
  }];
}

/** `variant` (bench/acme-scale) names the server and adds configuration, e.g. a database URL. */
export async function startCobble(work: string, responderPort: number, dnsServer: string, workers: number, issuerKey: IssuerKey, variant?: { name: string; config: Record<string, unknown> }): Promise<Server> {
  const tag = variant ? `-${variant.name.replace(/[^a-z0-9]+/gi, '-')}` : '';
  const dir = join(work, `cobble-${issuerKey}${tag}`);
  const configPath = join(work, `cobble-${issuerKey}${tag}.yaml`);
  // JSON is YAML; the CLI validates it like any operator's file.
  await writeFile(configPath, JSON.stringify({
    dataDir: dir,
    ...(issuerKey === 'p384' ? {} : { issuers: await benchIssuer(join(dir, 'issuer'), issuerKey) }),
    listen: { host: '127.0.0.1', port: 0, httpPort: 0 },
    // tls-alpn-01 is not exercised; the port only has to be valid.
    va: { httpPort: responderPort, tlsPort: 443, dnsServer, timeoutMs: 5000 },
    // Every issuance goes through the rate limiter (its cost is part of the figure), with limits no run reaches:
    // Pebble has none, and one driver issues thousands of certificates under one registered domain.
    rateLimits: {
      limits: Object.fromEntries(['newAccountsPerIp', 'newOrdersPerAccount', 'certificatesPerDomain', 'certificatesPerFqdnSet', 'failedAuthorizationsPerIdentifier']
        .map((limit) => [limit, { count: 10_000_000 }])),
    },
    log: { level: 'warn' },
    ...variant?.config,
  }));
  // COBBLE_BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the cobble processes (open in Chrome DevTools).
  const profile = process.env.COBBLE_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.COBBLE_BENCH_CPU_PROF] : [];
  const args = [...profile, join(root, 'packages/cli/bin/cobble.js'), 'ca', 'serve', '--config', configPath, ...(workers > 1 ? ['--workers', String(workers)] : [])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const printed = await readyLines(child, 60_000, 'cobble ca serve', /^Trust bundle/);
  const directoryUrl = /^ACME directory: (\S+)/m.exec(printed)?.[1];
  const trustBundlePath = /^Trust bundle[^:]*: (\S+)/m.exec(printed)?.[1];
  if (!directoryUrl || !trustBundlePath) throw new Error(`cobble ca serve printed no directory URL / trust bundle:\n${printed}`);
  return { name: variant?.name ?? (issuerKey === 'p384' ? 'cobble' : `cobble ${issuerKey}`), directoryUrl, process: child, caPem: await readFile(trustBundlePath) };
}

export async function startPebble(work: string, responderPort: number, dnsServer: string): Promise<Server> {
  const cert = join(work, 'pebble-cert.pem');
  const key = join(work, 'pebble-key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=pebble bench', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make Pebble's TLS certificate: ${made.stderr}`);
  const port = await freePort();
  const config = join(work, 'pebble-config.json');
  await writeFile(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${await freePort()}`,
      certificate: cert,
      privateKey: key,
      httpPort: responderPort,
      tlsPort: await freePort(),
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }));
  const child = spawn('pebble', ['-config', config, '-dnsserver', dnsServer], {
    // Real validation without Pebble's random 0-15 s sleep; no deliberate nonce rejections (they would only add retries).
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const caPem = await readFile(cert);
  const agent = new Agent({ ca: caPem });
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  const deadline = Date.now() + 30_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`pebble exited with ${child.exitCode}:\n${log}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpsGet(directoryUrl, { agent }, (res) => { res.resume(); resolve(res.statusCode === 200); });
      req.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`pebble not ready within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  agent.destroy();
  return { name: 'pebble', directoryUrl, process: child, caPem };
}

/** Collects a child's stdout until a line matches `last`. */
function readyLines(child: ChildProcess, timeoutMs: number, what: string, last: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} was not ready within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      seen += `${line}\n`;
      if (last.test(line)) {
        clearTimeout(timer);
        lines.removeAllListeners('line');
        child.stdout!.resume();
        resolve(seen);
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code} before it was ready:\n${seen}`)); });
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function render(results: PhaseResult[]): string {
  const rows = ['| Server | Concurrency | Issuances | Issuances/s | p50 latency (ms) | p99 latency (ms) | Server CPU per issuance (ms) | Driver CPU per issuance (ms) |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of results) {
    rows.push(`| ${r.peer} | ${r.concurrency} | ${r.issued} | ${r.perSecond.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.cpuMsPerIssuance.toFixed(1)} | ${r.driverCpuMsPerIssuance.toFixed(1)} |`);
  }
  for (const r of results) {
    if (r.repeated || r.badNonces) rows.push('', `${r.peer} at concurrency ${r.concurrency}: ${r.repeated ?? 0} POST-as-GET requests repeated after no answer within 10 s, ${r.badNonces ?? 0} badNonce retries.`);
    if (r.failures.length) rows.push('', `${r.peer} at concurrency ${r.concurrency}: ${r.failures.length} issuance(s) failed and are not counted (their time is): ${r.failures[0]}`);
  }
  const ratios: string[] = [];
  for (const [concurrency, c] of results.filter((r) => r.peer !== 'pebble').map((r) => [r.concurrency, r] as const)) {
    const p = results.find((r) => r.peer === 'pebble' && r.concurrency === concurrency);
    if (p) {
      // Round k of cobble ran right before round k of Pebble, so each pair saw about the same machine.
      const perRound = c.roundRates.map((rate, k) => rate / (p.roundRates[k] ?? NaN)).filter(Number.isFinite);
      const range = perRound.length ? `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}×` : 'n/a';
      ratios.push(`| ${c.peer} | ${concurrency} | ${(c.perSecond / p.perSecond).toFixed(2)}× | ${range} | ${(c.p50 / p.p50).toFixed(2)} | ${(c.p99 / p.p99).toFixed(2)} | ${(c.cpuMsPerIssuance / p.cpuMsPerIssuance).toFixed(2)} |`);
    }
  }
  if (ratios.length) {
    rows.push('', 'Ratios cobble ÷ Pebble (throughput: higher is better; latency: lower is better):', '',
      '| Server | Concurrency | Issuances/s | Issuances/s, round by round (min–max) | p50 latency | p99 latency | Server CPU per issuance |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...ratios);
  }
  return rows.join('\n');
}

async function writeDocs(table: string, args: string[], options: Options, loadAtStart: number[]): Promise<void> {
  const workersNote = options.cobbleWorkers > 1 ? ` --workers ${options.cobbleWorkers}` : '';
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  const path = join(root, 'docs/benchmarks.md');
  const text = await readFile(path, 'utf8');
  const begin = '<!-- acme-issuance:begin -->';
  const end = '<!-- acme-issuance:end -->';
  const start = text.indexOf(begin);
  const stopAt = text.indexOf(end);
  if (start < 0 || stopAt < start) throw new Error(`${path}: markers ${begin} … ${end} not found`);
  // Hand-written analysis between these markers survives a re-run.
  const notesBegin = '<!-- acme-issuance:notes:begin -->';
  const notesEnd = '<!-- acme-issuance:notes:end -->';
  const old = text.slice(start, stopAt);
  const notes = old.includes(notesBegin) && old.includes(notesEnd)
    ? `\n${old.slice(old.indexOf(notesBegin), old.indexOf(notesEnd) + notesEnd.length)}\n`
    : '';
  const pebbleVersion = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'pebble'], { encoding: 'utf8' }).stdout || 'unknown';
  const section = `${begin}
## ACME issuance (\`bench/acme-issuance\`)

Whole flow per certificate — newOrder → authorization → http-01 challenge (real validation: DNS lookup in
pebble-challtestsrv, HTTP fetch from a loopback responder) → finalize (ECDSA P-256 CSR) → certificate download — with
one lean JWS driver (\`bench/acme-issuance/driver.ts\`, ES256 account per worker, polls every 10 ms) against both servers
in the same run, alternating between the servers in ${options.rounds} rounds per concurrency (throughput = issuances ÷
measured time over all rounds; percentiles over all issuances). Before measuring, each server issues ${options.warmup}
certificates at concurrency 8 that are not measured, so both are compared in steady state (V8 has compiled cobble's hot
paths; Pebble is compiled ahead of time). Each server runs as its own process; a fresh name per
issuance so no authorization is reused. CPU columns: user+system time of the server's processes and of the driver
process (which also runs the http-01 responder), per issuance.
cobble: \`cobble ca serve --config FILE\`${workersNote} (default settings, SQLite in a temporary data directory).
Pebble ${pebbleVersion} (Debian) with \`PEBBLE_VA_NOSLEEP=1\`, \`PEBBLE_WFE_NONCEREJECT=0\`, \`PEBBLE_VA_ALWAYS_VALID\` unset.

Command: \`npm run bench -- acme-issuance${args.length ? ` ${args.join(' ')}` : ''}\`
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; load average
(1/5/15 min) ${load(loadAtStart)} at the start and ${load(loadavg())} at the end (the machine is shared).

${table}
${notes}${end}`;
  await writeFile(path, text.slice(0, start) + section + text.slice(stopAt + end.length));
  console.error(`wrote ${path}`);
}

// bench/acme-scale imports the pieces above; only `npm run bench -- acme-issuance` runs this benchmark.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
