// Shared set-up for the real-client acceptance tests: a CA on loopback whose VA looks names up in
// pebble-challtestsrv (every name → 127.0.0.1) and connects to ports the client under test listens on.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCa, type CaConfigInput, type RunningCa } from '../../src/index.js';
import { splitPemChain } from '../support/acme.js';
import { opensslVerifyStrict } from '../support/openssl.js';
import { freePort, startChallTestSrv, type ChallTestSrv } from '../va/challtestsrv.js';

export interface ClientEnv {
  ca: RunningCa;
  dns: ChallTestSrv;
  /** Where the client must serve http-01 (the VA's httpPort). */
  httpPort: number;
  /** Where the client must serve tls-alpn-01 (the VA's tlsPort). */
  tlsPort: number;
  /** Scratch directory for the client's state, hooks and output. */
  dir: string;
  close(): Promise<void>;
}

/** `config` sets sections other than the ones the environment owns (data directory, listeners, VA, log). */
export async function startClientEnv(config: Omit<CaConfigInput, 'dataDir' | 'listen' | 'va' | 'log'> = {}): Promise<ClientEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'cobble-client-'));
  const dns = await startChallTestSrv();
  const httpPort = await freePort();
  const tlsPort = await freePort();
  const ca = await startCa({
    ...config,
    dataDir: join(dir, 'ca'),
    listen: { host: '127.0.0.1', port: 0, httpPort: 0 },
    va: { httpPort, tlsPort, dnsServer: dns.dnsServer, timeoutMs: 5000 },
    log: { level: 'error' },
  });
  return {
    ca, dns, httpPort, tlsPort, dir,
    async close() {
      await ca.close();
      await dns.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number | null;
  output: string;
}

/**
 * Runs a client binary without blocking the event loop (the CA under test lives in this process) and kills it if
 * it outlives `timeoutMs`.
 */
export function run(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

/**
 * certbot against `ca`, its state (config/, work/, logs/) under `stateDir`, non-interactive; certbot's HTTP stack
 * (requests) trusts the CA's bundle for the ACME server's own HTTPS.
 */
export function certbotRunner(ca: Pick<RunningCa, 'directoryUrl' | 'trustBundlePath'>, stateDir: string): (args: string[]) => Promise<RunResult> {
  const base = ['--server', ca.directoryUrl, '--config-dir', join(stateDir, 'config'), '--work-dir', join(stateDir, 'work'), '--logs-dir', join(stateDir, 'logs'), '--non-interactive'];
  return (args) => run('certbot', [...args, ...base], { REQUESTS_CA_BUNDLE: ca.trustBundlePath }, 90_000);
}

export function describeRun(what: string, result: RunResult): string {
  return `${what} exited with ${result.code}:\n${result.output.slice(-4000)}`;
}

/**
 * Writes an executable Node script that publishes a TXT record through challtestsrv's management API.
 * `style` says how the client hands over name and value: certbot through environment variables, lego's exec provider
 * as arguments ("present"|"cleanup", fqdn, value), dehydrated as arguments (handler, domain, token, value) — and it
 * calls its hook for other events too, which must succeed doing nothing.
 */
export async function writeDnsHook(dir: string, dns: ChallTestSrv, style: 'certbot-auth' | 'certbot-cleanup' | 'lego-exec' | 'dehydrated'): Promise<string> {
  const path = join(dir, `${style}-hook.mjs`);
  const body = {
    'certbot-auth': `const host = '_acme-challenge.' + process.env.CERTBOT_DOMAIN + '.';
await post('/set-txt', { host, value: process.env.CERTBOT_VALIDATION });`,
    'certbot-cleanup': `await post('/clear-txt', { host: '_acme-challenge.' + process.env.CERTBOT_DOMAIN + '.' });`,
    'lego-exec': `const [action, fqdn, value] = process.argv.slice(2);
if (action === 'present') await post('/set-txt', { host: fqdn, value });
else if (action === 'cleanup') await post('/clear-txt', { host: fqdn });`,
    dehydrated: `const [handler, domain, , value] = process.argv.slice(2);
if (handler === 'deploy_challenge') await post('/set-txt', { host: '_acme-challenge.' + domain + '.', value });
else if (handler === 'clean_challenge') await post('/clear-txt', { host: '_acme-challenge.' + domain + '.' });`,
  }[style];
  await writeFile(path, `#!${process.execPath}
async function post(path, payload) {
  const response = await fetch(${JSON.stringify(dns.managementUrl)} + path, { method: 'POST', body: JSON.stringify(payload), signal: AbortSignal.timeout(5000) });
  if (!response.ok) { console.error('challtestsrv', path, response.status); process.exit(1); }
}
${body}
`);
  await chmod(path, 0o755);
  return path;
}

/**
 * The acceptance check for every issued chain: the leaf names exactly `names`, and `openssl verify -x509_strict`
 * accepts leaf + served intermediates against the root of the leaf's key type.
 */
export function assertIssued(chainPem: string, ca: RunningCa, names: string[]): X509Certificate {
  const [leafPem] = splitPemChain(chainPem);
  if (!leafPem) throw new Error(`no certificate in the chain:\n${chainPem.slice(0, 500)}`);
  const leaf = new X509Certificate(leafPem);
  const sans = (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, '')).sort();
  if (JSON.stringify(sans) !== JSON.stringify([...names].sort())) {
    throw new Error(`leaf names ${JSON.stringify(sans)}, expected ${JSON.stringify([...names].sort())}`);
  }
  const root = leaf.publicKey.asymmetricKeyType === 'rsa' ? ca.rootsPem.rsa : ca.rootsPem.ecdsa;
  const verified = opensslVerifyStrict(chainPem, root);
  if (!verified.ok) throw new Error(`openssl verify -x509_strict failed:\n${verified.output}`);
  return leaf;
}

/** A fresh label per run keeps names unique when several client suites share nothing but the DNS server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.example.com`;
}
