// The acceptance of `npm start` for ACME client authors: `cobble up` (here with --any-ports, so every port is free,
// the VA's challenge ports included) prints a certbot command and a lego command, and each, run by a shell exactly as
// printed from the repository root with nothing else running, yields a certificate that openssl verifies.
// Also `cobble ca serve --test`: the flag turns test mode on, and refuses --workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/cobble.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Starts `cobble ARGS` and resolves with its output once `ready` matches it. */
function startCobble(args: string[], ready: RegExp): { child: ChildProcess; output: Promise<string> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`cobble ${args.join(' ')} did not come up in 60 s:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cobble ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
  return { child, output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

/** Runs a printed command line with a shell, from the repository root (where `npm start` runs). */
function runAsPrinted(line: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', line], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The printed command whose line contains `marker`, and the file it says the certificate goes to (the next line). */
function printed(out: string, marker: string): { line: string; result: string } {
  const lines = out.split('\n');
  const at = lines.findIndex((l) => l.includes(marker));
  assert.ok(at >= 0, `no line with ${JSON.stringify(marker)} in:\n${out}`);
  const result = /^\s*-> (\S+)$/.exec(lines[at + 1] ?? '')?.[1];
  assert.ok(result, `no "-> FILE" after the ${marker} command in:\n${out}`);
  return { line: lines[at]!.trim(), result };
}

/** `openssl verify -x509_strict` of the leaf with the chain as written, against the CA's issuing roots. */
function assertVerifies(chainFile: string, roots: string, names: string[]): void {
  const pems = readFileSync(chainFile, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? [];
  assert.ok(pems.length >= 2, `expected leaf and intermediate in ${chainFile}`);
  const leaf = new X509Certificate(pems[0]!);
  const sans = (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, '')).sort();
  assert.deepEqual(sans, [...names].sort());
  const dir = mkdtempSync(join(tmpdir(), 'cobble-verify-'));
  try {
    writeFileSync(join(dir, 'leaf.pem'), pems[0]!);
    writeFileSync(join(dir, 'untrusted.pem'), pems.slice(1).join(''));
    const result = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', roots, '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    assert.equal(result.status, 0, `openssl verify of ${chainFile}:\n${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /leaf\.pem: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('cobble up prints certbot and lego commands that, run as printed, get an http-01 certificate and a dns-01 wildcard', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cobble-up-clients-'));
  const { child, output } = startCobble(['up', '--data-dir', dataDir, '--any-ports'], /collect: /);
  try {
    const out = await output;
    const certbot = printed(out, 'certbot certonly');
    const lego = printed(out, 'lego --server');
    // --any-ports: the VA fetches http-01 from a free port, and the certbot command serves it there.
    const vaPort = /http-01 is fetched from\s+127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    assert.ok(vaPort && vaPort !== '5002', out);
    assert.ok(certbot.line.includes(`--http-01-port ${vaPort}`), certbot.line);
    // Both issuing roots (certbot and lego pick their key types), the trust anchors a verifier would be given.
    const roots = join(dataDir, 'roots.pem');
    writeFileSync(roots, ['ecdsa', 'rsa'].map((k) => readFileSync(join(dataDir, 'issuer', `root-${k}.pem`), 'utf8')).join(''));

    const viaCertbot = await runAsPrinted(certbot.line);
    assert.equal(viaCertbot.code, 0, `certbot as printed:\n${certbot.line}\n${viaCertbot.output.slice(-4000)}`);
    assertVerifies(certbot.result, roots, ['www.example.com']);

    const viaLego = await runAsPrinted(lego.line);
    assert.equal(viaLego.code, 0, `lego as printed:\n${lego.line}\n${viaLego.output.slice(-4000)}`);
    assert.match(viaLego.output, /The server validated our request/);
    assertVerifies(lego.result, roots, ['*.example.com', 'example.com']);
  } finally {
    assert.equal(await stop(child), 0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('cobble ca serve --test runs the test DNS server (every name is 127.0.0.1) and refuses --workers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-serve-test-'));
  const config = join(dir, 'ca.yaml');
  writeFileSync(config, `dataDir: ${JSON.stringify(join(dir, 'data'))}\nlisten: { port: 0, httpPort: 0 }\n`);
  const { child, output } = startCobble(['ca', 'serve', '--config', config, '--test'], /Test mode: .*\n/);
  try {
    const out = await output;
    const dnsServer = /Test mode: DNS (127\.0\.0\.1:\d+)/.exec(out)?.[1];
    assert.ok(dnsServer, out);
    assert.match(out, /:5002 \(http-01\), :5001 \(tls-alpn-01\)/);
    const resolver = new dns.Resolver();
    resolver.setServers([dnsServer]);
    assert.deepEqual(await resolver.resolve4('anything.example.org'), ['127.0.0.1']);

    const refused = spawnSync(process.execPath, [bin, 'ca', 'serve', '--config', config, '--test', '--workers', '2'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /test mode runs in one process/);
  } finally {
    assert.equal(await stop(child), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
