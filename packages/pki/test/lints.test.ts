// Each lint is shown to fire on a certificate or CRL built to break exactly its rule (signed without linting),
// and a clean hierarchy passes them all (issue.test.ts issues through the linter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LINT_NAMES, OID, encodeName, encodeTbsCrl, intermediateTemplate, leafTemplate, lintCertificate, lintCrl, newSerialNumber,
  rootTemplate, signCertificate, crossCertificateTemplate, type CertificateKind, type CertificateTemplate, type CrlTemplate,
} from '../src/index.js';
import { OctetString, asn1, assembleSigned, extendedKeyUsageExtension } from '../src/x509.js';
import { generateKeyPairSync } from 'node:crypto';
import { at, softwareSigner } from './helpers.js';

const rootKey = softwareSigner('root', 'ecdsa-p384');
const intKey = softwareSigner('int', 'ecdsa-p384');
const leafKey = softwareSigner('leaf', 'ecdsa-p256');

const rootSpec = {
  subject: { country: 'US', organization: 'Cobble Test', commonName: 'Lint Root' }, publicKey: rootKey.publicKey,
  serialNumber: newSerialNumber(), notBefore: at('2020-09-04T00:00:00Z'), notAfter: at('2040-09-17T16:00:00Z'),
};
const root = await signCertificate(rootTemplate(rootSpec), rootKey);
const intSpec = {
  subject: { country: 'US', organization: 'Cobble Test', commonName: 'L1' }, publicKey: intKey.publicKey, issuerCertificate: root,
  serialNumber: newSerialNumber(), notBefore: at('2020-09-04T00:00:00Z'), notAfter: at('2025-09-15T16:00:00Z'),
  issuerUrl: 'http://x.i.example/', crlUrl: 'http://x.c.example/', policies: [{ oid: OID.domainValidated }],
};
const int = await signCertificate(intermediateTemplate(intSpec), rootKey);
const leafSpec = {
  dnsNames: ['example.com'], publicKey: leafKey.publicKey, issuerCertificate: int, serialNumber: newSerialNumber(),
  notBefore: at('2021-01-01T00:00:00Z'), notAfter: at('2021-03-31T23:59:59Z'), issuerUrl: 'http://l1.i.example/', crlUrl: 'http://l1.c.example/1.crl',
};

function replaceExtension(t: CertificateTemplate, oid: string, replacement?: asn1.Extension): CertificateTemplate {
  return { ...t, extensions: t.extensions.flatMap((e) => (e.extnID === oid ? (replacement ? [replacement] : []) : [e])) };
}

async function findings(t: CertificateTemplate, kind: CertificateKind, issuer?: Uint8Array, crossSigned?: Uint8Array, signer = issuer ? (issuer === int ? intKey : rootKey) : rootKey) {
  const der = await signCertificate(t, signer);
  return lintCertificate({ der, kind, issuer, crossSigned }).map((f) => f.lint);
}

test('clean root, intermediate and leaf have no findings', async () => {
  assert.deepEqual(lintCertificate({ der: root, kind: 'root' }), []);
  assert.deepEqual(lintCertificate({ der: int, kind: 'intermediate', issuer: root }), []);
  assert.deepEqual(await findings(leafTemplate(leafSpec), 'leaf', int), []);
});

test('root rules: no EKU, 2922..9132 days, key usage, subject fields', async () => {
  const base = rootTemplate(rootSpec);
  assert.ok((await findings({ ...base, extensions: [...base.extensions, extendedKeyUsageExtension([OID.serverAuth])] }, 'root')).includes('e_root_extensions'));
  assert.ok((await findings({ ...base, notAfter: at('2050-09-17T16:00:00Z') }, 'root')).includes('e_root_validity_period'));
  assert.ok((await findings(rootTemplate({ ...rootSpec, keyUsages: ['keyCertSign'] }), 'root')).includes('e_ca_key_usage'));
  const noOrg = rootTemplate({ ...rootSpec, subject: { country: 'US', commonName: 'Lint Root' } });
  assert.ok((await findings(noOrg, 'root')).includes('e_ca_subject_fields'));
  // 2050 and later must be GeneralizedTime: asn1-x509 gets this right, so the lint passes for a 2050 root.
  assert.ok(!(await findings({ ...base, notBefore: at('2030-01-01T00:00:00Z'), notAfter: at('2055-01-01T00:00:00Z') }, 'root')).includes('e_validity_time_encoding'));
});

test('subordinate CA rules: basic constraints, path length, identifiers, EKU, policies, CRLDP, validity, chaining', async () => {
  const base = intermediateTemplate(intSpec);
  const bcNotCritical = new asn1.Extension({ extnID: OID.basicConstraints, critical: false, extnValue: base.extensions.find((e) => e.extnID === OID.basicConstraints)!.extnValue });
  assert.ok((await findings(replaceExtension(base, OID.basicConstraints, bcNotCritical), 'intermediate', root)).includes('e_ca_basic_constraints'));
  assert.ok((await findings(replaceExtension(base, OID.subjectKeyIdentifier), 'intermediate', root)).includes('e_subject_key_identifier'));
  const otherAki = intermediateTemplate({ ...intSpec, issuerCertificate: int }).extensions.find((e) => e.extnID === OID.authorityKeyIdentifier)!;
  assert.ok((await findings(replaceExtension(base, OID.authorityKeyIdentifier, otherAki), 'intermediate', root)).includes('e_authority_key_identifier'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, extendedKeyUsages: [OID.serverAuth, OID.codeSigning] }), 'intermediate', root)).includes('e_sub_ca_eku'));
  assert.ok((await findings(replaceExtension(base, OID.extKeyUsage), 'intermediate', root)).includes('e_sub_ca_eku'));
  // Chrome: sub-CAs from 2026-06-15 assert serverAuth only.
  const late = { ...intSpec, notBefore: at('2026-07-01T00:00:00Z'), notAfter: at('2029-07-01T00:00:00Z') };
  assert.ok((await findings(intermediateTemplate({ ...late, extendedKeyUsages: [OID.serverAuth, OID.clientAuth] }), 'intermediate', root)).includes('e_sub_ca_eku'));
  assert.ok(!(await findings(intermediateTemplate(late), 'intermediate', root)).includes('e_sub_ca_eku'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, policies: [] }), 'intermediate', root)).includes('e_sub_ca_certificate_policies'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, policies: [{ oid: '2.23.140.1.2.1' }, { oid: '2.23.140.1.2.2' }] }), 'intermediate', root)).includes('e_sub_ca_certificate_policies'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, crlUrl: 'https://x.c.example/' }), 'intermediate', root)).includes('e_sub_ca_crl_distribution_point'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, crlUrl: undefined }), 'intermediate', root)).includes('e_sub_ca_crl_distribution_point'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, notAfter: at('2029-09-15T16:00:00Z') }), 'intermediate', root)).includes('e_subordinate_validity_period'));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, notBefore: at('2038-01-01T00:00:00Z'), notAfter: at('2041-01-01T00:00:00Z') }), 'intermediate', root)).includes('e_not_after_beyond_issuer'));
  assert.ok((await findings({ ...base, issuer: encodeName({ country: 'US', organization: 'Cobble Test', commonName: 'Someone Else' }) }, 'intermediate', root)).includes('e_issuer_name_not_chained'));
  assert.ok((await findings({ ...base, serialNumber: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }, 'intermediate', root)).includes('e_serial_number_low_entropy'));
  assert.ok((await findings({ ...base, serialNumber: Uint8Array.of(0x80, ...newSerialNumber()) }, 'intermediate', root)).includes('e_serial_number_invalid'));
  const unknown = new asn1.Extension({ extnID: '1.3.6.1.4.1.99999.1', critical: false, extnValue: new OctetString(Uint8Array.of(5, 0).buffer) });
  assert.ok((await findings({ ...base, extensions: [...base.extensions, unknown] }, 'intermediate', root)).includes('e_unexpected_extension'));
  assert.ok((await findings({ ...base, extensions: [...base.extensions, base.extensions[0]] }, 'intermediate', root)).includes('e_duplicate_extension'));
  // An intermediate under an intermediate with pathLenConstraint 0.
  const under = intermediateTemplate({ ...intSpec, subject: { ...intSpec.subject, commonName: 'L1 sub' }, publicKey: leafKey.publicKey, issuerCertificate: int });
  assert.ok((await findings(under, 'intermediate', int, undefined, intKey)).includes('e_path_length_forbidden_by_issuer'));
  // A 1024-bit RSA key is refused.
  const weak = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }));
  assert.ok((await findings(intermediateTemplate({ ...intSpec, publicKey: weak }), 'intermediate', root)).includes('e_subject_public_key_not_allowed'));
});

test('cross-certificate rules: mirror the existing certificate; serverAuth-only EKU from 2025-06-15', async () => {
  const otherRootKey = softwareSigner('other root', 'ecdsa-p384');
  const otherRoot = await signCertificate(rootTemplate({ ...rootSpec, subject: { country: 'US', organization: 'Cobble Test', commonName: 'Other Root' }, publicKey: otherRootKey.publicKey }), otherRootKey);
  const spec = {
    certificateToCrossSign: root, issuerCertificate: otherRoot, serialNumber: newSerialNumber(), notBefore: at('2020-09-04T00:00:00Z'), notAfter: at('2025-09-15T16:00:00Z'),
    issuerUrl: 'http://o.i.example/', crlUrl: 'http://o.c.example/', policies: [{ oid: OID.domainValidated }],
  };
  const crossFindings = (t: CertificateTemplate) => signCertificate(t, otherRootKey).then((der) => lintCertificate({ der, kind: 'cross-certificate', issuer: otherRoot, crossSigned: root }).map((f) => f.lint));
  assert.deepEqual(await crossFindings(crossCertificateTemplate(spec)), []);
  const renamed = { ...crossCertificateTemplate(spec), subject: encodeName({ country: 'US', organization: 'Cobble Test', commonName: 'Renamed' }) };
  assert.ok((await crossFindings(renamed)).includes('e_cross_certificate_mirrors_existing'));
  const late = { ...spec, notBefore: at('2026-05-13T00:00:00Z'), notAfter: at('2032-09-02T00:00:00Z') };
  assert.ok((await crossFindings(crossCertificateTemplate(late))).includes('e_cross_certificate_eku'));
  assert.ok(!(await crossFindings(crossCertificateTemplate({ ...late, extendedKeyUsages: [OID.serverAuth] }))).includes('e_cross_certificate_eku'));
});

test('leaf rules: SAN, validity schedule, revocation pointer, EKU', async () => {
  assert.ok((await findings(leafTemplate({ ...leafSpec, commonName: 'other.example' }), 'leaf', int)).includes('e_leaf_subject_alt_name'));
  assert.ok((await findings(leafTemplate({ ...leafSpec, notAfter: at('2022-02-15T00:00:00Z') }), 'leaf', int)).includes('e_leaf_validity_period'));
  const after2026 = { ...leafSpec, notBefore: at('2026-04-01T00:00:00Z'), notAfter: at('2026-11-01T00:00:00Z') };
  assert.ok((await findings(leafTemplate(after2026), 'leaf', int)).includes('e_leaf_validity_period'), '214 days is over the 200-day limit of 2026');
  assert.ok((await findings(leafTemplate({ ...leafSpec, crlUrl: undefined }), 'leaf', int)).includes('e_leaf_revocation_pointer'));
  assert.ok(!(await findings(leafTemplate({ ...leafSpec, crlUrl: undefined, ocspUrl: 'http://o.example' }), 'leaf', int)).includes('e_leaf_revocation_pointer'));
  assert.ok((await findings(leafTemplate({ ...leafSpec, extendedKeyUsages: [OID.serverAuth, OID.emailProtection] }), 'leaf', int)).includes('e_leaf_eku'));
});

async function crlFindings(t: CrlTemplate, issuer = root, signer = rootKey) {
  const tbs = encodeTbsCrl(t, issuer, signer.signatureAlgorithm);
  const der = assembleSigned(tbs, signer.signatureAlgorithm, await signer.sign(tbs));
  return lintCrl({ der, kind: t.kind, issuer }).map((f) => f.lint);
}

test('CRL rules: next update window, reasons, issuer chaining', async () => {
  const base: CrlTemplate = { thisUpdate: at('2021-01-01T00:00:00Z'), nextUpdate: at('2021-06-01T00:00:00Z'), number: 3, kind: 'ca', entries: [] };
  assert.deepEqual(await crlFindings(base), []);
  assert.ok((await crlFindings({ ...base, nextUpdate: at('2022-02-01T00:00:00Z') })).includes('e_crl_next_update'));
  assert.ok((await crlFindings({ ...base, kind: 'subscriber', nextUpdate: at('2021-01-12T00:00:00Z') })).includes('e_crl_next_update'));
  const serial = newSerialNumber();
  assert.ok((await crlFindings({ ...base, entries: [{ serialNumber: serial, revocationDate: at('2021-01-01T00:00:00Z'), reason: 'certificateHold' }] })).includes('e_crl_entries'));
  assert.ok((await crlFindings({ ...base, entries: [{ serialNumber: serial, revocationDate: at('2021-01-01T00:00:00Z') }] })).includes('e_crl_entries'), 'CA CRL entries need a reason');
  assert.ok(!(await crlFindings({ ...base, entries: [{ serialNumber: serial, revocationDate: at('2021-01-01T00:00:00Z'), reason: 'superseded' }] })).includes('e_crl_entries'));
  // A CRL that claims to come from the intermediate but is checked against the root.
  const wrong = await crlFindings(base, int, intKey).then(() => {
    const tbs = encodeTbsCrl(base, int, intKey.signatureAlgorithm);
    return intKey.sign(tbs).then((sig) => lintCrl({ der: assembleSigned(tbs, intKey.signatureAlgorithm, sig), kind: 'ca', issuer: root }).map((f) => f.lint));
  });
  assert.ok(wrong.includes('e_crl_issuer_name_not_chained'));
  assert.ok(wrong.includes('e_crl_authority_key_identifier'));
  assert.ok((await crlFindings({ ...base, thisUpdate: at('2019-01-01T00:00:00Z'), nextUpdate: at('2019-06-01T00:00:00Z') })).includes('e_crl_within_issuer_validity'));
});

test('lint names are unique and skipping one waives only it', async () => {
  assert.equal(new Set(LINT_NAMES).size, LINT_NAMES.length);
  const der = await signCertificate(intermediateTemplate({ ...intSpec, policies: [] }), rootKey);
  assert.deepEqual(lintCertificate({ der, kind: 'intermediate', issuer: root, skip: ['e_sub_ca_certificate_policies'] }), []);
});
