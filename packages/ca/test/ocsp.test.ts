// The OCSP responder (RFC 6960) of a real CA: off by default (no AIA OCSP URL, no route), and when on, GET and POST
// answers good / revoked / unknown signed by a delegated responder certificate that the issuer signed, kept in the data
// directory across restarts.
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/x509';
import { createOcspRequest, publicKeyObject, readOcspResponse } from '@cobble/pki';
import { issueViaHttp01, splitPemChain, type AcmeTestClient } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';

const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
const OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

const leafOf = (chainPem: string) => new x509.X509Certificate(splitPemChain(chainPem)[0]!);
const issuerOf = (chainPem: string) => new x509.X509Certificate(splitPemChain(chainPem)[1]!);

async function post(url: string, body: Uint8Array) {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/ocsp-response');
  return new Uint8Array(await response.arrayBuffer());
}

/** Checks the response is signed by a delegated responder the issuer certified, and returns the single answer. */
async function answer(der: Uint8Array, issuer: x509.X509Certificate) {
  const read = readOcspResponse(der);
  assert.equal(read.status, 'successful');
  const basic = read.basic!;
  assert.equal(basic.certs?.length, 1, 'the responder certificate is in the response');
  const responder = new x509.X509Certificate(AsnConvert.serialize(basic.certs![0]!));
  assert.ok(await responder.verify({ publicKey: issuer.publicKey, signatureOnly: true }), 'the issuer signed the responder certificate');
  assert.deepEqual([...(responder.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [OCSP_SIGNING]);
  assert.ok(responder.getExtension(OCSP_NOCHECK), 'id-pkix-ocsp-nocheck');
  assert.equal(responder.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  const spki = new Uint8Array(responder.publicKey.rawData);
  assert.ok(verify('sha256', read.tbs!, { key: publicKeyObject(spki), dsaEncoding: 'der' }, Buffer.from(basic.signature)), 'the responder key signed the response');
  assert.equal(basic.tbsResponseData.responses.length, 1);
  return { single: basic.tbsResponseData.responses[0]!, responder };
}

describe('OCSP enabled', () => {
  let h: Harness;
  let client: AcmeTestClient;
  before(async () => {
    h = await startHarness({ ocsp: { enabled: true, cacheMs: 60_000 }, crl: { revocationDelayMs: 50 } });
    client = await h.client();
    await client.register();
  });
  after(() => h?.close());

  test('good, then revoked with its reason, over POST and GET (SHA-1 and SHA-256 CertIDs); unknown serials; responder kept across a restart', async () => {
    const issued = await issueViaHttp01(client, h.responder, ['ocsp.example.com']);
    const leaf = leafOf(issued.chainPem);
    const issuer = issuerOf(issued.chainPem);
    const url = leaf.getExtension(x509.AuthorityInfoAccessExtension)!.ocsp[0]!.value;
    assert.equal(url, `http://127.0.0.1:${h.ca.httpPort}/ocsp`);
    const issuerDer = new Uint8Array(issuer.rawData);
    const serial = leaf.serialNumber.toLowerCase();

    const good = await answer(await post(url, createOcspRequest(issuerDer, serial)), issuer);
    assert.ok(good.single.certStatus.good === null, 'good');
    assert.equal(Buffer.from(good.single.certID.serialNumber).toString('hex'), serial, 'the CertID is echoed');
    const validity = good.single.nextUpdate!.getTime() - good.single.thisUpdate.getTime();
    assert.equal(validity, 86_400_000, 'ocsp.responseValidity (default one day)');
    assert.ok((await answer(await post(url, createOcspRequest(issuerDer, serial, 'sha256')), issuer)).single.certStatus.good === null);
    // RFC 6960 Appendix A.1: GET with the base64 request URL-encoded in the path.
    const get = await fetch(`${url}/${encodeURIComponent(Buffer.from(createOcspRequest(issuerDer, serial)).toString('base64'))}`);
    assert.equal(get.status, 200);
    assert.match(get.headers.get('cache-control') ?? '', /max-age=\d+/);
    assert.ok((await answer(new Uint8Array(await get.arrayBuffer()), issuer)).single.certStatus.good === null);

    const unknown = await answer(await post(url, createOcspRequest(issuerDer, '7f0102030405060708090a0b0c0d0e0f')), issuer);
    assert.ok(unknown.single.certStatus.unknown === null, 'a serial the CA never issued is unknown');

    const revoked = await client.post(client.directory.revokeCert, { certificate: Buffer.from(leaf.rawData).toString('base64url'), reason: 5 });
    assert.equal(revoked.status, 200);
    // Cached answers are keyed by the status, so the revocation shows at once.
    const after = await answer(await post(url, createOcspRequest(issuerDer, serial)), issuer);
    const info = after.single.certStatus.revoked;
    assert.ok(info, 'revoked');
    assert.equal(info.revocationReason?.reason, 5, 'cessationOfOperation');

    const files = await readdir(join(h.dataDir, 'ocsp'));
    assert.ok(files.some((f) => /^ecdsa-[0-9a-f]{16}\.key\.pem$/.test(f)) && files.some((f) => /^ecdsa-[0-9a-f]{16}\.cert\.pem$/.test(f)), files.join(', '));
    await h.restart();
    const restartedUrl = `http://127.0.0.1:${h.ca.httpPort}/ocsp`;
    const again = await answer(await post(restartedUrl, createOcspRequest(issuerDer, serial)), issuer);
    assert.equal(again.responder.serialNumber, after.responder.serialNumber, 'the same responder certificate after a restart');
    assert.ok(again.single.certStatus.revoked);
    client = await h.client(client.key);
    client.accountUrl = (await client.post(client.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true })).header('location');
  });

  test('requests it cannot answer get the RFC 6960 error statuses', async () => {
    const url = `http://127.0.0.1:${h.ca.httpPort}/ocsp`;
    assert.equal(readOcspResponse(await post(url, Buffer.from('not der'))).status, 'malformedRequest');
    // A CertID naming an issuer the responder does not answer for (the root, which signs no leaves): not authoritative.
    const root = new x509.X509Certificate(h.ca.rootsPem.ecdsa!);
    assert.equal(readOcspResponse(await post(url, createOcspRequest(new Uint8Array(root.rawData), '01'))).status, 'unauthorized');
  });
});

describe('OCSP off (the default)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());

  test('leaves name no OCSP responder and the port has no OCSP route', async () => {
    const client = await h.client();
    await client.register();
    const issued = await issueViaHttp01(client, h.responder, ['no-ocsp.example.com']);
    const aia = leafOf(issued.chainPem).getExtension(x509.AuthorityInfoAccessExtension)!;
    assert.equal(aia.ocsp.length, 0);
    assert.equal(aia.caIssuers.length, 1);
    const response = await fetch(`http://127.0.0.1:${h.ca.httpPort}/ocsp`, { method: 'POST', body: createOcspRequest(new Uint8Array(issuerOf(issued.chainPem).rawData), '01') });
    assert.equal(response.status, 404);
  });
});
