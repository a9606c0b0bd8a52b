// Orders: notBefore/notAfter, authorization deactivation, Link header lines, and revocation by the account key and by
// the certificate key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { calculateJwkThumbprint } from 'jose';
import { AcmeTestClient, fetchHttp, issueViaHttp01, validateHttp01Authorizations, makeCsr, splitPemChain, type AccountKey } from './support/acme.js';
import { withRegisteredAccount, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';
import { opensslVerifyStrict } from './support/openssl.js';

let h: Harness;
let client: AcmeTestClient;

withRegisteredAccount((started) => ({ h, client } = started));

const validateAll = (order: { authorizations: string[] }) => validateHttp01Authorizations(client, h.responder, order.authorizations);

const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

test('notBefore/notAfter are honoured: the order echoes them and the certificate carries them', async () => {
  const notBefore = second(Date.now() + 3_600_000);
  const notAfter = second(Date.now() + 3_600_000 + 10 * 86_400_000);
  const created = await client.newOrder(['window.example.com'], { notBefore, notAfter });
  assert.equal(created.status, 201, created.text());
  const order = created.json();
  assert.equal(order.notBefore, notBefore);
  assert.equal(order.notAfter, notAfter);
  await validateAll(order);
  const csr = await makeCsr(['window.example.com']);
  const finalized = (await client.post(order.finalize, { csr: csr.csrDer.toString('base64url') })).json();
  assert.equal(finalized.status, 'valid');
  const chain = (await client.post(finalized.certificate, undefined)).text();
  const leaf = new x509.X509Certificate(splitPemChain(chain)[0]!);
  assert.equal(leaf.notBefore.toISOString().replace('.000Z', 'Z'), notBefore);
  assert.equal(leaf.notAfter.toISOString().replace('.000Z', 'Z'), notAfter);
});

test('notBefore/notAfter outside the profile are refused with a clear malformed problem', async () => {
  const now = Date.now();
  const tooLong = await client.newOrder(['long.example.com'], { notAfter: second(now + 200 * 86_400_000) });
  assert.match(assertProblem(tooLong, 'malformed', 400).detail, /longer than profile "classic" allows \(90d\)/);
  const backwards = await client.newOrder(['back.example.com'], { notBefore: second(now + 86_400_000), notAfter: second(now + 3_600_000) });
  assert.match(assertProblem(backwards, 'malformed', 400).detail, /later than notBefore/);
  const backdated = await client.newOrder(['old.example.com'], { notBefore: second(now - 2 * 86_400_000) });
  assert.match(assertProblem(backdated, 'malformed', 400).detail, /past/);
  const garbage = await client.newOrder(['garbage.example.com'], { notAfter: 'next tuesday' });
  assert.match(assertProblem(garbage, 'malformed', 400).detail, /RFC 3339/);
});

test('a validation slower than challengeWaitMs answers "processing" with Retry-After, then becomes valid', async () => {
  const created = await client.newOrder(['slow.example.com']);
  const order = created.json();
  const authz = (await client.post(order.authorizations[0], undefined)).json();
  const challenge = authz.challenges.find((c: any) => c.type === 'http-01');
  h.responder.set(challenge.token, client.keyAuthorization(challenge.token), 1500);
  const answered = await client.post(challenge.url, {});
  assert.equal(answered.status, 200);
  assert.equal(answered.json().status, 'processing');
  assert.equal(answered.header('retry-after'), '1');
  const polled = await client.post(order.authorizations[0], undefined);
  assert.equal(polled.json().status, 'pending');
  assert.equal(polled.header('retry-after'), '1');
  // Answering again while processing starts nothing new and reports the same state.
  assert.equal((await client.post(challenge.url, {})).json().status, 'processing');
  const done = await client.poll(order.authorizations[0]);
  assert.equal(done.json().status, 'valid');
  assert.equal(done.header('retry-after'), undefined);
  assert.equal((await client.post(created.header('location')!, undefined)).json().status, 'ready');
});

test('an authorization can be deactivated; its order becomes invalid', async () => {
  const created = await client.newOrder(['deact-authz.example.com']);
  const order = created.json();
  const deactivated = await client.post(order.authorizations[0], { status: 'deactivated' });
  assert.equal(deactivated.status, 200);
  assert.equal(deactivated.json().status, 'deactivated');
  assert.equal((await client.post(created.header('location')!, undefined)).json().status, 'invalid');
  assertProblem(await client.post(order.authorizations[0], { status: 'deactivated' }), 'malformed', 400);
  assertProblem(await client.post(order.authorizations[0], { status: 'valid' }), 'malformed', 400);
});

test('deactivation ignores fields other than "status" (lego sends "identifier" and "expires"); another status is refused', async () => {
  const order = (await client.newOrder(['deact-extra.example.com'])).json();
  const authzUrl = order.authorizations[0];
  const { identifier, expires } = (await client.post(authzUrl, undefined)).json();
  assertProblem(await client.post(authzUrl, { status: 'valid', identifier, expires }), 'malformed', 400);
  assert.equal((await client.post(authzUrl, undefined)).json().status, 'pending', 'a refused update changes nothing');
  const deactivated = await client.post(authzUrl, { status: 'deactivated', identifier, expires });
  assert.equal(deactivated.status, 200, deactivated.text());
  assert.equal(deactivated.json().status, 'deactivated');
});

/** The Link header lines exactly as sent: Node's parsed `headers` would join repeated lines into one. */
async function rawLinkLines(url: string, payload?: unknown): Promise<string[]> {
  const body = JSON.stringify(await client.sign(url, payload));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', agent: client.agent, headers: { 'Content-Type': 'application/jose+json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      const lines: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i]!.toLowerCase() === 'link') lines.push(res.rawHeaders[i + 1]!);
      }
      res.on('end', () => resolve(lines));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('each link is its own Link header line (dehydrated reads one link per line): certificate, challenge', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['link-lines.example.com']);
  const base = new URL(client.directoryUrl).origin;
  const certLines = await rawLinkLines(issued.certUrl);
  assert.deepEqual(certLines, [
    `<${base}/acme/issuer/ecdsa>;rel="up"`,
    `<${issued.certUrl}/1>;rel="alternate"`,
    `<${base}/directory>;rel="index"`,
  ]);
  const authz = (await client.post(issued.order.authorizations[0], undefined)).json();
  const challengeLines = await rawLinkLines(authz.challenges[0].url);
  assert.deepEqual(challengeLines, [`<${issued.order.authorizations[0]}>;rel="up"`, `<${base}/directory>;rel="index"`]);
});

test('a finalized order cannot be finalized again', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['twice.example.com']);
  const csr = await makeCsr(['twice.example.com']);
  assertProblem(await client.post(issued.order.finalize, { csr: csr.csrDer.toString('base64url') }), 'orderNotReady', 403);
});

function leafDer(chainPem: string): Buffer {
  return Buffer.from(new x509.X509Certificate(splitPemChain(chainPem)[0]!).rawData);
}


async function crlOf(chainPem: string): Promise<Buffer> {
  const leaf = new x509.X509Certificate(splitPemChain(chainPem)[0]!);
  const url = leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
  const fetched = await fetchHttp(url);
  assert.equal(fetched.status, 200);
  assert.equal(fetched.type, 'application/pkix-crl');
  return fetched.body;
}

test('revocation by the ordering account; the CRL at the leaf\'s distribution point then lists it', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['revoke-account.example.com']);
  const before = opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.ecdsa, await crlOf(issued.chainPem));
  assert.ok(before.ok, before.output);
  const response = await client.post(client.directory.revokeCert, { certificate: leafDer(issued.chainPem).toString('base64url'), reason: 4 });
  assert.equal(response.status, 200, response.text());
  assert.ok(response.header('replay-nonce'));
  assertProblem(await client.post(client.directory.revokeCert, { certificate: leafDer(issued.chainPem).toString('base64url') }), 'alreadyRevoked', 400);
  const after = opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.ecdsa, await crlOf(issued.chainPem));
  assert.equal(after.ok, false);
  assert.match(after.output, /certificate revoked/);
  const crl = new x509.X509Crl(await crlOf(issued.chainPem));
  const entry = crl.entries.find((e) => e.serialNumber.toLowerCase() === new x509.X509Certificate(splitPemChain(issued.chainPem)[0]!).serialNumber.toLowerCase());
  assert.ok(entry, 'the revoked serial is on the CRL');
  assert.equal(entry.reason, x509.X509CrlReason.superseded);
});

test('revocation by the certificate key (jwk request), from no account at all', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['revoke-key.example.com']);
  assert.ok(opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.ecdsa).ok);
  const { kty, crv, x, y } = issued.csr.publicJwk;
  const jwk = { kty, crv, x, y };
  const certKey: AccountKey = { alg: 'ES256', privateKey: issued.csr.keys.privateKey as never, jwk, thumbprint: await calculateJwkThumbprint(jwk) };
  const stranger = await h.client(certKey);
  const certificate = leafDer(issued.chainPem).toString('base64url');
  const response = await stranger.post(stranger.directory.revokeCert, { certificate, reason: 1 }, { useJwk: true });
  assert.equal(response.status, 200, response.text());
  assertProblem(await stranger.post(stranger.directory.revokeCert, { certificate }, { useJwk: true }), 'alreadyRevoked', 400);
});

test('revocation by another account that holds valid authorizations for every name in the certificate', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['shared-a.example.com', 'shared-b.example.com']);
  const certificate = leafDer(issued.chainPem).toString('base64url');
  const other = await h.client();
  await other.register();
  // Authorized for only one of the two names: refused.
  await issueViaHttp01(other, h.responder, ['shared-a.example.com']);
  assertProblem(await other.post(other.directory.revokeCert, { certificate, reason: 5 }), 'unauthorized', 403);
  // Authorized for both: allowed.
  await issueViaHttp01(other, h.responder, ['shared-b.example.com']);
  const revoked = await other.post(other.directory.revokeCert, { certificate, reason: 5 });
  assert.equal(revoked.status, 200, revoked.text());
});

test('revocation signed by an unrelated key is unauthorized; an unknown certificate is 404', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['revoke-other.example.com']);
  const stranger = await h.client();
  const certificate = leafDer(issued.chainPem).toString('base64url');
  assertProblem(await stranger.post(stranger.directory.revokeCert, { certificate }, { useJwk: true }), 'unauthorized', 403);
  const tampered = leafDer(issued.chainPem);
  tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 1;
  assertProblem(await client.post(client.directory.revokeCert, { certificate: tampered.toString('base64url') }), 'malformed', 404);
});
