// Profiles (draft-ietf-acme-profiles) with real clients: certbot 2.1 cannot name a profile, so each profile is the
// CA's configured default once and certbot gets a certificate under it; acme-client names one in newOrder, including
// shortlived with an IP address identifier (RFC 8738). Validity and extensions must be the profile's.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import acme from 'acme-client';
import { assertIssued, certbotRunner, describeRun, startClientEnv, uniqueName, type ClientEnv } from './clients/common.js';
import { Http01Responder, splitPemChain } from './support/acme.js';
import { trustForAcmeClient } from './support/acme-client.js';
import { opensslVerifyStrict } from './support/openssl.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EXPECTED = {
  classic: { validity: 90 * DAY, commonName: true, skid: true, keyEncipherment: true },
  tlsserver: { validity: 45 * DAY, commonName: false, skid: false, keyEncipherment: false },
  shortlived: { validity: 160 * HOUR, commonName: false, skid: false, keyEncipherment: false },
} as const;

/** The leaf's profile-dependent parts, as a relying party sees them. */
function assertProfile(leafPem: string, profile: keyof typeof EXPECTED, rsaKey: boolean) {
  const leaf = new x509.X509Certificate(leafPem);
  const expected = EXPECTED[profile];
  // BR validity counts both ends: notAfter − notBefore + 1 s.
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime() + 1000, expected.validity, `${profile}: validity`);
  assert.equal(leaf.subjectName.getField('CN').length, expected.commonName ? 1 : 0, `${profile}: common name`);
  assert.equal(leaf.getExtension(x509.SubjectKeyIdentifierExtension) !== null, expected.skid, `${profile}: SKID`);
  const usages = leaf.getExtension(x509.KeyUsagesExtension)!.usages;
  assert.equal((usages & x509.KeyUsageFlags.keyEncipherment) !== 0, rsaKey && expected.keyEncipherment, `${profile}: keyEncipherment`);
  assert.equal(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.critical, !expected.commonName, `${profile}: SAN critical iff no CN`);
}

for (const profile of Object.keys(EXPECTED) as Array<keyof typeof EXPECTED>) {
  describe(`certbot under the configured default profile "${profile}"`, () => {
    let env: ClientEnv;
    after(() => env?.close());

    test(`an RSA certificate over http-01 has ${profile}'s validity and extensions`, async () => {
      env = await startClientEnv({ profiles: { default: profile } });
      const name = uniqueName(`certbot-${profile}`);
      const result = await certbotRunner(env.ca, env.dir)([
        'certonly', '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(env.httpPort), '--key-type', 'rsa',
        '--cert-name', profile, '-d', name, '--agree-tos', '--email', 'profiles@example.com',
      ]);
      assert.equal(result.code, 0, describeRun('certbot certonly', result));
      const chain = await readFile(join(env.dir, 'config', 'live', profile, 'fullchain.pem'), 'utf8');
      assertIssued(chain, env.ca, [name]);
      assertProfile(splitPemChain(chain)[0]!, profile, true);
    });
  });
}

describe('acme-client names the profile in newOrder', () => {
  let env: ClientEnv;
  let client: acme.Client;
  let responder: Http01Responder;
  let agent: https.Agent;
  after(async () => {
    await responder?.close();
    agent?.destroy();
    await env?.close();
  });

  /** newOrder with a profile, http-01 for every authorization, finalize, download. */
  async function issue(identifiers: { type: string; value: string }[], profile: string, csr: Buffer) {
    const order = await client.createOrder({ identifiers, profile } as never);
    assert.equal((order as unknown as { profile: string }).profile, profile, 'the order echoes its profile');
    for (const authz of await client.getAuthorizations(order)) {
      const challenge = authz.challenges.find((c) => c.type === 'http-01')!;
      responder.set(challenge.token, await client.getChallengeKeyAuthorization(challenge));
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    }
    const finalized = await client.finalizeOrder(order, csr);
    return client.getCertificate(await client.waitForValidStatus(finalized));
  }

  test('tlsserver by name on a CA whose default is classic', async () => {
    // A CA for testing on one machine: the loopback address may be certified.
    env = await startClientEnv({ policy: { allowSpecialPurposeIps: true } });
    agent = trustForAcmeClient(await readFile(env.ca.trustBundlePath));
    client = new acme.Client({ directoryUrl: env.ca.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
    responder = await Http01Responder.start(env.httpPort);
    const name = uniqueName('acmeclient-tlsserver');
    const [, csr] = await acme.crypto.createCsr({ altNames: [name] }, await acme.crypto.createPrivateRsaKey(2048));
    const chain = await issue([{ type: 'dns', value: name }], 'tlsserver', csr);
    assertIssued(chain, env.ca, [name]);
    assertProfile(splitPemChain(chain)[0]!, 'tlsserver', true);
  });

  test('shortlived with an IP address identifier: validated over http-01 at the address, iPAddress SAN', async () => {
    const [, csr] = await acme.crypto.createCsr({ altNames: ['127.0.0.1'] }, await acme.crypto.createPrivateEcdsaKey());
    const chain = await issue([{ type: 'ip', value: '127.0.0.1' }], 'shortlived', csr);
    const leafPem = splitPemChain(chain)[0]!;
    assertProfile(leafPem, 'shortlived', false);
    const san = new x509.X509Certificate(leafPem).getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(san.names.items.map((n) => [n.type, n.value]), [['ip', '127.0.0.1']]);
    const root = env.ca.rootsPem[new X509Certificate(leafPem).publicKey.asymmetricKeyType === 'rsa' ? 'rsa' : 'ecdsa']!;
    const verified = opensslVerifyStrict(chain, root);
    assert.ok(verified.ok, verified.output);
  });

  test('an IP identifier under classic is unsupportedIdentifier; an unknown profile is invalidProfile', async () => {
    await assert.rejects(client.createOrder({ identifiers: [{ type: 'ip', value: '127.0.0.1' }] }), /unsupportedIdentifier|not accepted|ip/i);
    await assert.rejects(client.createOrder({ identifiers: [{ type: 'dns', value: uniqueName('x') }], profile: 'gold' } as never), (err: Error) => {
      assert.match(err.message, /profile "gold" is not offered.*classic, tlsserver, shortlived/);
      return true;
    });
  });
});
