// Starts Debian's Unbound on loopback for tests that need DNS answers pebble-challtestsrv cannot give: CAA records with
// flags other than 0, and (as a validating resolver in front of another Unbound) DNSSEC-bogus answers.
// Each instance has its own temp dir and config, answers only from its config (it never queries beyond loopback),
// and is killed on close or when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './challtestsrv.js';

export const UNBOUND_BINARY = '/usr/sbin/unbound';

export interface UnboundOptions {
  /**
   * Authoritative mode: records in zone-file syntax (e.g. `crit.example. 3600 IN CAA 128 tbs "x"`), served from a
   * static root zone, so every other name is NXDOMAIN and nothing is looked up elsewhere.
   */
  records?: string[];
  /** Validating mode: forward every query to this Unbound ('host:port') and validate the answers. */
  forwardTo?: string;
  /** Trust anchors in RR syntax (e.g. a DS for a zone), for validating mode. */
  trustAnchors?: string[];
}

export interface Unbound {
  /** 'host:port' for VAConfig.dnsServer. */
  dnsServer: string;
  /** What Unbound has logged so far (validation failures are logged at val-log-level 2). */
  log(): string;
  close(): Promise<void>;
}

/**
 * false when Unbound is installed. Otherwise the visible reason to skip, unless CI=true: there a missing backend is a
 * failure, so it throws.
 */
export function unboundSkip(): string | false {
  if (existsSync(UNBOUND_BINARY)) return false;
  const reason = `${UNBOUND_BINARY} is not installed (Debian package unbound; .ci/run installs it)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  console.log(`skipping the Unbound cases: ${reason}`);
  return reason;
}

// Unbound's config takes a single-quoted string with double quotes inside, which CAA values need.
function quoted(value: string): string {
  if (value.includes("'") || value.includes('\n')) throw new Error(`cannot put ${JSON.stringify(value)} in an Unbound config`);
  return `'${value}'`;
}

function config(dir: string, port: number, options: UnboundOptions): string {
  const lines = [
    'server:',
    '  do-daemonize: no',
    '  chroot: ""',
    '  username: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, 'unbound.pid')}"`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  val-log-level: 2',
    '  num-threads: 1',
    `  interface: 127.0.0.1@${port}`,
    '  do-ip6: no',
    '  so-reuseport: no',
    // No RFC 8145 key-tag queries: the tests should see only their own lookups.
    '  trust-anchor-signaling: no',
  ];
  if (options.forwardTo) {
    const [host, forwardPort] = options.forwardTo.split(':');
    lines.push('  module-config: "validator iterator"', '  do-not-query-localhost: no');
    for (const anchor of options.trustAnchors ?? []) lines.push(`  trust-anchor: ${quoted(anchor)}`);
    lines.push('forward-zone:', '  name: "."', `  forward-addr: ${host}@${forwardPort}`);
  } else {
    lines.push('  module-config: "iterator"', '  local-zone: "." static');
    for (const record of options.records ?? []) lines.push(`  local-data: ${quoted(record)}`);
  }
  lines.push('remote-control:', '  control-enable: no', '');
  return lines.join('\n');
}

export async function startUnbound(options: UnboundOptions): Promise<Unbound> {
  const dir = await mkdtemp(join(tmpdir(), 'cobble-unbound-'));
  let lastError: unknown;
  // A free port can be taken between the probe and Unbound's bind; a few attempts make that race harmless.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configFile = join(dir, 'unbound.conf');
    await writeFile(configFile, config(dir, port, options));
    const child = spawn(UNBOUND_BINARY, ['-d', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    try {
      await waitReady(child, () => stderr);
      return {
        dnsServer: `127.0.0.1:${port}`,
        log: () => stderr,
        close: async () => {
          await stop(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = new Error(`unbound did not start: ${(err as Error).message}\n${stderr}`);
      await stop(child);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** Unbound logs "start of service" once its listeners are open; an exit before that is a failed start. */
function waitReady(child: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error('no "start of service" within 10 s')); }, 10_000);
    const onData = () => { if (stderr().includes('start of service')) { cleanup(); resolve(); } };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`exited with code ${code}`)); };
    const cleanup = () => {
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
