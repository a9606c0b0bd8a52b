// Whole-flow issuance against a real server and the real VA (http-01 and dns-01 through pebble-challtestsrv),
// checked with `openssl verify -x509_strict` and against the BR leaf profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { lintCertificate } from '@cobble/pki';
import { AcmeTestClient, fetchHttp, issueViaHttp01, makeCsr, splitPemChain } from './support/acme.js';
import { withRegisteredAccount, type Harness } from './support/harness.js';
import { opensslVerifyStrict } from './support/openssl.js';

let h: Harness;
let client: AcmeTestClient;

withRegisteredAccount((started) => ({ h, client } = started));

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';


/** The BR 7.1.2.7 subscriber profile as the default `classic` profile fills it, checked extension by extension. */
async function assertLeafProfile(chainPem: string, names: string[], keyIsRsa: boolean) {
  const [leafPem, intermediatePem] = splitPemChain(chainPem);
  const leaf = new x509.X509Certificate(leafPem!);
  const intermediate = new x509.X509Certificate(intermediatePem!);
  const serial = Buffer.from(leaf.serialNumber, 'hex');
  assert.ok(serial.length >= 17, `serial has ${serial.length * 8} bits; at least 128 random bits are required`);
  assert.ok(serial[0]! < 0x80 && serial[0]! > 0, 'serial must be positive with no leading zero byte');
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert.deepEqual(san.names.items.map((n) => n.value).sort(), [...names].sort());
  assert.ok(san.names.items.every((n) => n.type === 'dns'));
  const cn = leaf.subjectName.getField('CN');
  if (names.some((n) => n.length <= 64)) {
    assert.equal(cn.length, 1);
    assert.ok(names.includes(cn[0]!) && cn[0]!.length <= 64);
  } else {
    assert.equal(cn.length, 0);
    assert.equal(san.critical, true, 'with an empty subject the SAN must be critical');
  }
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.deepEqual([...eku.usages], [SERVER_AUTH]);
  const ku = leaf.getExtension(x509.KeyUsagesExtension)!;
  assert.equal(ku.critical, true);
  const expected = x509.KeyUsageFlags.digitalSignature | (keyIsRsa ? x509.KeyUsageFlags.keyEncipherment : 0);
  assert.equal(ku.usages, expected);
  const basic = leaf.getExtension(x509.BasicConstraintsExtension)!;
  assert.equal(basic.ca, false);
  assert.equal(leaf.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.length, 40, "classic carries a SKID, as Let's Encrypt's classic profile does");
  const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  assert.equal(aki.keyId, intermediate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
  const policies = leaf.getExtension(x509.CertificatePolicyExtension)!;
  assert.deepEqual([...policies.policies], ['2.23.140.1.2.1']);
  const crldp = leaf.getExtension(x509.CRLDistributionPointsExtension)!;
  const crlUrl = crldp.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
  assert.match(crlUrl, /^http:\/\/127\.0\.0\.1:\d+\/crl\/(ecdsa|rsa)\/\d+\.crl$/);
  const aia = leaf.getExtension(x509.AuthorityInfoAccessExtension)!;
  const caIssuers = aia.caIssuers[0]!.value;
  assert.match(caIssuers, /^http:\/\//);
  const fetched = await fetchHttp(caIssuers);
  assert.equal(fetched.status, 200);
  assert.equal(fetched.type, 'application/pkix-cert');
  assert.deepEqual(fetched.body, Buffer.from(intermediate.rawData), 'the AIA URL serves the issuing intermediate');
  const days = (leaf.notAfter.getTime() - leaf.notBefore.getTime() + 1000) / 86_400_000;
  assert.equal(days, 90);
  assert.ok(await leaf.verify({ publicKey: intermediate.publicKey, signatureOnly: true }));
  // The project's lint suite (BR / RFC 5280 / cobble lints, as the ceremony uses) finds nothing.
  assert.deepEqual(lintCertificate({ der: new Uint8Array(leaf.rawData), kind: 'leaf', issuer: new Uint8Array(intermediate.rawData) }), []);
  return { leaf, intermediate };
}

test('ECDSA P-256 leaf over http-01: openssl -x509_strict on the served chain, BR profile, alternate chain', async () => {
  const names = ['www.example.com', 'example.com'];
  const issued = await issueViaHttp01(client, h.responder, names, 'ecdsa-p256');
  assert.equal(issued.certResponse.status, 200);
  assert.equal(issued.certResponse.header('content-type'), 'application/pem-certificate-chain');
  assert.equal(splitPemChain(issued.chainPem).length, 2);
  const verified = opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.ecdsa);
  assert.ok(verified.ok, verified.output);
  assert.equal(opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.rsa).ok, false, 'ECDSA leaves chain to the ECDSA root');
  const { leaf } = await assertLeafProfile(issued.chainPem, names, false);
  assert.equal(leaf.subjectName.getField('CN')[0], 'www.example.com', 'CN is the first name of the CSR');
  // rel="up" names the issuer; rel="alternate" a chain through the cross-signed intermediate to the RSA root.
  const up = issued.certResponse.links('up');
  assert.equal(up.length, 1);
  const issuer = await client.http('GET', up[0]!);
  assert.equal(issuer.status, 200);
  const alternates = issued.certResponse.links('alternate');
  assert.equal(alternates.length, 1);
  const alternate = await client.post(alternates[0]!, undefined);
  assert.equal(alternate.status, 200);
  const alternateVerified = opensslVerifyStrict(alternate.text(), h.ca.rootsPem.rsa);
  assert.ok(alternateVerified.ok, alternateVerified.output);
  assert.equal(splitPemChain(alternate.text())[0], splitPemChain(issued.chainPem)[0]);
});

test('RSA 2048 leaf chains to the RSA hierarchy and carries keyEncipherment', async () => {
  const names = ['rsa.example.net'];
  const issued = await issueViaHttp01(client, h.responder, names, 'rsa-2048');
  const verified = opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.rsa);
  assert.ok(verified.ok, verified.output);
  await assertLeafProfile(issued.chainPem, names, true);
  assert.deepEqual(issued.certResponse.links('alternate'), []);
});

test('ECDSA P-384 leaf verifies too', async () => {
  const issued = await issueViaHttp01(client, h.responder, ['p384.example.org'], 'ecdsa-p384');
  const verified = opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.ecdsa);
  assert.ok(verified.ok, verified.output);
});

test('a name longer than 64 characters is not put in the CN; the SAN is then critical and openssl still accepts it', async () => {
  const long = `${'a'.repeat(63)}.example.com`;
  const issued = await issueViaHttp01(client, h.responder, [long]);
  await assertLeafProfile(issued.chainPem, [long], false);
  const verified = opensslVerifyStrict(issued.chainPem, h.ca.rootsPem.ecdsa);
  assert.ok(verified.ok, verified.output);
});

test('wildcard over dns-01: the authorization is for the base name, offers only dns-01, and the certificate verifies', async () => {
  const names = ['*.wild.example.com', 'wild.example.com'];
  const created = await client.newOrder(names);
  assert.equal(created.status, 201, created.text());
  const order = created.json();
  assert.deepEqual(order.identifiers, [{ type: 'dns', value: '*.wild.example.com' }, { type: 'dns', value: 'wild.example.com' }]);
  for (const authzUrl of order.authorizations) {
    const authz = (await client.post(authzUrl, undefined)).json();
    assert.equal(authz.identifier.value, 'wild.example.com');
    if (authz.wildcard) assert.deepEqual(authz.challenges.map((c: any) => c.type), ['dns-01']);
    else assert.deepEqual(authz.challenges.map((c: any) => c.type).sort(), ['dns-01', 'http-01', 'tls-alpn-01']);
    const challenge = authz.challenges.find((c: any) => c.type === 'dns-01');
    // One authorization at a time: both need a TXT record at the same name.
    await h.dns.setTxt('_acme-challenge.wild.example.com', client.dns01Value(challenge.token));
    const answered = await client.post(challenge.url, {});
    assert.equal(answered.status, 200);
    assert.ok(answered.links('up')[0]!.endsWith(new URL(authzUrl).pathname));
    const done = (await client.poll(authzUrl)).json();
    assert.equal(done.status, 'valid', JSON.stringify(done));
    const validated = done.challenges.find((c: any) => c.type === 'dns-01');
    assert.equal(validated.status, 'valid');
    assert.ok(validated.validated);
  }
  await h.dns.clearTxt('_acme-challenge.wild.example.com');
  const csr = await makeCsr(names, 'ecdsa-p256', 'wild.example.com');
  const finalized = await client.post(order.finalize, { csr: csr.csrDer.toString('base64url') });
  assert.equal(finalized.status, 200, finalized.text());
  assert.equal(finalized.json().status, 'valid');
  const chain = (await client.post(finalized.json().certificate, undefined)).text();
  const verified = opensslVerifyStrict(chain, h.ca.rootsPem.ecdsa);
  assert.ok(verified.ok, verified.output);
  await assertLeafProfile(chain, names, false);
});

test('a failed http-01 validation makes the challenge, authorization and order invalid with a problem document', async () => {
  const created = await client.newOrder(['fail.example.com']);
  const order = created.json();
  const authz = (await client.post(order.authorizations[0], undefined)).json();
  const challenge = authz.challenges.find((c: any) => c.type === 'http-01');
  h.responder.set(challenge.token, 'wrong-key-authorization');
  await client.post(challenge.url, {});
  const done = (await client.poll(order.authorizations[0])).json();
  assert.equal(done.status, 'invalid');
  const failed = done.challenges.find((c: any) => c.type === 'http-01');
  assert.equal(failed.status, 'invalid');
  assert.match(failed.error.type, /^urn:ietf:params:acme:error:/);
  assert.deepEqual(failed.error.identifier, { type: 'dns', value: 'fail.example.com' });
  assert.ok(Array.isArray(failed.validationRecord));
  assert.equal((await client.post(created.header('location')!, undefined)).json().status, 'invalid');
  // Answering again does not restart validation.
  const again = await client.post(challenge.url, {});
  assert.equal(again.json().status, 'invalid');
});

test('concurrent issuances get distinct serials', async () => {
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => issueViaHttp01(client, h.responder, [`c${i}.concurrent.example.com`])),
  );
  const serials = results.map((r) => new x509.X509Certificate(splitPemChain(r.chainPem)[0]!).serialNumber);
  assert.equal(new Set(serials).size, serials.length);
});
