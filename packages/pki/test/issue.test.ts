import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  IssuanceCheckError, LintFailure, OID, certificateParts, createCertificateRequest, crossCertificateTemplate, encodeName,
  intermediateTemplate, issueCertificate, issueCrl, leafTemplate, newSerialNumber, ocspSignerTemplate, rootTemplate,
  type Signer,
} from '../src/index.js';
import { CHECK_TIME, at, openssl, softwareSigner, tempDir, testIntermediate, testRoot, writePem } from './helpers.js';

const rootKey = softwareSigner('root', 'ecdsa-p384');
const otherRootKey = softwareSigner('old root', 'rsa-2048');
const intKey = softwareSigner('int', 'rsa-2048');
const leafKey = softwareSigner('leaf', 'ecdsa-p256');

async function hierarchy() {
  const root = await testRoot(rootKey, 'Test Root X2');
  return { root, int: await testIntermediate({ der: root, key: rootKey }, intKey, 'T1', '2025-09-15T16:00:00Z') };
}

test('a software hierarchy issues through lint-then-sign and OpenSSL verifies it strictly', async () => {
  const dir = tempDir('issue');
  const { root, int } = await hierarchy();
  const leaf = await issueCertificate(leafTemplate({
    dnsNames: ['example.com'], publicKey: leafKey.publicKey, issuerCertificate: int, serialNumber: newSerialNumber({ randomLength: 17 }),
    notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2021-03-31T23:59:59Z'), issuerUrl: 'http://t1.i.example/', crlUrl: 'http://t1.c.example/7.crl',
  }), intKey, { kind: 'leaf', issuerCertificate: int });
  const rootPath = writePem(dir, 'root.pem', root);
  const intPath = writePem(dir, 'int.pem', int);
  const leafPath = writePem(dir, 'leaf.pem', leaf.der);
  const v = openssl('verify', '-x509_strict', '-check_ss_sig', '-attime', CHECK_TIME, '-purpose', 'sslserver', '-CAfile', rootPath, '-untrusted', intPath, leafPath);
  assert.equal(v.status, 0, v.out);
  assert.match(v.out, /leaf.pem: OK/);
  // An empty subject makes the SAN critical (OpenSSL strict mode requires it).
  assert.match(openssl('x509', '-in', leafPath, '-noout', '-ext', 'subjectAltName').out, /critical/);
  // The lint copy carries the same TBS as the issued certificate, with another signature.
  assert.deepEqual(certificateParts(leaf.lintCopy).tbs, certificateParts(leaf.der).tbs);
  assert.notDeepEqual(leaf.lintCopy, leaf.der);

  // Cross-certificate: the same subject and key certified by another root; OpenSSL chains through it.
  const oldRoot = await issueCertificate(rootTemplate({
    subject: { country: 'US', organization: 'Cobble Test', commonName: 'Test Root X1' }, publicKey: otherRootKey.publicKey,
    serialNumber: newSerialNumber(), notBefore: at('2015-06-04T11:04:38Z'), notAfter: at('2035-06-04T11:04:38Z'),
  }), otherRootKey, { kind: 'root' });
  const cross = await issueCertificate(crossCertificateTemplate({
    certificateToCrossSign: root, issuerCertificate: oldRoot.der, serialNumber: newSerialNumber(),
    notBefore: at('2020-09-04T00:00:00Z'), notAfter: at('2025-09-15T16:00:00Z'), issuerUrl: 'http://x1.i.example/', crlUrl: 'http://x1.c.example/',
    policies: [{ oid: OID.domainValidated }],
  }), otherRootKey, { kind: 'cross-certificate', issuerCertificate: oldRoot.der, crossSigned: root });
  assert.deepEqual(certificateParts(cross.der).subject, certificateParts(root).subject);
  const oldRootPath = writePem(dir, 'x1.pem', oldRoot.der);
  const chainPath = join(dir, 'chain.pem');
  writePem(dir, 'chain.pem', int);
  const fs = await import('node:fs');
  fs.appendFileSync(chainPath, fs.readFileSync(writePem(dir, 'cross.pem', cross.der)));
  const viaCross = openssl('verify', '-x509_strict', '-attime', CHECK_TIME, '-CAfile', oldRootPath, '-untrusted', chainPath, leafPath);
  assert.equal(viaCross.status, 0, viaCross.out);

  // Delegated OCSP responder and a CSR.
  const ocsp = await issueCertificate(ocspSignerTemplate({
    subject: { country: 'US', organization: 'Cobble Test', commonName: 'Test OCSP' }, publicKey: leafKey.publicKey, issuerCertificate: root,
    serialNumber: newSerialNumber(), notBefore: at('2020-09-04T00:00:00Z'), notAfter: at('2021-09-04T00:00:00Z'),
  }), rootKey, { kind: 'ocsp-signer', issuerCertificate: root });
  assert.equal(openssl('verify', '-x509_strict', '-attime', CHECK_TIME, '-purpose', 'ocsphelper', '-CAfile', rootPath, writePem(dir, 'ocsp.pem', ocsp.der)).status, 0);
  const csr = await createCertificateRequest(encodeName({ country: 'US', organization: 'Cobble Test', commonName: 'T1' }), intKey);
  const req = openssl('req', '-in', writePem(dir, 'csr.pem', csr, 'CERTIFICATE REQUEST'), '-verify', '-noout', '-subject');
  assert.equal(req.status, 0, req.out);
  assert.match(req.out, /verify OK/);
  assert.match(req.out, /CN ?= ?T1/);
});

test('CRLs: OpenSSL verifies them, revoked entries carry reasons, and a revoked certificate is rejected', async () => {
  const dir = tempDir('crl');
  const { root, int } = await hierarchy();
  const crl = await issueCrl({
    thisUpdate: at('2021-01-01T00:00:00Z'), nextUpdate: at('2021-12-01T00:00:00Z'), number: 2, kind: 'ca',
    entries: [{ serialNumber: certificateParts(int).serial, revocationDate: at('2021-01-01T00:00:00Z'), reason: 'keyCompromise' }],
  }, rootKey, { issuerCertificate: root });
  const rootPath = writePem(dir, 'root.pem', root);
  const crlPath = writePem(dir, 'root.crl.pem', crl.der, 'X509 CRL');
  const text = openssl('crl', '-in', crlPath, '-CAfile', rootPath, '-verify', '-noout', '-text');
  assert.equal(text.status, 0, text.out);
  assert.match(text.out, /verify OK/);
  assert.match(text.out, /Key Compromise/);
  assert.match(text.out, /Issuing Distribution Point: critical\s+Only CA Certificates/);
  assert.match(text.out, /CRL Number:\s+2/);
  const check = openssl('verify', '-x509_strict', '-attime', CHECK_TIME, '-crl_check', '-CRLfile', crlPath, '-CAfile', rootPath, writePem(dir, 'int.pem', int));
  assert.notEqual(check.status, 0);
  assert.match(check.out, /certificate revoked/);
});

test('a CRL with 5,000 entries (a shard after a mass revocation) is linted and signed, and OpenSSL lists every entry', async () => {
  const dir = tempDir('big-crl');
  const { root } = await hierarchy();
  const entries = Array.from({ length: 5000 }, (_, i) => ({
    serialNumber: Uint8Array.of(0x01, (i >> 8) & 0xff, i & 0xff, 0x2a), revocationDate: at('2021-01-01T00:00:00Z'), reason: 'superseded' as const,
  }));
  const crl = await issueCrl({ thisUpdate: at('2021-01-01T00:00:00Z'), nextUpdate: at('2021-12-01T00:00:00Z'), number: 3, kind: 'ca', entries }, rootKey, { issuerCertificate: root });
  const text = openssl('crl', '-in', writePem(dir, 'big.crl.pem', crl.der, 'X509 CRL'), '-CAfile', writePem(dir, 'root.pem', root), '-verify', '-noout', '-text');
  assert.equal(text.status, 0, text.out.slice(0, 2000));
  assert.equal(text.out.match(/Serial Number:/g)?.length, 5000);
});

/** Wraps a signer and counts real signatures, to prove a lint failure happens before the key is used. */
function counting(signer: Signer): Signer & { calls: number } {
  const wrapped = { ...signer, calls: 0, publicKey: signer.publicKey, keyAlgorithm: signer.keyAlgorithm, signatureAlgorithm: signer.signatureAlgorithm, description: signer.description,
    async sign(d: Uint8Array) { wrapped.calls++; return signer.sign(d); } };
  return wrapped;
}

test('a lint failure stops issuance before the real key signs', async () => {
  const { root, int } = await hierarchy();
  const key = counting(intKey);
  // The intermediate has pathLenConstraint 0: a CA below it is forbidden.
  const template = intermediateTemplate({
    subject: { country: 'US', organization: 'Cobble Test', commonName: 'T1 sub' }, publicKey: leafKey.publicKey, issuerCertificate: int,
    serialNumber: newSerialNumber(), notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2024-01-01T00:00:00Z'),
    issuerUrl: 'http://t1.i.example/', crlUrl: 'http://t1.c.example/', policies: [{ oid: OID.domainValidated }],
  });
  await assert.rejects(issueCertificate(template, key, { kind: 'intermediate', issuerCertificate: int }),
    (e: unknown) => e instanceof LintFailure && e.findings.some((f) => f.lint === 'e_path_length_forbidden_by_issuer') && /pathLenConstraint 0/.test(e.message));
  assert.equal(key.calls, 0);
  void root;
});

test('the post-signing checks catch a signer whose signature does not match its public key', async () => {
  const { int } = await hierarchy();
  const liar: Signer = { ...intKey, publicKey: intKey.publicKey, keyAlgorithm: intKey.keyAlgorithm, signatureAlgorithm: intKey.signatureAlgorithm, description: 'liar',
    sign: (d) => softwareSigner('someone else', 'rsa-2048').sign(d) };
  await assert.rejects(issueCertificate(leafTemplate({
    dnsNames: ['example.com'], publicKey: leafKey.publicKey, issuerCertificate: int, serialNumber: newSerialNumber(),
    notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2021-03-31T23:59:59Z'), issuerUrl: 'http://t1.i.example/', crlUrl: 'http://t1.c.example/1.crl',
  }), liar, { kind: 'leaf', issuerCertificate: int }), (e: unknown) => e instanceof IssuanceCheckError && /does not verify/.test(e.message));
  // And a signer that is not the issuer's key at all is refused before anything is built.
  await assert.rejects(issueCertificate(leafTemplate({
    dnsNames: ['example.com'], publicKey: leafKey.publicKey, issuerCertificate: int, serialNumber: newSerialNumber(),
    notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2021-03-31T23:59:59Z'), issuerUrl: 'http://t1.i.example/', crlUrl: 'http://t1.c.example/1.crl',
  }), rootKey, { kind: 'leaf', issuerCertificate: int }), (e: unknown) => e instanceof IssuanceCheckError && /is not the key of the issuer certificate/.test(e.message));
});
