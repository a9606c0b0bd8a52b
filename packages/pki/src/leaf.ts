// Subscriber certificates on a CA's hot path. Encoding a leaf TBS through the ASN.1 schema (`leafTemplate` +
// `encodeTbsCertificate`) costs several milliseconds; a leaf of one issuer differs from the next only in serial,
// validity, subject, key, SKID and SAN. So everything constant is encoded once per issuer by the schema encoder, and
// only those fields are written per leaf. The output is byte-identical to `encodeTbsCertificate(leafTemplate(p))`
// (test/leaf.test.ts checks it across profiles), and it is still linted through `issueTbs` before the real key signs.
import { isIP } from 'node:net';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './algorithms.js';
import type { CertificateTemplate } from './certificate.js';
import { leafTemplate, type LeafProfile } from './profiles.js';
import { AsnConvert, OID, subjectKeyIdentifierOf, type Extension } from './x509.js';

/** What varies from one leaf to the next. */
export interface LeafFields {
  serialNumber: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  publicKey: Uint8Array;
  dnsNames: string[];
  /** IP address identifiers (RFC 8738), as text; encoded as iPAddress SAN entries. */
  ipAddresses?: string[];
  /** Omit for an empty subject (the SAN is then critical). */
  commonName?: string;
  /** Adds keyEncipherment to keyUsage (LE's classic profile, RSA keys only). */
  keyEncipherment?: boolean;
  /** Adds a subjectKeyIdentifier (LE's classic profile). */
  subjectKeyIdentifier?: boolean;
}

/** What is the same for every leaf of one issuer and one set of URLs. */
export interface LeafIssuerProfile {
  issuerCertificate: Uint8Array;
  signatureAlgorithm: SignatureAlgorithm;
  issuerUrl?: string;
  ocspUrl?: string;
  crlUrl?: string;
}

export interface LeafEncoder {
  encodeTbs(fields: LeafFields): Uint8Array;
}

function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const value = Buffer.concat(parts);
  const n = value.length;
  const header = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : n < 0x10000 ? [tag, 0x82, n >> 8, n & 0xff] : [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), value]);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), as the schema encoder writes them. */
function time(date: Date): Buffer {
  const digits = date.toISOString().slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'latin1')) : tlv(0x18, Buffer.from(digits, 'latin1'));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const OID_COMMON_NAME = Buffer.from('0603550403', 'hex');
const OID_SAN = Buffer.from('0603551d11', 'hex');
const OID_SKID = Buffer.from('0603551d0e', 'hex');
const BOOLEAN_TRUE = Buffer.from('0101ff', 'hex');
const VERSION_3 = Buffer.from('a003020102', 'hex');

function ipOctets(text: string): Buffer {
  const family = isIP(text);
  if (family === 4) return Buffer.from(text.split('.').map(Number));
  if (family !== 6) throw new Error(`"${text}" is not an IP address`);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return Buffer.concat(all.map((g) => { const b = Buffer.alloc(2); b.writeUInt16BE(parseInt(g, 16)); return b; }));
}

const extensionDer = (extension: Extension) => Buffer.from(AsnConvert.serialize(extension));

/**
 * Precomputes the constant parts from the schema encoder itself (a template leaf is encoded and its extensions
 * reused), so the constant bytes cannot drift from `leafTemplate`.
 */
export function leafEncoder(profile: LeafIssuerProfile): LeafEncoder {
  const algorithmIdentifier = Buffer.from(SIGNATURE_ALGORITHMS[profile.signatureAlgorithm].algorithmIdentifierHex, 'hex');
  const sample = (keyEncipherment: boolean): CertificateTemplate =>
    leafTemplate({
      ...profile, serialNumber: Uint8Array.of(1), notBefore: new Date(0), notAfter: new Date(0), publicKey: new Uint8Array(0),
      dnsNames: ['sample.invalid'], commonName: 'sample.invalid', keyEncipherment,
    } satisfies LeafProfile);
  const byOid = (template: CertificateTemplate, oid: string) => extensionDer(template.extensions.find((e) => e.extnID === oid)!);
  const withoutKe = sample(false);
  const issuerName = Buffer.from(withoutKe.issuer);
  const keyUsage = { plain: byOid(withoutKe, OID.keyUsage), withKe: byOid(sample(true), OID.keyUsage) };
  // leafTemplate's order: KU, EKU, BC, [SKID], AKI, AIA, SAN, policies, CRL DP.
  const oids = withoutKe.extensions.map((e) => e.extnID);
  const sanAt = oids.indexOf(OID.subjectAltName);
  const between = Buffer.concat(withoutKe.extensions.slice(1, oids.indexOf(OID.authorityKeyIdentifier)).map(extensionDer));
  const beforeSan = Buffer.concat(withoutKe.extensions.slice(oids.indexOf(OID.authorityKeyIdentifier), sanAt).map(extensionDer));
  const afterSan = Buffer.concat(withoutKe.extensions.slice(sanAt + 1).map(extensionDer));
  return {
    encodeTbs(f) {
      const generalNames = [
        ...f.dnsNames.map((name) => tlv(0x82, Buffer.from(name, 'latin1'))),
        ...(f.ipAddresses ?? []).map((ip) => tlv(0x87, ipOctets(ip))),
      ];
      const san = tlv(0x30, OID_SAN, f.commonName ? Buffer.alloc(0) : BOOLEAN_TRUE, tlv(0x04, tlv(0x30, ...generalNames)));
      const skid = f.subjectKeyIdentifier ? tlv(0x30, OID_SKID, tlv(0x04, tlv(0x04, subjectKeyIdentifierOf(f.publicKey)))) : Buffer.alloc(0);
      const subject = f.commonName
        ? tlv(0x30, tlv(0x31, tlv(0x30, OID_COMMON_NAME, tlv(PRINTABLE.test(f.commonName) ? 0x13 : 0x0c, Buffer.from(f.commonName, 'utf8')))))
        : tlv(0x30);
      return tlv(
        0x30,
        VERSION_3,
        tlv(0x02, f.serialNumber),
        algorithmIdentifier,
        issuerName,
        tlv(0x30, time(f.notBefore), time(f.notAfter)),
        subject,
        f.publicKey,
        tlv(0xa3, tlv(0x30, f.keyEncipherment ? keyUsage.withKe : keyUsage.plain, between, skid, beforeSan, san, afterSan)),
      );
    },
  };
}
