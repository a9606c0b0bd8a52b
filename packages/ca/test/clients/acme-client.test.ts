// The npm package acme-client (5.x), unmodified, against cobble: account, http-01 (RSA certificate key), dns-01 with a
// wildcard (ECDSA key), revocation (acme-client always signs revokeCert with the account key).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import { after, before, test } from 'node:test';
import acme from 'acme-client';
import { Http01Responder } from '../support/acme.js';
import { http01Through, trustForAcmeClient } from '../support/acme-client.js';
import { assertIssued, startClientEnv, uniqueName, type ClientEnv } from './common.js';

let env: ClientEnv;
let client: acme.Client;
let agent: https.Agent;
let responder: Http01Responder;
let http01: ReturnType<typeof http01Through>;

before(async () => {
  env = await startClientEnv();
  agent = trustForAcmeClient(await readFile(env.ca.trustBundlePath));
  client = new acme.Client({ directoryUrl: env.ca.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey('P-384') });
  // The http-01 responder a subscriber would run, on the port the VA was told to use.
  responder = await Http01Responder.start(env.httpPort);
  http01 = http01Through(responder);
});
after(async () => {
  await responder?.close();
  agent?.destroy();
  await env?.close();
});

const dns01 = {
  challengePriority: ['dns-01'],
  skipChallengeVerification: true,
  // For dns-01 acme-client hands over base64url(SHA-256(keyAuthorization)), the TXT value itself.
  challengeCreateFn: (authz: { identifier: { value: string } }, _challenge: unknown, txtValue: string) => env.dns.setTxt(`_acme-challenge.${authz.identifier.value}`, txtValue),
  challengeRemoveFn: (authz: { identifier: { value: string } }) => env.dns.clearTxt(`_acme-challenge.${authz.identifier.value}`),
};

test('acme-client: account registration, and onlyReturnExisting finds it again', async () => {
  const account = await client.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:acme-client-test@example.com'] });
  assert.equal(account.status, 'valid');
  assert.match(client.getAccountUrl(), /^https:\/\/127\.0\.0\.1:\d+\//);
  const existing = await client.createAccount({ onlyReturnExisting: true });
  assert.deepEqual(existing.contact, ['mailto:acme-client-test@example.com']);
});

test('acme-client: http-01 with an RSA certificate key, then revocation by the account key', async () => {
  const name = uniqueName('acmeclient-http');
  const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateRsaKey(2048));
  const chain = await client.auto({ csr, termsOfServiceAgreed: true, ...http01 });
  const leaf = assertIssued(chain, env.ca, [name]);
  assert.equal(leaf.publicKey.asymmetricKeyType, 'rsa');

  await client.revokeCertificate(chain, { reason: 4 });
  await assert.rejects(client.revokeCertificate(chain), /already revoked/i);
});

test('acme-client: dns-01 for a name and its wildcard, then revocation', async () => {
  const name = uniqueName('acmeclient-dns');
  const certificateKey = await acme.crypto.createPrivateEcdsaKey();
  const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name, `*.${name}`] }, certificateKey);
  const chain = await client.auto({ csr, termsOfServiceAgreed: true, ...dns01 });
  assertIssued(chain, env.ca, [name, `*.${name}`]);

  await client.revokeCertificate(chain, { reason: 5 });
  await assert.rejects(client.revokeCertificate(chain), /already revoked/i);
});
