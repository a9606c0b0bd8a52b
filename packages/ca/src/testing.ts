// @cobble/ca/testing: a CA in test mode inside the caller's own test process, on free loopback ports, with its state
// in a temporary directory that close() removes — so an ACME client's test suite needs no server started beside it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaConfigInput } from './config/index.js';
import { freePort } from './core/ports.js';
import { startCa } from './server.js';
import { managementClient, type ManagementClient } from './testmode/client.js';
import type { FaultSettingsInput } from './testmode/faults.js';

export type { CertificateStatus, ChainCertificate, FaultCounts, FaultSettings, FaultSettingsInput, ManagementClient } from './testmode/client.js';

export interface TestCaOptions {
  /** Where the client under test serves http-01 (the VA fetches from 127.0.0.1:port). Default: a free port. */
  http01Port?: number;
  /** Where the client under test serves tls-alpn-01. Default: a free port. */
  tlsAlpn01Port?: number;
  /** Fault knobs, as `testMode.faults` (README: Fault knobs); all off by default. */
  faults?: FaultSettingsInput;
  /** Further configuration (profiles, CAA identities, EAB, a log level, rate limits back on, …). */
  config?: Omit<CaConfigInput, 'dataDir' | 'listen' | 'testMode'>;
}

export interface TestCa {
  directoryUrl: string;
  /** PEM of the root the ACME server's HTTPS certificate chains to: what the client must trust. */
  caBundle: string;
  /** The same PEM as a file (inside the temporary directory, gone after close()). */
  caBundlePath: string;
  /** PEM of every root issued certificates chain to, alternate chains included, each once. */
  roots: string[];
  management: ManagementClient;
  /** Where the client must serve http-01 and tls-alpn-01 challenges. */
  http01Port: number;
  tlsAlpn01Port: number;
  /** The test-mode DNS server, "127.0.0.1:port" (every name is 127.0.0.1/::1 unless set otherwise). */
  dnsServer: string;
  /** Stops every listener and removes the temporary directory. */
  close(): Promise<void>;
}


export async function startTestCa(options: TestCaOptions = {}): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'cobble-test-ca-'));
  try {
    const http01Port = options.http01Port ?? (await freePort());
    const tlsAlpn01Port = options.tlsAlpn01Port ?? (await freePort());
    const { config = {} } = options;
    const ca = await startCa({
      ...config,
      dataDir: dir,
      listen: { host: '127.0.0.1', port: 0, httpPort: 0 },
      va: { ...config.va, httpPort: http01Port, tlsPort: tlsAlpn01Port },
      // A test suite orders many certificates for the same names in seconds.
      rateLimits: { enabled: false, ...config.rateLimits },
      log: { level: 'error', ...config.log },
      testMode: { enabled: true, ...(options.faults ? { faults: options.faults } : {}) },
    });
    const testMode = ca.testMode!;
    const management = managementClient(testMode.managementUrl);
    let roots: string[], caBundle: string;
    try {
      roots = [...new Set((await management.roots()).map((r) => r.pem))];
      caBundle = await readFile(ca.trustBundlePath, 'utf8');
    } catch (err) {
      await ca.close();
      throw err;
    }
    let closed: Promise<void> | undefined;
    return {
      directoryUrl: ca.directoryUrl,
      caBundle,
      caBundlePath: ca.trustBundlePath,
      roots,
      management,
      http01Port: testMode.http01Port,
      tlsAlpn01Port: testMode.tlsAlpn01Port,
      dnsServer: testMode.dnsServer,
      close: () =>
        (closed ??= (async () => {
          try {
            await ca.close();
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        })()),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
