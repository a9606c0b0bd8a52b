// Test mode: what turns the CA into a server ACME clients can be tested against on one machine with nothing else
// running — a DNS server where every name is this host and dns-01/CAA records are set in memory, and the endpoint
// lego's httpreq provider publishes TXT records through. `startCa` starts it when `testMode.enabled`.
import { startTestDnsServer } from './dns.js';
import { startHttpreqEndpoint } from './httpreq.js';
import { createTestDnsRecords, type TestDnsRecords } from './records.js';

export type { TestCaaRecord, TestDnsRecords } from './records.js';

/** Where ACME clients serve challenges in test mode unless the configuration says otherwise (as Pebble's docs use). */
const TEST_MODE_HTTP01_PORT = 5002;
const TEST_MODE_TLSALPN01_PORT = 5001;

export interface TestMode {
  /** TXT and CAA records the DNS server serves. */
  records: TestDnsRecords;
  /** The DNS server, "127.0.0.1:port" (the VA's resolver; lego's --dns.resolvers). */
  dnsServer: string;
  /** lego's HTTPREQ_ENDPOINT. */
  httpreqEndpoint: string;
  /** Where the VA fetches http-01 and tls-alpn-01 (where the ACME client under test must serve them). */
  http01Port: number;
  tlsAlpn01Port: number;
  close(): Promise<void>;
}

/** Starts the DNS server and the httpreq endpoint; `va` holds the VA ports as configured, if they are. */
export async function startTestMode(
  ports: { dnsPort: number; httpreqPort: number },
  va: { httpPort?: number; tlsPort?: number },
): Promise<TestMode> {
  const records = createTestDnsRecords();
  const dns = await startTestDnsServer(records, ports.dnsPort);
  let httpreq;
  try {
    httpreq = await startHttpreqEndpoint(records, ports.httpreqPort);
  } catch (err) {
    await dns.close();
    throw err;
  }
  return {
    records,
    dnsServer: dns.address,
    httpreqEndpoint: httpreq.url,
    http01Port: va.httpPort ?? TEST_MODE_HTTP01_PORT,
    tlsAlpn01Port: va.tlsPort ?? TEST_MODE_TLSALPN01_PORT,
    close: async () => {
      await Promise.all([dns.close(), httpreq.close()]);
    },
  };
}
