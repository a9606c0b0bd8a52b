// Starts Debian's pebble-challtestsrv as a loopback DNS server for tests and benchmarks, and drives its management API.
// Only the DNS and management listeners are enabled; challenge responders are the tests' own servers or real clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export interface ChallTestSrv {
  /** 'host:port' for VAConfig.dnsServer, lego's --dns.resolvers and pebble's -dnsserver. */
  dnsServer: string;
  dnsPort: number;
  managementUrl: string;
  addA(host: string, addresses: string[]): Promise<void>;
  addAAAA(host: string, addresses: string[]): Promise<void>;
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  /**
   * Adds CAA records at `host` (appending to any already there). challtestsrv serves every CAA record with flags 0:
   * its management API (MockCAAPolicy) has only tag and value, so the critical flag cannot be served from here.
   */
  addCAA(host: string, policies: { tag: string; value: string }[]): Promise<void>;
  clearCAA(host: string): Promise<void>;
  /** Makes `host` an alias of `target`; challtestsrv follows it one level and answers with the target's records. */
  setCNAME(host: string, target: string): Promise<void>;
  clearCNAME(host: string): Promise<void>;
  setServfail(host: string): Promise<void>;
  clearServfail(host: string): Promise<void>;
  close(): Promise<void>;
}

/** A port that is free for both TCP and UDP on 127.0.0.1 right now (challtestsrv's DNS listens on both). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free TCP+UDP port found on 127.0.0.1 after 20 attempts');
}

const fqdn = (host: string) => (host.endsWith('.') ? host : `${host}.`);

export async function startChallTestSrv(options: { defaultIPv4?: string; defaultIPv6?: string } = {}): Promise<ChallTestSrv> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dnsPort = await freePort();
    const managementPort = await freePort();
    const child = spawn('pebble-challtestsrv', [
      '-dns01', `127.0.0.1:${dnsPort}`,
      '-management', `127.0.0.1:${managementPort}`,
      '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-defaultIPv4', options.defaultIPv4 ?? '127.0.0.1',
      // Empty by default: tests that want AAAA answers add them per host.
      '-defaultIPv6', options.defaultIPv6 ?? '',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Never outlive the test process, even when a test forgets close() or fails before it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const managementUrl = `http://127.0.0.1:${managementPort}`;
    try {
      await waitReady(child, managementUrl);
      return makeHandle(child, dnsPort, managementUrl);
    } catch (err) {
      lastError = new Error(`pebble-challtestsrv did not start: ${(err as Error).message}\n${stderr}`);
      child.kill('SIGKILL');
    }
  }
  throw lastError;
}

async function waitReady(child: ChildProcess, managementUrl: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      // Any HTTP answer means the management listener (started after DNS) is up.
      await fetch(`${managementUrl}/clear-request-history`, { method: 'POST', body: '{"type":"dns"}', signal: AbortSignal.timeout(500) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('management API not reachable within 10 s');
}

function makeHandle(child: ChildProcess, dnsPort: number, managementUrl: string): ChallTestSrv {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${managementUrl}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`challtestsrv ${path} answered HTTP ${response.status}: ${await response.text()}`);
  };
  return {
    dnsServer: `127.0.0.1:${dnsPort}`,
    dnsPort,
    managementUrl,
    addA: (host, addresses) => post('/add-a', { host: fqdn(host), addresses }),
    addAAAA: (host, addresses) => post('/add-aaaa', { host: fqdn(host), addresses }),
    setTxt: (host, value) => post('/set-txt', { host: fqdn(host), value }),
    clearTxt: (host) => post('/clear-txt', { host: fqdn(host) }),
    addCAA: (host, policies) => post('/add-caa', { host: fqdn(host), policies }),
    clearCAA: (host) => post('/clear-caa', { host: fqdn(host) }),
    setCNAME: (host, target) => post('/set-cname', { host: fqdn(host), target: fqdn(target) }),
    clearCNAME: (host) => post('/clear-cname', { host: fqdn(host) }),
    setServfail: (host) => post('/set-servfail', { host: fqdn(host) }),
    clearServfail: (host) => post('/clear-servfail', { host: fqdn(host) }),
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
