// @cobble/ca/testing as an ACME client's test suite uses it: startTestCa() in this process, the npm acme-client
// issuing over http-01 and revoking, the management API reporting and steering state, close() leaving nothing behind.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type https from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import acme from 'acme-client';
import { startTestCa, type TestCa } from '@cobble/ca/testing';
import { Http01Responder } from './support/acme.js';
import { issueWithAcmeClient, trustForAcmeClient } from './support/acme-client.js';

let ca: TestCa;
let client: acme.Client;
let agent: https.Agent;
let responder: Http01Responder;
let counter = 0;
const uniqueName = (label: string) => `${label}-${process.pid}-${++counter}.example.com`;

before(async () => {
  ca = await startTestCa();
  agent = trustForAcmeClient(ca.caBundle);
  client = new acme.Client({ directoryUrl: ca.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
  responder = await Http01Responder.start(ca.http01Port);
});
after(async () => {
  await responder?.close();
  agent?.destroy();
  await ca?.close();
});

async function issue(name: string): Promise<{ chain: string; leaf: X509Certificate; serial: string }> {
  const chain = await issueWithAcmeClient(client, responder, name);
  const leaf = new X509Certificate(chain);
  // Node prints serials upper-case; the API takes any case.
  return { chain, leaf, serial: leaf.serialNumber };
}

test('acme-client issues over http-01 and revokes; the management API shows the revocation with its reason', async () => {
  const name = uniqueName('testing');
  const { chain, leaf, serial } = await issue(name);
  assert.equal(leaf.subjectAltName, `DNS:${name}`);
  // The leaf's issuer is signed by one of the roots startTestCa hands out.
  const intermediate = new X509Certificate(chain.slice(chain.indexOf('-----BEGIN', 1)));
  assert.ok(leaf.verify(intermediate.publicKey));
  assert.ok(ca.roots.some((root) => intermediate.verify(new X509Certificate(root).publicKey)));

  const before = await ca.management.certificate(serial);
  assert.equal(before.status, 'valid');
  assert.equal(before.revocationReason, undefined);
  assert.equal(new X509Certificate(before.pem).fingerprint256, leaf.fingerprint256);
  assert.equal(before.notAfter, new Date(leaf.validTo).toISOString());

  await client.revokeCertificate(chain, { reason: 4 });
  const after = await ca.management.certificate(serial);
  assert.equal(after.status, 'revoked');
  assert.equal(after.revocationReason, 4);
  assert.ok(after.revokedAt && Math.abs(Date.parse(after.revokedAt) - Date.now()) < 60_000);
});

test('management revoke: as the CA with any RFC 5280 reason, once; unknown serials are 404', async () => {
  const { chain, serial } = await issue(uniqueName('mgmt-revoke'));
  const revoked = await ca.management.revoke(serial.toLowerCase().match(/../g)!.join(':'), 9);
  assert.deepEqual([revoked.status, revoked.revocationReason], ['revoked', 9]);
  await assert.rejects(ca.management.revoke(serial, 1), /409 .*already revoked/);
  await assert.rejects(client.revokeCertificate(chain), /already revoked/i);
  await assert.rejects(ca.management.certificate('0badc0ffee'), /404/);
  await assert.rejects(ca.management.revoke(serial, 7), /400 .*reason/);
});

test('roots and intermediates list every chain, the alternate (cross-signed) one included', async () => {
  const intermediates = await ca.management.intermediates();
  const roots = await ca.management.roots();
  const alternates = intermediates.filter((i) => i.chain > 0);
  assert.ok(alternates.length > 0, 'the development hierarchy has a cross-signed alternate chain');
  for (const alt of alternates) {
    const root = roots.find((r) => r.issuer === alt.issuer && r.chain === alt.chain);
    assert.ok(root, `a root for ${alt.issuer} chain ${alt.chain}`);
    assert.ok(new X509Certificate(alt.pem).verify(new X509Certificate(root.pem).publicKey));
  }
  assert.equal(new Set(roots.map((r) => r.pem)).size, ca.roots.length);
});

test('DNS records set through the API are served, CAA steers issuance, reset clears them', async () => {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([ca.dnsServer]);
  const name = uniqueName('dns');
  try {
    await ca.management.setTxt(`_acme-challenge.${name}`, 'token-value');
    await ca.management.setA(name, ['192.0.2.7']);
    await ca.management.setAaaa(name, ['2001:db8::7']);
    assert.deepEqual(await resolver.resolveTxt(`_acme-challenge.${name}`), [['token-value']]);
    assert.deepEqual(await resolver.resolve4(name), ['192.0.2.7']);
    assert.deepEqual(await resolver.resolve6(name), ['2001:db8::7']);
    await assert.rejects(ca.management.setA(name, ['::1']), /400 .*IPv4/);

    const forbidden = uniqueName('caa');
    await ca.management.setCaa(forbidden, [{ tag: 'issue', value: 'other-ca.example' }]);
    assert.deepEqual(await resolver.resolveCaa(forbidden), [{ critical: 0, issue: 'other-ca.example' }]);
    await assert.rejects(issue(forbidden), /caa/i);

    await ca.management.reset();
    await assert.rejects(resolver.resolveTxt(`_acme-challenge.${name}`), { code: 'ENODATA' });
    assert.deepEqual(await resolver.resolve4(name), ['127.0.0.1']);
    await assert.rejects(resolver.resolveCaa(forbidden), { code: 'ENODATA' });
    // The certificates stay.
    assert.ok((await issue(forbidden)).serial);
  } finally {
    resolver.cancel();
  }
});

test('close() frees the ports and removes the temporary directory', async () => {
  const other = await startTestCa();
  const port = Number(new URL(other.directoryUrl).port);
  const managementPort = Number(new URL(other.management.url).port);
  const dir = join(tmpdir(), relative(tmpdir(), other.caBundlePath).split(sep)[0]!);
  assert.match(dir, /cobble-test-ca-/);
  assert.ok(existsSync(dir));
  await other.close();
  for (const p of [port, managementPort]) {
    const socket = connect(p, '127.0.0.1');
    // events.once rejects with the 'error' event's error.
    const outcome = await once(socket, 'connect').then(() => 'connected', (err: NodeJS.ErrnoException) => err.code);
    socket.destroy();
    assert.equal(outcome, 'ECONNREFUSED', `port ${p} is closed`);
  }
  assert.equal(existsSync(dir), false);
});
