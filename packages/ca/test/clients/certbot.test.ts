// certbot (Debian 2.1), unmodified, against cobble: register, http-01 (standalone), dns-01 (manual hooks, including a
// wildcard), revoke. Every issued chain passes openssl verify -x509_strict.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertIssued, certbotRunner, describeRun, startClientEnv, uniqueName, writeDnsHook, type ClientEnv, type RunResult } from './common.js';

let env: ClientEnv;
let certbot: (args: string[]) => Promise<RunResult>;

before(async () => {
  env = await startClientEnv();
  certbot = certbotRunner(env.ca, env.dir);
});
after(() => env?.close());

test('certbot: register, http-01, dns-01 (with a wildcard), revoke', async () => {
  const registered = await certbot(['register', '--agree-tos', '--email', 'certbot-test@example.com']);
  assert.equal(registered.code, 0, describeRun('certbot register', registered));
  assert.match(registered.output, /Account registered/);

  const httpName = uniqueName('certbot-http');
  const viaHttp = await certbot([
    'certonly', '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(env.httpPort),
    '--cert-name', 'viahttp', '-d', httpName,
  ]);
  assert.equal(viaHttp.code, 0, describeRun('certbot certonly --standalone', viaHttp));
  const httpChainPath = join(env.dir, 'config', 'live', 'viahttp', 'fullchain.pem');
  assertIssued(await readFile(httpChainPath, 'utf8'), env.ca, [httpName]);

  const dnsName = uniqueName('certbot-dns');
  const viaDns = await certbot([
    'certonly', '--manual', '--preferred-challenges', 'dns',
    '--manual-auth-hook', await writeDnsHook(env.dir, env.dns, 'certbot-auth'),
    '--manual-cleanup-hook', await writeDnsHook(env.dir, env.dns, 'certbot-cleanup'),
    '--cert-name', 'viadns', '-d', dnsName, '-d', `*.${dnsName}`,
  ]);
  assert.equal(viaDns.code, 0, describeRun('certbot certonly --manual (dns)', viaDns));
  assertIssued(await readFile(join(env.dir, 'config', 'live', 'viadns', 'fullchain.pem'), 'utf8'), env.ca, [dnsName, `*.${dnsName}`]);

  for (const name of ['viahttp', 'viadns']) {
    const certPath = join(env.dir, 'config', 'live', name, 'cert.pem');
    const revoked = await certbot(['revoke', '--cert-path', certPath, '--reason', 'superseded', '--no-delete-after-revoke']);
    assert.equal(revoked.code, 0, describeRun(`certbot revoke ${name}`, revoked));
    assert.match(revoked.output, /revoked/i);
    // The CA remembers: a second revocation is refused as alreadyRevoked.
    const again = await certbot(['revoke', '--cert-path', certPath, '--no-delete-after-revoke']);
    assert.notEqual(again.code, 0, describeRun('second certbot revoke', again));
    // certbot 2.1 on Python 3.11 crashes while printing ACME errors (josepy "can't set attribute"), so read the
    // problem it received from its debug log.
    const log = await readFile(join(env.dir, 'logs', 'letsencrypt.log'), 'utf8');
    assert.match(log.slice(log.lastIndexOf('revoke-cert')), /urn:ietf:params:acme:error:alreadyRevoked/);
  }
});
