// lego (Debian 4.9), unmodified, against cobble: account registration on the first run, then certificates by http-01,
// dns-01 (exec provider publishing to the test DNS server, including a wildcard) and tls-alpn-01, each revoked.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertIssued, describeRun, run, startClientEnv, uniqueName, writeDnsHook, type ClientEnv } from './common.js';

let env: ClientEnv;
let legoEnv: Record<string, string>;

before(async () => {
  env = await startClientEnv();
  legoEnv = {
    // lego trusts this bundle for the ACME server's own HTTPS.
    LEGO_CA_CERTIFICATES: env.ca.trustBundlePath,
    EXEC_PATH: await writeDnsHook(env.dir, env.dns, 'lego-exec'),
    EXEC_PROPAGATION_TIMEOUT: '20',
    EXEC_POLLING_INTERVAL: '1',
    // lego solves a name and its wildcard one after the other (same TXT name), pausing 60 s by default.
    EXEC_SEQUENCE_INTERVAL: '1',
  };
});
after(() => env?.close());

const EMAIL = 'lego-test@example.com';

function lego(domains: string[], challenge: string[], command: string[]) {
  const args = [
    '--server', env.ca.directoryUrl, '--path', join(env.dir, 'lego'), '--email', EMAIL, '--accept-tos',
    ...domains.flatMap((d) => ['--domains', d]), ...challenge, ...command,
  ];
  return run('lego', args, legoEnv, 90_000);
}

const certificateFile = (domain: string) => join(env.dir, 'lego', 'certificates', `${domain.replace('*', '_')}.crt`);

async function issueAndRevoke(label: string, domains: string[], challenge: string[]): Promise<void> {
  const issued = await lego(domains, challenge, ['run']);
  assert.equal(issued.code, 0, describeRun(`lego ${label} run`, issued));
  if (process.env.DEBUG_LEGO) console.error(issued.output);
  // lego writes leaf + issuer chain as served.
  assertIssued(await readFile(certificateFile(domains[0]), 'utf8'), env.ca, domains);

  // --keep: lego would otherwise archive the certificate, and the second revoke would not reach the CA.
  const revoked = await lego(domains.slice(0, 1), [], ['revoke', '--keep', '--reason', '4']);
  assert.equal(revoked.code, 0, describeRun(`lego ${label} revoke`, revoked));
  assert.match(revoked.output, /revoked/i);
  const again = await lego(domains.slice(0, 1), [], ['revoke', '--keep']);
  assert.notEqual(again.code, 0, describeRun(`second lego ${label} revoke`, again));
  assert.match(again.output, /alreadyRevoked/);
}

test('lego: register + http-01, then revoke', async () => {
  await issueAndRevoke('http-01', [uniqueName('lego-http')], ['--http', '--http.port', `127.0.0.1:${env.httpPort}`]);
  const account = JSON.parse(await readFile(join(env.dir, 'lego', 'accounts', new URL(env.ca.directoryUrl).host.replace(':', '_'), EMAIL, 'account.json'), 'utf8').catch(() => '{}'));
  assert.match(JSON.stringify(account), /acme\/acct\//, 'lego stored the account URL the CA returned');
});

test('lego: dns-01 with a wildcard, then revoke', async () => {
  const name = uniqueName('lego-dns');
  await issueAndRevoke('dns-01', [name, `*.${name}`], [
    '--dns', 'exec', '--dns.resolvers', env.dns.dnsServer, '--dns.disable-cp',
  ]);
});

test('lego: tls-alpn-01, then revoke', async () => {
  await issueAndRevoke('tls-alpn-01', [uniqueName('lego-tls')], ['--tls', '--tls.port', `127.0.0.1:${env.tlsPort}`]);
});
