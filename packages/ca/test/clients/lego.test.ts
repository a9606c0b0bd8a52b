// lego (Debian 4.9), unmodified, against cobble: account registration on the first run, then certificates by http-01,
// dns-01 (exec provider publishing to the test DNS server, including a wildcard) and tls-alpn-01, each revoked; and
// --always-deactivate-authorizations, which leaves the order's authorizations deactivated.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, importPKCS8 } from 'jose';
import { AcmeTestClient } from '../support/acme.js';
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

const accountDir = () => join(env.dir, 'lego', 'accounts', new URL(env.ca.directoryUrl).host.replace(':', '_'), EMAIL);

test('lego: register + http-01, then revoke', async () => {
  await issueAndRevoke('http-01', [uniqueName('lego-http')], ['--http', '--http.port', `127.0.0.1:${env.httpPort}`]);
  const account = JSON.parse(await readFile(join(accountDir(), 'account.json'), 'utf8').catch(() => '{}'));
  assert.match(JSON.stringify(account), /acme\/acct\//, 'lego stored the account URL the CA returned');
});

test('lego: --always-deactivate-authorizations deactivates the authorizations after issuance', async () => {
  const name = uniqueName('lego-deact');
  const issued = await lego([name], ['--http', '--http.port', `127.0.0.1:${env.httpPort}`], ['run', '--always-deactivate-authorizations', 'true']);
  assert.equal(issued.code, 0, describeRun('lego run --always-deactivate-authorizations', issued));
  assertIssued(await readFile(certificateFile(name), 'utf8'), env.ca, [name]);
  // lego only logs a refused deactivation and still exits 0, so its log and the CA's answer are what tell.
  assert.doesNotMatch(issued.output, /Unable to deactivate/, describeRun('lego', issued));
  const authzUrls = [...issued.output.matchAll(/Deactivating auth: (\S+)/g)].map((m) => m[1]!);
  assert.equal(authzUrls.length, 1, describeRun('lego', issued));

  // Ask the CA with lego's own account (its key and account URL, as lego stored them).
  const keyObject = createPrivateKey(await readFile(join(accountDir(), 'keys', `${EMAIL}.key`)));
  assert.equal(keyObject.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'lego\'s default account key is P-256');
  const jwk = await exportJWK(createPublicKey(keyObject));
  const privateKey = await importPKCS8(keyObject.export({ type: 'pkcs8', format: 'pem' }) as string, 'ES256');
  const client = await AcmeTestClient.create(env.ca.directoryUrl, env.ca.trustBundlePath, {
    alg: 'ES256', privateKey, jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256'),
  });
  try {
    client.accountUrl = JSON.parse(await readFile(join(accountDir(), 'account.json'), 'utf8')).registration.uri;
    for (const url of authzUrls) {
      const authz = await client.post(url, undefined);
      assert.equal(authz.status, 200, authz.text());
      assert.equal(authz.json().status, 'deactivated', authz.text());
    }
  } finally {
    client.close();
  }
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
