// Starts a real CA on loopback (port 0, fresh data directory), a DNS server (pebble-challtestsrv) that answers
// 127.0.0.1 for every name, and an http-01 responder the VA is pointed at.
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCa, type CaConfigInput, type RunningCa, type StartOptions } from '../../src/index.js';
import { startChallTestSrv, type ChallTestSrv } from '../va/challtestsrv.js';
import { AcmeTestClient, Http01Responder, type AccountKey } from './acme.js';

export interface Harness {
  ca: RunningCa;
  dns: ChallTestSrv;
  responder: Http01Responder;
  dataDir: string;
  config: CaConfigInput;
  /** Every client made by `client()`, in order. */
  clients: AcmeTestClient[];
  client(key?: AccountKey): Promise<AcmeTestClient>;
  /** Restarts the CA on the same data directory (and port). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Sections of the CA config a test sets (merged over the harness's own listen/va/log); `start` reaches startCa. */
export type HarnessOverrides = Omit<CaConfigInput, 'listen' | 'va' | 'log'> & { va?: { caaIdentities?: never; perspectives?: NonNullable<CaConfigInput['va']>['perspectives'] }; start?: StartOptions };

export async function startHarness(overrides: HarnessOverrides = {}): Promise<Harness> {
  const { start, va, ...sections } = overrides;
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'cobble-ca-')));
  const dns = await startChallTestSrv();
  const responder = await Http01Responder.start();
  const config: CaConfigInput = {
    // Suites make dozens of accounts and orders from 127.0.0.1; the rate-limit tests turn limits on themselves.
    rateLimits: { enabled: false },
    ...sections,
    dataDir,
    listen: { host: '127.0.0.1', port: 0, httpPort: 0 },
    va: { httpPort: responder.port, tlsPort: 443, dnsServer: dns.dnsServer, timeoutMs: 5000, perspectives: va?.perspectives },
    log: { level: 'error' },
  };
  const clients: AcmeTestClient[] = [];
  let ca: RunningCa;
  try {
    ca = await startCa(config, start);
  } catch (err) {
    // A CA that refuses to start must not leave the DNS server and responder keeping the test process alive.
    await responder.close();
    await dns.close();
    if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const harness: Harness = {
    ca,
    dns,
    responder,
    dataDir,
    config,
    clients,
    async client(key) {
      const client = await AcmeTestClient.create(harness.ca.directoryUrl, harness.ca.trustBundlePath, key);
      clients.push(client);
      return client;
    },
    async restart() {
      const port = harness.ca.port;
      await harness.ca.close();
      harness.ca = await startCa({ ...config, listen: { host: '127.0.0.1', port, httpPort: 0 } }, start);
    },
    async close() {
      clients.forEach((c) => c.close());
      await harness.ca.close();
      await responder.close();
      await dns.close();
      if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/**
 * Registers the test file's hooks: before its tests, a harness and one client with a registered account (handed to
 * `ready`); after them, the harness closed.
 */
export function withRegisteredAccount(ready: (started: { h: Harness; client: AcmeTestClient }) => void): void {
  let harness: Harness | undefined;
  before(async () => {
    harness = await startHarness();
    const client = await harness.client();
    const registered = await client.register();
    if (registered.status !== 201) throw new Error(`newAccount answered HTTP ${registered.status}: ${registered.text()}`);
    ready({ h: harness, client });
  });
  after(async () => {
    await harness?.close();
  });
}
