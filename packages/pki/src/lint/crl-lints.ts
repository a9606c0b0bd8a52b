// Lints for CRLs: RFC 5280 section 5, BR 4.9.7 / 7.2, CCADB 2.0 section 3.2 and 6.2.
import { SIGNATURE_ALGORITHMS, isRsa } from '../algorithms.js';
import { bytesEqual, toHex } from '../bytes.js';
import { AsnConvert, OID, asn1 } from '../x509.js';
import type { CrlKind, Lint } from './types.js';
import type { CertificateView, CrlView } from './view.js';

export interface CrlLintContext {
  crl: CrlView;
  kind: CrlKind;
  issuer: CertificateView;
}

const DAY = 86400_000;
const ALLOWED_CRL_EXTENSIONS = new Set<string>([OID.authorityKeyIdentifier, OID.crlNumber, OID.issuingDistributionPoint]);
const ALLOWED_ENTRY_EXTENSIONS = new Set<string>([OID.crlReason, asn1.id_ce_invalidityDate]);

function reasonOf(entry: asn1.RevokedCertificate): { code?: number; critical: boolean } {
  const ext = entry.crlEntryExtensions?.find((e) => e.extnID === OID.crlReason);
  if (!ext) return { critical: false };
  return { code: AsnConvert.parse(ext.extnValue.buffer, asn1.CRLReason).reason, critical: ext.critical };
}

export const crlLints: Lint<CrlLintContext>[] = [
  {
    name: 'e_crl_version_not_v2', source: 'rfc5280', citation: 'RFC 5280 5.1.2.1',
    description: 'CRLs with extensions are version 2.',
    applies: () => true,
    check: (c) => (c.crl.tbs.version === asn1.Version.v2 ? [] : ['CRL version is not v2']),
  },
  {
    name: 'e_crl_signature_algorithm', source: 'cabf_br', citation: 'RFC 5280 5.1.1.2, BR 7.1.3.2',
    description: 'The signature algorithm is allowed, equal inside and outside the TBS, and fits the issuer key.',
    applies: () => true,
    check: (c) => {
      const out: string[] = [];
      if (!bytesEqual(c.crl.innerSignatureAlgorithm, c.crl.outerSignatureAlgorithm)) out.push('outer and TBS signature algorithms differ');
      const alg = c.crl.signatureAlgorithm;
      if (!alg) return [...out, `signature AlgorithmIdentifier ${toHex(c.crl.outerSignatureAlgorithm)} is not allowed`];
      const key = c.issuer.keyAlgorithm;
      const info = SIGNATURE_ALGORITHMS[alg];
      if (isRsa(key) !== (info.keyType === 'rsa')) out.push(`${alg} cannot come from a ${key} issuer key`);
      if (key === 'ecdsa-p384' && info.hash !== 'sha384') out.push('a P-384 issuer must sign with ecdsa-with-SHA384');
      if (key === 'ecdsa-p256' && info.hash !== 'sha256') out.push('a P-256 issuer must sign with ecdsa-with-SHA256');
      return out;
    },
  },
  {
    name: 'e_crl_issuer_name_not_chained', source: 'rfc5280', citation: 'RFC 5280 5.1.2.3, BR 7.2.2',
    description: 'The CRL issuer is byte-for-byte the issuing CA\'s subject.',
    applies: () => true,
    check: (c) => (bytesEqual(c.crl.issuerRaw, c.issuer.raw.subject) ? [] : ['CRL issuer bytes differ from the CA certificate\'s subject']),
  },
  {
    name: 'e_crl_issuer_cannot_sign_crls', source: 'rfc5280', citation: 'RFC 5280 4.2.1.3',
    description: 'The issuing certificate asserts cRLSign.',
    applies: () => true,
    check: (c) => ((c.issuer.keyUsageFlags ?? 0) & asn1.KeyUsageFlags.cRLSign ? [] : ['the issuer certificate lacks cRLSign']),
  },
  {
    name: 'e_crl_authority_key_identifier', source: 'rfc5280', citation: 'RFC 5280 5.2.1, BR 7.2.2',
    description: 'authorityKeyIdentifier is present, non-critical and equals the issuer\'s subjectKeyIdentifier.',
    applies: () => true,
    check: (c) => {
      const ext = c.crl.extensions.get(OID.authorityKeyIdentifier);
      if (!ext) return ['authorityKeyIdentifier is missing'];
      const aki = c.crl.extensions.parse(OID.authorityKeyIdentifier, asn1.AuthorityKeyIdentifier)!;
      const out: string[] = [];
      if (ext.critical) out.push('authorityKeyIdentifier is critical');
      const ski = c.issuer.subjectKeyIdentifier;
      if (!aki.keyIdentifier || !ski || !bytesEqual(new Uint8Array(aki.keyIdentifier.buffer), ski)) out.push('authorityKeyIdentifier does not equal the issuer\'s subjectKeyIdentifier');
      return out;
    },
  },
  {
    name: 'e_crl_number', source: 'rfc5280', citation: 'RFC 5280 5.2.3, BR 7.2.2',
    description: 'cRLNumber is present, non-critical, and 0 <= n < 2^159.',
    applies: () => true,
    check: (c) => {
      const ext = c.crl.extensions.get(OID.crlNumber);
      if (!ext) return ['cRLNumber is missing'];
      const out: string[] = [];
      if (ext.critical) out.push('cRLNumber is critical');
      const bytes = c.crl.crlNumberBytes();
      if (!bytes) out.push('cRLNumber is not an INTEGER');
      else if (bytes[0] & 0x80) out.push('cRLNumber is negative');
      else if (bytes.length > 20) out.push('cRLNumber is 2^159 or larger');
      return out;
    },
  },
  {
    name: 'e_crl_next_update', source: 'cabf_br', citation: 'BR 4.9.7, RFC 5280 5.1.2.5',
    description: 'nextUpdate is present and after thisUpdate, at most 12 months later for CA CRLs and 10 days for subscriber CRLs.',
    applies: () => true,
    check: (c) => {
      const next = c.crl.tbs.nextUpdate?.getTime();
      if (!next) return ['nextUpdate is missing'];
      const span = next.getTime() - c.crl.tbs.thisUpdate.getTime().getTime();
      if (span <= 0) return ['nextUpdate is not after thisUpdate'];
      const limitDays = c.kind === 'ca' ? 365 : 10;
      return span <= limitDays * DAY ? [] : [`nextUpdate is ${(span / DAY).toFixed(2)} days after thisUpdate; at most ${limitDays}`];
    },
  },
  {
    name: 'e_crl_time_encoding', source: 'rfc5280', citation: 'RFC 5280 5.1.2.4-5.1.2.6',
    description: 'Times through 2049 are UTCTime, from 2050 GeneralizedTime.',
    applies: () => true,
    check: (c) => {
      const times: Array<[string, asn1.Time | undefined]> = [['thisUpdate', c.crl.tbs.thisUpdate], ['nextUpdate', c.crl.tbs.nextUpdate]];
      for (const entry of c.crl.tbs.revokedCertificates ?? []) times.push([`revocationDate of ${toHex(new Uint8Array(entry.userCertificate))}`, entry.revocationDate]);
      const out: string[] = [];
      for (const [label, time] of times) {
        if (!time) continue;
        const year = time.getTime().getUTCFullYear();
        if ((year < 2050) !== Boolean(time.utcTime)) out.push(`${label} has the wrong time type for ${year}`);
      }
      return out;
    },
  },
  {
    name: 'e_crl_within_issuer_validity', source: 'cobble', citation: 'Boulder ceremony crl checks',
    description: 'thisUpdate is not before the issuer\'s notBefore, nextUpdate not after its notAfter.',
    applies: () => true,
    check: (c) => {
      const out: string[] = [];
      if (c.crl.tbs.thisUpdate.getTime() < c.issuer.notBefore) out.push('thisUpdate is before the issuer certificate\'s notBefore');
      const next = c.crl.tbs.nextUpdate?.getTime();
      if (next && next > c.issuer.notAfter) out.push('nextUpdate is after the issuer certificate\'s notAfter');
      return out;
    },
  },
  {
    name: 'e_crl_issuing_distribution_point', source: 'rfc5280', citation: 'RFC 5280 5.2.5, BR 7.2.2',
    description: 'IDP, when present, is critical, not indirect, covers one certificate kind at most; a CA-certificates CRL says onlyContainsCACerts.',
    applies: (c) => c.kind === 'ca' || c.crl.extensions.has(OID.issuingDistributionPoint),
    check: (c) => {
      const ext = c.crl.extensions.get(OID.issuingDistributionPoint);
      if (!ext) return ['issuingDistributionPoint with onlyContainsCACerts is missing'];
      const idp = c.crl.extensions.parse(OID.issuingDistributionPoint, asn1.IssuingDistributionPoint)!;
      const out: string[] = [];
      if (!ext.critical) out.push('issuingDistributionPoint is not critical');
      if (idp.onlyContainsCACerts && idp.onlyContainsUserCerts) out.push('onlyContainsCACerts and onlyContainsUserCerts are both set');
      if (idp.indirectCRL || idp.onlyContainsAttributeCerts) out.push('indirect or attribute-certificate CRLs are not allowed');
      if (idp.onlySomeReasons) out.push('onlySomeReasons SHOULD NOT be used');
      if (c.kind === 'ca' && !idp.onlyContainsCACerts) out.push('a CRL of CA certificates must set onlyContainsCACerts');
      if (c.kind === 'subscriber' && idp.onlyContainsCACerts) out.push('a subscriber CRL must not set onlyContainsCACerts');
      return out;
    },
  },
  {
    name: 'e_crl_unexpected_extension', source: 'cabf_br', citation: 'BR 7.2.2',
    description: 'Only authorityKeyIdentifier, cRLNumber and issuingDistributionPoint appear.',
    applies: () => true,
    check: (c) => c.crl.extensions.list.filter((e) => !ALLOWED_CRL_EXTENSIONS.has(e.extnID)).map((e) => `CRL extension ${e.extnID} is not allowed`),
  },
  {
    name: 'e_crl_entries', source: 'cabf_br', citation: 'BR 7.2.2, CCADB 2.0 3.2',
    description: 'Unique serials; reasonCode non-critical, never unspecified(0) or certificateHold(6); CA-certificate entries always carry a reasonCode.',
    applies: (c) => (c.crl.tbs.revokedCertificates ?? []).length > 0,
    check: (c) => {
      const out: string[] = [];
      const seen = new Set<string>();
      const allowed = c.kind === 'ca' ? [1, 2, 3, 4, 5, 9] : [1, 3, 4, 5, 9];
      for (const entry of c.crl.tbs.revokedCertificates ?? []) {
        const serial = toHex(new Uint8Array(entry.userCertificate));
        if (seen.has(serial)) out.push(`serial ${serial} is listed twice`);
        seen.add(serial);
        for (const e of entry.crlEntryExtensions ?? []) if (!ALLOWED_ENTRY_EXTENSIONS.has(e.extnID)) out.push(`entry ${serial}: extension ${e.extnID} is not allowed`);
        const reason = reasonOf(entry);
        if (reason.critical) out.push(`entry ${serial}: reasonCode is critical`);
        if (reason.code === undefined) {
          if (c.kind === 'ca') out.push(`entry ${serial}: a revoked CA certificate must carry a reasonCode`);
        } else if (!allowed.includes(reason.code)) {
          out.push(`entry ${serial}: reasonCode ${reason.code} is not allowed (allowed: ${allowed.join(', ')})`);
        }
      }
      return out;
    },
  },
];
