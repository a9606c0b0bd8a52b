// Encoding of certificates, CRLs and their parts with @peculiar/asn1-x509. We build the TBS structures
// ourselves (instead of @peculiar/x509's generators) so the exact TBS bytes are in hand for lint-then-sign,
// and any Signer can sign them without a WebCrypto shim.
import 'reflect-metadata';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import { createHash } from 'node:crypto';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './algorithms.js';
import { derChildren, derSequenceItems, fromHex, toArrayBuffer } from './bytes.js';

export const OID = {
  commonName: '2.5.4.3',
  country: '2.5.4.6',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
  anyPolicy: '2.5.29.32.0',
  domainValidated: '2.23.140.1.2.1',
  cpsQualifier: '1.3.6.1.5.5.7.2.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  precertificatePoison: '1.3.6.1.4.1.11129.2.4.3',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
  caIssuers: '1.3.6.1.5.5.7.48.2',
  ocsp: '1.3.6.1.5.5.7.48.1',
  subjectKeyIdentifier: asn1.id_ce_subjectKeyIdentifier,
  authorityKeyIdentifier: asn1.id_ce_authorityKeyIdentifier,
  keyUsage: asn1.id_ce_keyUsage,
  extKeyUsage: asn1.id_ce_extKeyUsage,
  basicConstraints: asn1.id_ce_basicConstraints,
  certificatePolicies: asn1.id_ce_certificatePolicies,
  crlDistributionPoints: asn1.id_ce_cRLDistributionPoints,
  authorityInfoAccess: asn1.id_pe_authorityInfoAccess,
  subjectAltName: asn1.id_ce_subjectAltName,
  nameConstraints: asn1.id_ce_nameConstraints,
  crlNumber: asn1.id_ce_cRLNumber,
  issuingDistributionPoint: asn1.id_ce_issuingDistributionPoint,
  crlReason: asn1.id_ce_cRLReasons,
} as const;

export interface SubjectFields {
  country?: string;
  organization?: string;
  commonName?: string;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** C, O, CN in that order, one attribute per RDN, PrintableString where the text allows (as LE's names are). */
export function encodeName(fields: SubjectFields): Uint8Array {
  const rdns: asn1.RelativeDistinguishedName[] = [];
  const add = (type: string, text: string | undefined) => {
    if (text === undefined) return;
    const value = PRINTABLE.test(text) ? new asn1.AttributeValue({ printableString: text }) : new asn1.AttributeValue({ utf8String: text });
    rdns.push(new asn1.RelativeDistinguishedName([new asn1.AttributeTypeAndValue({ type, value })]));
  };
  add(OID.country, fields.country);
  add(OID.organization, fields.organization);
  add(OID.commonName, fields.commonName);
  return new Uint8Array(AsnConvert.serialize(new asn1.Name(rdns)));
}

export function parseName(der: Uint8Array): asn1.Name {
  return AsnConvert.parse(toArrayBuffer(der), asn1.Name);
}

/** Readable `C=US, O=..., CN=...` for messages. */
export function nameToString(der: Uint8Array): string {
  const name = parseName(der);
  const short: Record<string, string> = { [OID.country]: 'C', [OID.organization]: 'O', [OID.commonName]: 'CN', [OID.organizationalUnit]: 'OU' };
  return name.map((rdn) => rdn.map((atv) => `${short[atv.type] ?? atv.type}=${atv.value.toString()}`).join('+')).join(', ');
}

export function nameAttribute(der: Uint8Array, oid: string): string[] {
  return parseName(der).flatMap((rdn) => rdn.filter((atv) => atv.type === oid).map((atv) => atv.value.toString()));
}

// ---- extensions ---------------------------------------------------------------------------------------------

export type Extension = asn1.Extension;

function extension(oid: string, critical: boolean, value: unknown): asn1.Extension {
  return new asn1.Extension({ extnID: oid, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

export type KeyUsageName = 'digitalSignature' | 'keyEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';

export function keyUsageExtension(usages: KeyUsageName[]): asn1.Extension {
  let flags = 0;
  for (const usage of usages) flags |= asn1.KeyUsageFlags[usage];
  return extension(OID.keyUsage, true, new asn1.KeyUsage(flags));
}

export function basicConstraintsExtension(ca: boolean, pathLength?: number): asn1.Extension {
  return extension(OID.basicConstraints, true, new asn1.BasicConstraints(ca ? { cA: true, pathLenConstraint: pathLength } : {}));
}

export function extendedKeyUsageExtension(oids: string[]): asn1.Extension {
  return extension(OID.extKeyUsage, false, new asn1.ExtendedKeyUsage(oids));
}

/** RFC 7093 section 2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey BIT STRING value. */
export function subjectKeyIdentifierOf(spki: Uint8Array): Uint8Array {
  const [, bitString] = derSequenceItems(spki);
  return new Uint8Array(createHash('sha256').update(bitString.value.subarray(1)).digest().subarray(0, 20));
}

/** RFC 5280 4.2.1.2 method 1 (SHA-1), what ISRG Root X1 and X2 carry; accepted by the lints. */
export function sha1KeyIdentifierOf(spki: Uint8Array): Uint8Array {
  const [, bitString] = derSequenceItems(spki);
  return new Uint8Array(createHash('sha1').update(bitString.value.subarray(1)).digest());
}

export function subjectKeyIdentifierExtension(keyIdentifier: Uint8Array): asn1.Extension {
  return extension(OID.subjectKeyIdentifier, false, new asn1.SubjectKeyIdentifier(toArrayBuffer(keyIdentifier)));
}

export function authorityKeyIdentifierExtension(keyIdentifier: Uint8Array): asn1.Extension {
  return extension(OID.authorityKeyIdentifier, false, new asn1.AuthorityKeyIdentifier({ keyIdentifier: new asn1.KeyIdentifier(toArrayBuffer(keyIdentifier)) }));
}

export function crlDistributionPointsExtension(urls: string[]): asn1.Extension {
  return extension(OID.crlDistributionPoints, false, new asn1.CRLDistributionPoints(urls.map((url) => new asn1.DistributionPoint({
    distributionPoint: new asn1.DistributionPointName({ fullName: [new asn1.GeneralName({ uniformResourceIdentifier: url })] }),
  }))));
}

export function authorityInfoAccessExtension(access: { caIssuers?: string[]; ocsp?: string[] }): asn1.Extension {
  const items = [
    ...(access.ocsp ?? []).map((url) => new asn1.AccessDescription({ accessMethod: OID.ocsp, accessLocation: new asn1.GeneralName({ uniformResourceIdentifier: url }) })),
    ...(access.caIssuers ?? []).map((url) => new asn1.AccessDescription({ accessMethod: OID.caIssuers, accessLocation: new asn1.GeneralName({ uniformResourceIdentifier: url }) })),
  ];
  return extension(OID.authorityInfoAccess, false, new asn1.AuthorityInfoAccessSyntax(items));
}

export interface PolicySpec {
  oid: string;
  /** CPS URI qualifier (BR: NOT RECOMMENDED; the 2020 profiles dropped it). */
  cpsUri?: string;
}

function ia5(text: string): ArrayBuffer {
  const body = Buffer.from(text, 'ascii');
  if (body.length > 127) throw new Error('CPS URI too long');
  return toArrayBuffer(Uint8Array.of(0x16, body.length, ...body));
}

export function certificatePoliciesExtension(policies: PolicySpec[]): asn1.Extension {
  return extension(OID.certificatePolicies, false, new asn1.CertificatePolicies(policies.map((p) => new asn1.PolicyInformation({
    policyIdentifier: p.oid,
    policyQualifiers: p.cpsUri ? [new asn1.PolicyQualifierInfo({ policyQualifierId: OID.cpsQualifier, qualifier: ia5(p.cpsUri) })] : undefined,
  }))));
}

export function subjectAltNameExtension(dnsNames: string[], critical: boolean, ipAddresses: string[] = []): asn1.Extension {
  return extension(OID.subjectAltName, critical, new asn1.SubjectAlternativeName([
    ...dnsNames.map((dNSName) => new asn1.GeneralName({ dNSName })),
    ...ipAddresses.map((iPAddress) => new asn1.GeneralName({ iPAddress })),
  ]));
}

export function ocspNoCheckExtension(): asn1.Extension {
  return new asn1.Extension({ extnID: OID.ocspNoCheck, critical: false, extnValue: new OctetString(toArrayBuffer(Uint8Array.of(5, 0))) });
}

export function crlNumberExtension(value: number): asn1.Extension {
  return extension(OID.crlNumber, false, new asn1.CRLNumber(value));
}

export function issuingDistributionPointExtension(options: { onlyContainsCACerts?: boolean; onlyContainsUserCerts?: boolean; url?: string }): asn1.Extension {
  return extension(OID.issuingDistributionPoint, true, new asn1.IssuingDistributionPoint({
    distributionPoint: options.url
      ? new asn1.DistributionPointName({ fullName: [new asn1.GeneralName({ uniformResourceIdentifier: options.url })] })
      : undefined,
    onlyContainsCACerts: options.onlyContainsCACerts ?? false,
    onlyContainsUserCerts: options.onlyContainsUserCerts ?? false,
  }));
}

// ---- whole structures ---------------------------------------------------------------------------------------

export function algorithmIdentifier(algorithm: SignatureAlgorithm): asn1.AlgorithmIdentifier {
  return AsnConvert.parse(toArrayBuffer(fromHex(SIGNATURE_ALGORITHMS[algorithm].algorithmIdentifierHex)), asn1.AlgorithmIdentifier);
}

export function signatureAlgorithmOf(identifierDer: Uint8Array): SignatureAlgorithm | undefined {
  const hex = Buffer.from(identifierDer).toString('hex');
  return (Object.keys(SIGNATURE_ALGORITHMS) as SignatureAlgorithm[]).find((a) => SIGNATURE_ALGORITHMS[a].algorithmIdentifierHex === hex);
}

/** SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }, shared by certificates, CRLs and CSRs. */
export function assembleSigned(tbs: Uint8Array, algorithm: SignatureAlgorithm, signature: Uint8Array): Uint8Array {
  const bitString = derTlv(0x03, Uint8Array.of(0, ...signature));
  // Concatenated, not spread: a CRL's TBS of some thousand entries has more bytes than a call may have arguments.
  return derTlv(0x30, new Uint8Array(Buffer.concat([tbs, fromHex(SIGNATURE_ALGORITHMS[algorithm].algorithmIdentifierHex), bitString])));
}

function derTlv(tag: number, value: Uint8Array): Uint8Array {
  const length = value.length;
  const header = length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : length < 0x10000 ? [0x82, length >> 8, length & 0xff] : [0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
  const out = new Uint8Array(1 + header.length + length);
  out[0] = tag;
  out.set(header, 1);
  out.set(value, 1 + header.length);
  return out;
}

/** The three parts of a signed structure, byte-exact. */
export function splitSigned(der: Uint8Array): { tbs: Uint8Array; signatureAlgorithm: Uint8Array; signature: Uint8Array } {
  const items = derSequenceItems(der);
  if (items.length !== 3 || items[2].tag !== 0x03) throw new Error('not a signed X.509 structure');
  return { tbs: items[0].raw, signatureAlgorithm: items[1].raw, signature: items[2].value.subarray(1) };
}

/** Byte-exact raw pieces of a certificate's TBS. */
export function certificateParts(der: Uint8Array): { tbs: Uint8Array; serial: Uint8Array; issuer: Uint8Array; subject: Uint8Array; spki: Uint8Array; innerSignatureAlgorithm: Uint8Array } {
  return tbsCertificateParts(splitSigned(der).tbs);
}

/** The same pieces from TBSCertificate bytes alone (before anything is signed). */
export function tbsCertificateParts(tbs: Uint8Array): { tbs: Uint8Array; serial: Uint8Array; issuer: Uint8Array; subject: Uint8Array; spki: Uint8Array; innerSignatureAlgorithm: Uint8Array } {
  const fields = derChildren(derChildren(tbs)[0].value);
  const offset = fields[0].tag === 0xa0 ? 1 : 0;
  return {
    tbs,
    serial: fields[offset].value,
    innerSignatureAlgorithm: fields[offset + 1].raw,
    issuer: fields[offset + 2].raw,
    subject: fields[offset + 4].raw,
    spki: fields[offset + 5].raw,
  };
}

export function parseCertificate(der: Uint8Array): asn1.Certificate {
  return AsnConvert.parse(toArrayBuffer(der), asn1.Certificate);
}

// Schema parsing (asn1js) costs about 1 ms for a leaf, and a CA lints every leaf it signs. Most of a leaf's bytes are
// the same for every leaf of an issuer (issuer name, algorithm, most extensions), so the pieces are parsed one by one
// and the parse of each distinct piece is kept. The results are shared: callers must treat them as read-only.
const pieces = new Map<string, unknown>();
function parsePiece<T>(bytes: Uint8Array, type: new () => T): T {
  const id = `${type.name}:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`;
  let parsed = pieces.get(id) as T | undefined;
  if (parsed === undefined) {
    parsed = AsnConvert.parse(toArrayBuffer(bytes), type);
    pieces.set(id, parsed);
    if (pieces.size > 4096) pieces.delete(pieces.keys().next().value as string);
  }
  return parsed;
}

/**
 * `parseCertificate` for a certificate whose TBS has the v3 shape (no unique identifiers): the same structure, built
 * from separately parsed, memoised pieces. Anything else takes the plain path. Read-only, like the pieces.
 */
export function parseCertificateShared(der: Uint8Array): asn1.Certificate {
  const [tbs, signatureAlgorithm, signatureValue] = derSequenceItems(der);
  const fields = tbs ? derChildren(tbs.value) : [];
  const [version, serial, signature, issuer, validity, subject, spki, extensions] = fields;
  if (!signatureAlgorithm || signatureValue?.tag !== 0x03 || fields.length !== 8 || version!.tag !== 0xa0 || extensions!.tag !== 0xa3) return parseCertificate(der);
  const [versionInteger] = derChildren(version!.value);
  const [extensionList] = derChildren(extensions!.value);
  return new asn1.Certificate({
    tbsCertificate: new asn1.TBSCertificate({
      version: versionInteger!.value[0]!,
      serialNumber: toArrayBuffer(serial!.value),
      signature: parsePiece(signature!.raw, asn1.AlgorithmIdentifier),
      issuer: parsePiece(issuer!.raw, asn1.Name),
      validity: AsnConvert.parse(toArrayBuffer(validity!.raw), asn1.Validity),
      subject: parsePiece(subject!.raw, asn1.Name),
      subjectPublicKeyInfo: AsnConvert.parse(toArrayBuffer(spki!.raw), asn1.SubjectPublicKeyInfo),
      extensions: new asn1.Extensions(derChildren(extensionList!.value).map((e) => parsePiece(e.raw, asn1.Extension))),
    }),
    signatureAlgorithm: parsePiece(signatureAlgorithm.raw, asn1.AlgorithmIdentifier),
    signatureValue: toArrayBuffer(signatureValue.value.subarray(1)),
  });
}

export function parseCrl(der: Uint8Array): asn1.CertificateList {
  // asn1js stops at 10,000 nodes by default, about 1,200 revoked entries: a CRL shard after a mass revocation holds
  // far more. Every node takes at least two bytes, so half the length bounds the count without lifting the guard.
  return AsnConvert.parse(toArrayBuffer(der), asn1.CertificateList, { berOptions: { maxNodes: Math.max(10_000, Math.ceil(der.length / 2)) } });
}

export { asn1, AsnConvert };

export function subjectKeyIdentifierOfCertificate(der: Uint8Array): Uint8Array | undefined {
  const ext = parseCertificate(der).tbsCertificate.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
  return ext ? new Uint8Array(AsnConvert.parse(ext.extnValue.buffer, asn1.SubjectKeyIdentifier).buffer) : undefined;
}

export { OctetString };
