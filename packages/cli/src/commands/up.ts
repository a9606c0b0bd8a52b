// `cobble up` (what `npm start` runs): the whole stack on loopback with embedded SQLite under ./data — the ACME CA in
// test mode and a DAP leader + helper with a demo task — until SIGINT/SIGTERM. It prints certbot and lego commands that
// get certificates from the CA as printed, with nothing else running.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startCa, type RunningCa } from '@cobble/ca';
import { startDapDemo, type DapDemo } from '@cobble/dap';
import { CliError } from '../errors.js';

export const summary = 'run the whole stack on loopback (ACME CA, DAP leader + helper): `cobble up [--data-dir DIR]`';

const usage = `usage: cobble up [--data-dir DIR] [--any-ports]

Starts on 127.0.0.1, with embedded SQLite under DIR (default ./data):
  ACME CA        https://127.0.0.1:14000/directory  (AIA/CRL over http on :14002), in test mode:
                 DNS on :8053 (every name is 127.0.0.1 / ::1), lego's httpreq endpoint on :8055,
                 http-01 fetched from :5002 and tls-alpn-01 from :5001, where the ACME client serves them
  DAP leader     http://127.0.0.1:14100
  DAP helper     http://127.0.0.1:14101
--any-ports takes free ports instead (for tests and side-by-side runs); the URLs and commands printed are the ones in use.`;

/** Documented ports of test mode's listeners in `cobble up` (Pebble's docs use 8053 and 8055 for challtestsrv's). */
const DNS_PORT = 8053;
const HTTPREQ_PORT = 8055;


/** Quotes for a POSIX shell only what needs it, so the printed commands stay readable and run as printed. */
function sh(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

const command = (env: Record<string, string>, argv: string[]) =>
  [...Object.entries(env).map(([name, value]) => `${name}=${sh(value)}`), ...argv.map(sh)].join(' ');

/** The certbot (http-01) and lego (wildcard by dns-01) commands that work against this CA as printed. */
function clientInstructions(ca: RunningCa, dataDir: string): string {
  const testMode = ca.testMode!;
  const certbotDir = join(dataDir, 'certbot');
  const certbot = command({ REQUESTS_CA_BUNDLE: ca.trustBundlePath }, [
    'certbot', 'certonly', '--server', ca.directoryUrl,
    '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(testMode.http01Port),
    '-d', 'www.example.com', '--agree-tos', '-m', 'you@example.com', '--no-eff-email', '--non-interactive',
    '--config-dir', join(certbotDir, 'config'), '--work-dir', join(certbotDir, 'work'), '--logs-dir', join(certbotDir, 'logs'),
  ]);
  // lego's httpreq provider POSTs each TXT record to the endpoint; --dns.disable-cp: lego checks the record at the
  // resolver given and does not look for the zone's authoritative servers, which test mode does not pretend to have.
  const lego = command({ LEGO_CA_CERTIFICATES: ca.trustBundlePath, HTTPREQ_ENDPOINT: testMode.httpreqEndpoint }, [
    'lego', '--server', ca.directoryUrl, '--accept-tos', '--email', 'you@example.com', '--path', join(dataDir, 'lego'),
    '--dns', 'httpreq', '--dns.resolvers', testMode.dnsServer, '--dns.disable-cp',
    '-d', '*.example.com', '-d', 'example.com', 'run',
  ]);
  return [
    `Test mode           DNS ${testMode.dnsServer} answers every name with 127.0.0.1 / ::1; http-01 is fetched from`,
    `                    127.0.0.1:${testMode.http01Port}, tls-alpn-01 from :${testMode.tlsAlpn01Port}; lego httpreq endpoint ${testMode.httpreqEndpoint}`,
    `Management API      ${testMode.managementUrl} (roots, certificates by serial, revoke, DNS records, reset; see packages/ca/README.md)`,
    '',
    'A certificate by http-01 with certbot (run from anywhere, as printed):',
    `  ${certbot}`,
    `  -> ${join(certbotDir, 'config', 'live', 'www.example.com', 'fullchain.pem')}`,
    'A wildcard by dns-01 with lego:',
    `  ${lego}`,
    `  -> ${join(dataDir, 'lego', 'certificates', '_.example.com.crt')}`,
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  let values: { 'data-dir'?: string; 'any-ports'?: boolean; help?: boolean };
  try {
    const options = { 'data-dir': { type: 'string' }, 'any-ports': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
    ({ values } = parseArgs({ args, options, strict: true }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  // Absolute, so the printed commands work from any directory.
  const dataDir = resolve(values['data-dir'] ?? 'data');
  const port = (documentedDefault: number) => (values['any-ports'] ? 0 : documentedDefault);
  let ca: RunningCa | undefined;
  let dap: DapDemo | undefined;
  try {
    ca = await startCa({
      dataDir,
      listen: { host: '127.0.0.1', port: port(14000), httpPort: port(14002) },
      // Without them, test mode's defaults (5002, 5001).
      va: values['any-ports'] ? { httpPort: await freePort(), tlsPort: await freePort() } : {},
      testMode: { enabled: true, dnsPort: port(DNS_PORT), httpreqPort: port(HTTPREQ_PORT) },
      // A local stack for trying clients: running certbot twice for the same names must not hit the
      // duplicate-certificate limit (Pebble has none either). `cobble ca serve --test` keeps the configured limits.
      rateLimits: { enabled: false },
    });
    dap = await startDapDemo({ dataDir: join(dataDir, 'dap'), leaderPort: port(14100), helperPort: port(14101), cli: 'npm run cobble --' });
  } catch (err) {
    await dap?.close();
    await ca?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      // net and dgram errors carry the address that failed.
      const { address, port: taken } = err as { address?: string; port?: number };
      throw new CliError(`cannot listen on ${address ?? '127.0.0.1'}:${taken ?? '?'}: the port is taken (is another cobble running?); stop that process, or run \`cobble up --any-ports\` to take free ports`);
    }
    throw err;
  }
  console.log(
    [
      'cobble is up (Ctrl-C stops it)',
      '',
      `ACME directory      ${ca.directoryUrl}`,
      `Trust for its HTTPS ${ca.trustBundlePath}`,
      clientInstructions(ca, dataDir),
      '',
      dap.printInstructions(),
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dap.close();
  await ca.close();
  return 0;
}
