// The fast leaf encoder must write exactly what the schema encoder writes for the same leaf, across the profile
// variations a CA uses; and what it writes goes through lint-then-sign like any other certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsnConvert } from '@peculiar/asn1-schema';
import { parseCertificate, parseCertificateShared } from '../src/x509.js';
import {
  LintFailure, encodeTbsCertificate, issueTbs, leafEncoder, leafTemplate, newSerialNumber,
  type LeafFields, type LeafIssuerProfile, type Signer,
} from '../src/index.js';
import { CHECK_TIME, at, openssl, softwareSigner, tempDir, testIntermediate, testRoot, writePem } from './helpers.js';

const rootKey = softwareSigner('root', 'ecdsa-p384');
const intKey = softwareSigner('int', 'ecdsa-p384');
const rsaIntKey = softwareSigner('rsa int', 'rsa-2048');
const ecLeaf = softwareSigner('leaf', 'ecdsa-p256');
const rsaLeaf = softwareSigner('rsa leaf', 'rsa-2048');

async function issuers() {
  const root = { der: await testRoot(rootKey, 'Test Root'), key: rootKey };
  return { root: root.der, ec: await testIntermediate(root, intKey, 'E9', '2028-09-01T00:00:00Z'), rsa: await testIntermediate(root, rsaIntKey, 'R9', '2028-09-01T00:00:00Z') };
}

const variants: Array<[string, Partial<LeafFields>]> = [
  ['classic, EC key, CN', { commonName: 'www.example.com', subjectKeyIdentifier: true }],
  ['classic, RSA key, keyEncipherment', { commonName: 'www.example.com', subjectKeyIdentifier: true, keyEncipherment: true }],
  ['tlsserver: no CN, critical SAN, no SKID', {}],
  ['wildcard CN (UTF8String, as the schema encoder picks)', { commonName: '*.example.com', dnsNames: ['*.example.com', 'example.com'] }],
  ['IP identifiers (shortlived)', { dnsNames: [], ipAddresses: ['192.0.2.7', '2001:db8::1', '2001:db8:0:1:2:3:4:5'] }],
  ['a hundred long names (multi-byte lengths)', { dnsNames: Array.from({ length: 100 }, (_, i) => `host-${i}-${'x'.repeat(40)}.example.com`) }],
  ['validity past 2049 (GeneralizedTime)', { notAfter: at('2050-01-02T03:04:05Z') }],
];

test('the fast leaf encoder writes byte for byte what leafTemplate + encodeTbsCertificate write', async () => {
  const { ec, rsa } = await issuers();
  for (const [issuerCertificate, signatureAlgorithm] of [[ec, 'ecdsa-with-SHA384'], [rsa, 'sha256WithRSAEncryption']] as const) {
    const profile: LeafIssuerProfile = { issuerCertificate, signatureAlgorithm, issuerUrl: 'http://i.example/e9.der', crlUrl: 'http://c.example/e9/3.crl' };
    const encoder = leafEncoder(profile);
    for (const [name, variant] of variants) {
      const fields: LeafFields = {
        serialNumber: newSerialNumber({ randomLength: 17 }), notBefore: at('2026-12-04T10:00:00Z'), notAfter: at('2027-03-03T09:59:59Z'),
        publicKey: variant.keyEncipherment ? rsaLeaf.publicKey : ecLeaf.publicKey, dnsNames: ['www.example.com', 'example.com'], ...variant,
      };
      const reference = encodeTbsCertificate(leafTemplate({ ...profile, ...fields }), signatureAlgorithm);
      assert.deepEqual(Buffer.from(encoder.encodeTbs(fields)).toString('hex'), Buffer.from(reference).toString('hex'), `${signatureAlgorithm}: ${name}`);
    }
  }
});

test('issueTbs lints the fast-encoded TBS on a throwaway copy, then signs the same bytes; OpenSSL verifies the leaf', async () => {
  const dir = tempDir('leaf');
  const { root, ec } = await issuers();
  const encoder = leafEncoder({ issuerCertificate: ec, signatureAlgorithm: 'ecdsa-with-SHA384', issuerUrl: 'http://i.example/e9.der', crlUrl: 'http://c.example/e9/3.crl' });
  const tbs = encoder.encodeTbs({
    serialNumber: newSerialNumber({ randomLength: 17 }), notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2021-03-31T23:59:59Z'),
    publicKey: ecLeaf.publicKey, dnsNames: ['www.example.com'], commonName: 'www.example.com', subjectKeyIdentifier: true,
  });
  const issued = await issueTbs(tbs, intKey, { kind: 'leaf', issuerCertificate: ec, afterSigning: 'signature' });
  const v = openssl('verify', '-x509_strict', '-check_ss_sig', '-attime', CHECK_TIME, '-purpose', 'sslserver', '-CAfile', writePem(dir, 'root.pem', root),
    '-untrusted', writePem(dir, 'int.pem', ec), writePem(dir, 'leaf.pem', issued.der));
  assert.equal(v.status, 0, v.out);
});

test('issueTbs refuses a leaf that breaks a lint before the real key signs anything', async () => {
  const { ec } = await issuers();
  let realSignatures = 0;
  const counting: Signer = { ...intKey, publicKey: intKey.publicKey, keyAlgorithm: intKey.keyAlgorithm, signatureAlgorithm: intKey.signatureAlgorithm,
    description: intKey.description, sign: async (d) => { realSignatures++; return intKey.sign(d); } };
  const encoder = leafEncoder({ issuerCertificate: ec, signatureAlgorithm: 'ecdsa-with-SHA384', issuerUrl: 'http://i.example/e9.der', crlUrl: 'http://c.example/e9/3.crl' });
  // 400 days: longer than the BRs allow a subscriber certificate.
  const tbs = encoder.encodeTbs({
    serialNumber: newSerialNumber(), notBefore: at('2026-12-04T00:00:00Z'), notAfter: at('2028-01-08T00:00:00Z'), publicKey: ecLeaf.publicKey, dnsNames: ['example.com'],
  });
  await assert.rejects(issueTbs(tbs, counting, { kind: 'leaf', issuerCertificate: ec }),
    (e: unknown) => e instanceof LintFailure && e.findings.some((f) => f.lint === 'e_leaf_validity_period'));
  assert.equal(realSignatures, 0);
});

test('the shared-piece certificate parse builds what the plain schema parse builds, for every kind of certificate', async () => {
  const { root, ec, rsa } = await issuers();
  const leaf = await issueTbs(leafEncoder({ issuerCertificate: ec, signatureAlgorithm: 'ecdsa-with-SHA384', issuerUrl: 'http://i.example/e9.der', crlUrl: 'http://c.example/e9/3.crl' })
    .encodeTbs({ serialNumber: newSerialNumber(), notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2021-03-31T23:59:59Z'), publicKey: ecLeaf.publicKey, dnsNames: ['a.example.com', 'b.example.com'], ipAddresses: ['192.0.2.1'] }),
  intKey, { kind: 'leaf', issuerCertificate: ec });
  for (const der of [root, ec, rsa, leaf.der, leaf.der]) {
    const shared = parseCertificateShared(der);
    assert.deepEqual(new Uint8Array(AsnConvert.serialize(shared)), der, 'it serialises back to the same bytes');
    assert.deepEqual(new Uint8Array(AsnConvert.serialize(shared.tbsCertificate)), new Uint8Array(AsnConvert.serialize(parseCertificate(der).tbsCertificate)));
  }
});
