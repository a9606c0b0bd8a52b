// revokeCert over ACME against a real CA: the BR reason codes, keyCompromise only with the certificate key (and the
// key blocked afterwards), a proven compromise upgrading an earlier reason, and the CRL shard fixed at issuance still
// listing the certificate after a restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { calculateJwkThumbprint } from 'jose';
import { fetchHttp, issueViaHttp01, splitPemChain, validateHttp01Authorizations, type AccountKey, type AcmeTestClient } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

let h: Harness;
let client: AcmeTestClient;

before(async () => {
  h = await startHarness({ crl: { shards: 3, revocationDelayMs: 50 } });
  client = await h.client();
  assert.equal((await client.register()).status, 201);
});
after(() => h?.close());

const leafOf = (chainPem: string) => new x509.X509Certificate(splitPemChain(chainPem)[0]!);
const certificateField = (chainPem: string) => Buffer.from(leafOf(chainPem).rawData).toString('base64url');
const crlUrlOf = (leaf: x509.X509Certificate) =>
  leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;

async function crlEntry(url: string, leaf: x509.X509Certificate) {
  const fetched = await fetchHttp(url);
  assert.equal(fetched.status, 200);
  return new x509.X509Crl(fetched.body).entries.find((e) => e.serialNumber.toLowerCase() === leaf.serialNumber.toLowerCase());
}

/** A client whose account key is the certificate's key: its requests carry "jwk" and prove possession of that key. */
async function certificateKeyClient(issued: Awaited<ReturnType<typeof issueViaHttp01>>): Promise<AcmeTestClient> {
  const { kty, crv, x, y } = issued.csr.publicJwk;
  const jwk = { kty, crv, x, y };
  const key: AccountKey = { alg: 'ES256', privateKey: issued.csr.keys.privateKey as never, jwk, thumbprint: await calculateJwkThumbprint(jwk) };
  return h.client(key);
}

test('reasons per BR 7.2.2: privilegeWithdrawn is the CA\'s, codes outside the list are refused, keyCompromise needs the certificate key', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['reasons.example.com']);
  const certificate = certificateField(issued.chainPem);
  const withdrawn = assertProblem(await client.post(client.directory.revokeCert, { certificate, reason: 9 }), 'badRevocationReason', 400);
  assert.match(withdrawn.detail, /privilegeWithdrawn is for the CA/);
  for (const reason of [2, 6, 7, 8, 10, -1, 1.5, '4']) {
    assertProblem(await client.post(client.directory.revokeCert, { certificate, reason }), 'badRevocationReason', 400);
  }
  const claimed = assertProblem(await client.post(client.directory.revokeCert, { certificate, reason: 1 }), 'badRevocationReason', 400);
  assert.match(claimed.detail, /sign the revocation request .* with the certificate's private key/);
  // None of the refusals revoked it: cessationOfOperation still goes through.
  assert.equal((await client.post(client.directory.revokeCert, { certificate, reason: 5 })).status, 200);
});

test('keyCompromise signed by the certificate key revokes it and blocks the key for new certificates and accounts', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['compromised.example.com']);
  const holder = await certificateKeyClient(issued);
  const revoked = await holder.post(holder.directory.revokeCert, { certificate: certificateField(issued.chainPem), reason: 1 }, { useJwk: true });
  assert.equal(revoked.status, 200, revoked.text());
  const leaf = leafOf(issued.chainPem);
  assert.equal((await crlEntry(crlUrlOf(leaf), leaf))?.reason, x509.X509CrlReason.keyCompromise);

  // A CSR with the compromised key: badPublicKey, and the order stays ready for a CSR with another key.
  const orderResponse = await client.newOrder(['compromised.example.com']);
  const order = orderResponse.json();
  await validateHttp01Authorizations(client, h.responder, order.authorizations);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['compromised.example.com'] }],
    keys: issued.csr.keys as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as never,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'compromised.example.com' }])],
  });
  const refused = assertProblem(await client.post(order.finalize, { csr: Buffer.from(csr.rawData).toString('base64url') }), 'badPublicKey', 400);
  assert.match(refused.detail, /blocked/);
  assert.equal((await client.post(orderResponse.header('location')!, undefined)).json().status, 'ready');
  // Nor may it become an account key.
  assertProblem(await holder.register(), 'badPublicKey', 400);
});

test('an account\'s revocation (superseded) is upgraded to keyCompromise when the key holder proves it later; then alreadyRevoked', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['upgraded.example.com']);
  const certificate = certificateField(issued.chainPem);
  const leaf = leafOf(issued.chainPem);
  assert.equal((await client.post(client.directory.revokeCert, { certificate, reason: 4 })).status, 200);
  assert.equal((await crlEntry(crlUrlOf(leaf), leaf))?.reason, x509.X509CrlReason.superseded);
  assertProblem(await client.post(client.directory.revokeCert, { certificate, reason: 4 }), 'alreadyRevoked', 400);
  const holder = await certificateKeyClient(issued);
  assert.equal((await holder.post(holder.directory.revokeCert, { certificate, reason: 1 }, { useJwk: true })).status, 200);
  assert.equal((await crlEntry(crlUrlOf(leaf), leaf))?.reason, x509.X509CrlReason.keyCompromise);
  assertProblem(await holder.post(holder.directory.revokeCert, { certificate, reason: 1 }, { useJwk: true }), 'alreadyRevoked', 400);
});

test('the shard named at issuance is the one that lists the certificate, also after a restart', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['sharded.example.com']);
  const leaf = leafOf(issued.chainPem);
  const path = new URL(crlUrlOf(leaf)).pathname;
  const shard = Number(/^\/crl\/ecdsa\/([0-2])\.crl$/.exec(path)?.[1]);
  assert.ok(shard >= 0 && shard < 3, path);
  await h.restart();
  const again = await h.client(client.key);
  const found = await again.post(again.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
  again.accountUrl = found.header('location');
  assert.equal((await again.post(again.directory.revokeCert, { certificate: certificateField(issued.chainPem), reason: 0 })).status, 200);
  // The plain-HTTP port changed with the restart (port 0); the path is the shard's.
  const base = `http://127.0.0.1:${h.ca.httpPort}`;
  const entry = await crlEntry(base + path, leaf);
  assert.ok(entry, `shard ${shard} lists the certificate`);
  assert.equal(entry.reason, undefined, 'unspecified carries no reason code (BR 7.2.2)');
  for (const other of [0, 1, 2].filter((s) => s !== shard)) {
    assert.equal(await crlEntry(`${base}/crl/ecdsa/${other}.crl`, leaf), undefined, `shard ${other} does not list it`);
  }
  client = again;
});
