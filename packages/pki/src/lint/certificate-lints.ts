// Lints for certificates: RFC 5280, the CA/Browser Forum Baseline Requirements (v2.x), and root-program rules
// (Mozilla, Chrome, CCADB) that apply to what cobble issues. Certificates are judged at their notBefore, as
// zlint does, so a rule that took effect on a date applies to certificates dated after it.
import { SIGNATURE_ALGORITHMS, SPKI_ALGORITHM_IDENTIFIERS, isRsa, type KeyAlgorithm } from '../algorithms.js';
import { bytesEqual, toHex } from '../bytes.js';
import { OID, asn1, nameAttribute, sha1KeyIdentifierOf, subjectKeyIdentifierOf } from '../x509.js';
import type { CertificateKind, Lint } from './types.js';
import { CertificateView } from './view.js';

export interface CertificateLintContext {
  cert: CertificateView;
  kind: CertificateKind;
  /** The issuing CA's certificate; absent for a self-signed root. */
  issuer?: CertificateView;
  /** For a cross-certificate: the existing certificate it mirrors. */
  crossSigned?: CertificateView;
}

const DAY = 86400;
const KU = asn1.KeyUsageFlags;
const isCaKind = (k: CertificateKind) => k === 'root' || k === 'intermediate' || k === 'cross-certificate';
const isSubCa = (k: CertificateKind) => k === 'intermediate' || k === 'cross-certificate';
const issuerOf = (c: CertificateLintContext) => c.issuer ?? c.cert;
const onOrAfter = (c: CertificateLintContext, iso: string) => c.cert.notBefore.getTime() >= Date.parse(iso);
const CA_EXTENSIONS = new Set<string>([OID.keyUsage, OID.basicConstraints, OID.extKeyUsage, OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier, OID.certificatePolicies, OID.crlDistributionPoints, OID.authorityInfoAccess]);
const LEAF_EXTENSIONS = new Set<string>([...CA_EXTENSIONS, OID.subjectAltName, OID.sctList, OID.precertificatePoison]);

function httpUrlProblems(urls: string[], what: string): string[] {
  return urls.filter((u) => !/^http:\/\/[^/\s]+/.test(u)).map((u) => `${what} URL ${u} is not an http:// URL`);
}

function generalNameUris(names: asn1.GeneralName[] | undefined): string[] {
  return (names ?? []).map((n) => n.uniformResourceIdentifier ?? `(non-URI name)`);
}

function usageNames(flags: number): string {
  return (Object.keys(KU) as Array<keyof typeof KU>).filter((k) => isNaN(Number(k)) && flags & (KU[k] as number)).join(', ') || 'none';
}

export const certificateLints: Lint<CertificateLintContext>[] = [
  {
    name: 'e_cert_version_not_v3', source: 'rfc5280', citation: 'RFC 5280 4.1.2.1',
    description: 'Certificates with extensions are version 3.',
    applies: () => true,
    check: (c) => (c.cert.tbs.version === asn1.Version.v3 ? [] : [`version is v${c.cert.tbs.version + 1}`]),
  },
  {
    name: 'e_serial_number_invalid', source: 'rfc5280', citation: 'RFC 5280 4.1.2.2',
    description: 'The serial number is a positive INTEGER of at most 20 octets.',
    applies: () => true,
    check: (c) => {
      const s = c.cert.raw.serial;
      const out: string[] = [];
      if (s.length > 20) out.push(`serial is ${s.length} octets`);
      if (s[0] & 0x80) out.push('serial is negative');
      if (s.every((b) => b === 0)) out.push('serial is zero');
      if (s.length > 1 && s[0] === 0 && !(s[1] & 0x80)) out.push('serial is not minimally encoded');
      return out;
    },
  },
  {
    name: 'e_serial_number_low_entropy', source: 'cobble', citation: 'BR 7.1 (64 bits); cobble policy 128 bits',
    description: 'Serials carry at least 128 random bits: 17 octets or more with cobble\'s prefix byte.',
    applies: () => true,
    check: (c) => (c.cert.raw.serial.length >= 17 ? [] : [`serial ${toHex(c.cert.raw.serial)} has ${c.cert.raw.serial.length} octets; cobble issues 17 or more`]),
  },
  {
    name: 'e_signature_algorithm_mismatch', source: 'rfc5280', citation: 'RFC 5280 4.1.1.2',
    description: 'The signatureAlgorithm field equals the TBS signature field.',
    applies: () => true,
    check: (c) => (bytesEqual(c.cert.raw.innerSignatureAlgorithm, c.cert.outerSignatureAlgorithm) ? [] : ['outer and TBS signature algorithms differ']),
  },
  {
    name: 'e_signature_algorithm_not_allowed', source: 'cabf_br', citation: 'BR 7.1.3.2',
    description: 'The signature AlgorithmIdentifier is one of the byte-exact encodings the BRs list.',
    applies: () => true,
    check: (c) => (c.cert.signatureAlgorithm ? [] : [`signature AlgorithmIdentifier ${toHex(c.cert.outerSignatureAlgorithm)} is not allowed`]),
  },
  {
    name: 'e_signature_algorithm_not_for_issuer_key', source: 'cabf_br', citation: 'BR 7.1.3.2',
    description: 'RSA keys sign with RSA PKCS#1 v1.5; a P-256 key with ecdsa-with-SHA256, a P-384 key with ecdsa-with-SHA384.',
    applies: (c) => c.cert.signatureAlgorithm !== undefined,
    check: (c) => {
      const alg = c.cert.signatureAlgorithm!;
      const key: KeyAlgorithm = issuerOf(c).keyAlgorithm;
      const info = SIGNATURE_ALGORITHMS[alg];
      if (isRsa(key) !== (info.keyType === 'rsa')) return [`${alg} cannot come from a ${key} issuer key`];
      if (key === 'ecdsa-p256' && info.hash !== 'sha256') return [`a P-256 issuer key must sign with ecdsa-with-SHA256, not ${alg}`];
      if (key === 'ecdsa-p384' && info.hash !== 'sha384') return [`a P-384 issuer key must sign with ecdsa-with-SHA384, not ${alg}`];
      return [];
    },
  },
  {
    name: 'e_subject_public_key_not_allowed', source: 'cabf_br', citation: 'BR 6.1.5, 6.1.6, 7.1.3.1',
    description: 'RSA keys of at least 2048 bits (a multiple of 8) with an odd exponent >= 3, or ECDSA P-256/P-384, encoded exactly.',
    applies: () => true,
    check: (c) => {
      let key: KeyAlgorithm;
      try {
        key = c.cert.keyAlgorithm;
      } catch (err) {
        return [(err as Error).message];
      }
      const expected = isRsa(key) ? SPKI_ALGORITHM_IDENTIFIERS.rsa : SPKI_ALGORITHM_IDENTIFIERS[key === 'ecdsa-p256' ? 'P-256' : 'P-384'];
      const out: string[] = [];
      if (toHex(c.cert.spkiAlgorithmIdentifier()) !== expected) out.push('SubjectPublicKeyInfo AlgorithmIdentifier is not encoded as BR 7.1.3.1 requires');
      if (isRsa(key)) {
        const e = c.cert.rsaPublicExponent() ?? 0n;
        if (e < 3n || e % 2n === 0n) out.push(`RSA public exponent ${e} must be odd and >= 3`);
      }
      return out;
    },
  },
  {
    name: 'e_validity_not_ordered', source: 'rfc5280', citation: 'RFC 5280 4.1.2.5',
    description: 'notBefore is earlier than notAfter.',
    applies: () => true,
    check: (c) => (c.cert.notBefore < c.cert.notAfter ? [] : ['notAfter is not after notBefore']),
  },
  {
    name: 'e_validity_time_encoding', source: 'rfc5280', citation: 'RFC 5280 4.1.2.5',
    description: 'Dates through 2049 are UTCTime, from 2050 GeneralizedTime.',
    applies: () => true,
    check: (c) => {
      const out: string[] = [];
      for (const [label, time] of [['notBefore', c.cert.tbs.validity.notBefore], ['notAfter', c.cert.tbs.validity.notAfter]] as const) {
        const year = time.getTime().getUTCFullYear();
        if (year < 2050 && !time.utcTime) out.push(`${label} (${year}) must be UTCTime`);
        if (year >= 2050 && !time.generalTime) out.push(`${label} (${year}) must be GeneralizedTime`);
      }
      return out;
    },
  },
  {
    name: 'e_root_validity_period', source: 'cabf_br', citation: 'BR 7.1.2.1.1',
    description: 'A root certificate is valid for at least 2922 and at most 9132 days.',
    applies: (c) => c.kind === 'root',
    check: (c) => {
      const days = c.cert.validitySeconds / DAY;
      return days >= 2922 && days <= 9132 ? [] : [`root validity is ${days.toFixed(2)} days; allowed 2922..9132`];
    },
  },
  {
    name: 'e_subordinate_validity_period', source: 'cobble', citation: 'Boulder ceremony: sub-CA validity < 8 years',
    description: 'Subordinate CA, cross and OCSP signer certificates are valid for less than 8 years.',
    applies: (c) => c.kind !== 'root' && c.kind !== 'leaf',
    check: (c) => (c.cert.validitySeconds < 8 * 365 * DAY ? [] : [`validity is ${(c.cert.validitySeconds / DAY).toFixed(2)} days; must be < ${8 * 365}`]),
  },
  {
    name: 'e_not_after_beyond_issuer', source: 'cobble', citation: 'RFC 5280 6.1.3 (chain validity)',
    description: 'A certificate does not outlive its issuer.',
    applies: (c) => c.issuer !== undefined,
    check: (c) => (c.cert.notAfter <= c.issuer!.notAfter ? [] : [`notAfter ${c.cert.notAfter.toISOString()} is after the issuer's ${c.issuer!.notAfter.toISOString()}`]),
  },
  {
    name: 'e_issuer_name_not_chained', source: 'rfc5280', citation: 'RFC 5280 4.1.2.4, BR 7.1.4.1',
    description: 'The issuer field is byte-for-byte the issuing CA\'s subject (its own subject when self-signed).',
    applies: () => true,
    check: (c) => (bytesEqual(c.cert.raw.issuer, issuerOf(c).raw.subject) ? [] : ['issuer name bytes differ from the issuing CA\'s subject bytes']),
  },
  {
    name: 'e_issuer_not_ca', source: 'rfc5280', citation: 'RFC 5280 6.1.4 (k), (n)',
    description: 'The issuing certificate is a CA (basicConstraints cA) with keyCertSign.',
    applies: (c) => c.issuer !== undefined,
    check: (c) => {
      const out: string[] = [];
      if (!c.issuer!.isCA) out.push('issuer certificate is not a CA');
      if (!((c.issuer!.keyUsageFlags ?? 0) & KU.keyCertSign)) out.push('issuer certificate lacks keyCertSign');
      return out;
    },
  },
  {
    name: 'e_ca_subject_fields', source: 'cabf_br', citation: 'BR 7.1.2.10.2, 7.1.4.2',
    description: 'A CA subject has exactly one countryName (two upper-case letters), organizationName and commonName, and no OU.',
    applies: (c) => isCaKind(c.kind),
    check: (c) => {
      const subject = c.cert.raw.subject;
      const out: string[] = [];
      const country = nameAttribute(subject, OID.country);
      if (country.length !== 1 || !/^[A-Z]{2}$/.test(country[0])) out.push(`countryName must be one two-letter code, got ${JSON.stringify(country)}`);
      for (const [oid, label] of [[OID.organization, 'organizationName'], [OID.commonName, 'commonName']] as const) {
        const values = nameAttribute(subject, oid);
        if (values.length !== 1 || values[0].trim() === '') out.push(`${label} must appear once, got ${JSON.stringify(values)}`);
      }
      if (nameAttribute(subject, OID.organizationalUnit).length > 0) out.push('organizationalUnitName is prohibited');
      return out;
    },
  },
  {
    name: 'e_ca_basic_constraints', source: 'rfc5280', citation: 'RFC 5280 4.2.1.9, BR 7.1.2.10.4',
    description: 'CA certificates carry a critical basicConstraints with cA TRUE.',
    applies: (c) => isCaKind(c.kind),
    check: (c) => {
      if (!c.cert.extensions.has(OID.basicConstraints)) return ['basicConstraints is missing'];
      const out: string[] = [];
      if (!c.cert.extensions.critical(OID.basicConstraints)) out.push('basicConstraints is not critical');
      if (!c.cert.isCA) out.push('basicConstraints cA is not TRUE');
      return out;
    },
  },
  {
    name: 'e_path_length_forbidden_by_issuer', source: 'rfc5280', citation: 'RFC 5280 6.1.4 (l), (m)',
    description: 'A CA certificate fits under its issuer\'s pathLenConstraint.',
    applies: (c) => c.issuer !== undefined && c.cert.isCA && !c.cert.selfIssued,
    check: (c) => {
      const limit = c.issuer!.basicConstraints?.pathLenConstraint;
      if (limit === undefined) return [];
      if (limit === 0) return ['the issuer has pathLenConstraint 0, which forbids any CA certificate below it'];
      const own = c.cert.basicConstraints?.pathLenConstraint;
      if (own === undefined) return [`the issuer has pathLenConstraint ${limit}; this CA certificate must set pathLenConstraint <= ${limit - 1}`];
      return own <= limit - 1 ? [] : [`pathLenConstraint ${own} exceeds the ${limit - 1} the issuer allows`];
    },
  },
  {
    name: 'e_path_length_without_cert_sign', source: 'rfc5280', citation: 'RFC 5280 4.2.1.9',
    description: 'pathLenConstraint appears only with cA TRUE and keyCertSign.',
    applies: (c) => c.cert.basicConstraints?.pathLenConstraint !== undefined,
    check: (c) => (c.cert.isCA && (c.cert.keyUsageFlags ?? 0) & KU.keyCertSign ? [] : ['pathLenConstraint set on a certificate that cannot sign certificates']),
  },
  {
    name: 'e_ca_key_usage', source: 'cabf_br', citation: 'BR 7.1.2.10.7, RFC 5280 4.2.1.3',
    description: 'CA keyUsage is critical with keyCertSign and cRLSign, and digitalSignature at most besides.',
    applies: (c) => isCaKind(c.kind),
    check: (c) => {
      const flags = c.cert.keyUsageFlags;
      if (flags === undefined) return ['keyUsage is missing'];
      const out: string[] = [];
      if (!c.cert.extensions.critical(OID.keyUsage)) out.push('keyUsage is not critical');
      if (!(flags & KU.keyCertSign)) out.push('keyUsage lacks keyCertSign');
      if (!(flags & KU.cRLSign)) out.push('keyUsage lacks cRLSign');
      const extra = flags & ~(KU.keyCertSign | KU.cRLSign | KU.digitalSignature);
      if (extra) out.push(`keyUsage has ${usageNames(extra)}, not allowed for a CA`);
      return out;
    },
  },
  {
    name: 'e_subject_key_identifier', source: 'rfc5280', citation: 'RFC 5280 4.2.1.2, BR 7.1.2.10',
    description: 'CA certificates carry a non-critical subjectKeyIdentifier derived from their key (RFC 7093 SHA-256 or RFC 5280 SHA-1).',
    applies: (c) => c.kind !== 'leaf' || c.cert.extensions.has(OID.subjectKeyIdentifier),
    check: (c) => {
      const ski = c.cert.subjectKeyIdentifier;
      if (!ski) return c.kind === 'ocsp-signer' ? [] : ['subjectKeyIdentifier is missing'];
      const out: string[] = [];
      if (c.cert.extensions.critical(OID.subjectKeyIdentifier)) out.push('subjectKeyIdentifier is critical');
      const spki = c.cert.raw.spki;
      if (!bytesEqual(ski, subjectKeyIdentifierOf(spki)) && !bytesEqual(ski, sha1KeyIdentifierOf(spki))) {
        out.push('subjectKeyIdentifier is not derived from the subject key by RFC 7093 (SHA-256) or RFC 5280 (SHA-1) method 1');
      }
      return out;
    },
  },
  {
    name: 'e_authority_key_identifier', source: 'rfc5280', citation: 'RFC 5280 4.2.1.1, BR 7.1.2.11.1',
    description: 'authorityKeyIdentifier is present (optional on roots), non-critical, keyIdentifier only, equal to the issuer\'s subjectKeyIdentifier.',
    applies: (c) => c.kind !== 'root' || c.cert.extensions.has(OID.authorityKeyIdentifier),
    check: (c) => {
      const aki = c.cert.authorityKeyIdentifier;
      if (!aki) return ['authorityKeyIdentifier is missing'];
      const out: string[] = [];
      if (c.cert.extensions.critical(OID.authorityKeyIdentifier)) out.push('authorityKeyIdentifier is critical');
      if (aki.authorityCertIssuer || aki.authorityCertSerialNumber) out.push('authorityKeyIdentifier carries issuer/serial; BR allows keyIdentifier only');
      const expected = issuerOf(c).subjectKeyIdentifier;
      if (!aki.keyIdentifier) out.push('authorityKeyIdentifier has no keyIdentifier');
      else if (!expected || !bytesEqual(new Uint8Array(aki.keyIdentifier.buffer), expected)) out.push('authorityKeyIdentifier does not equal the issuer\'s subjectKeyIdentifier');
      return out;
    },
  },
  {
    name: 'e_root_extensions', source: 'cabf_br', citation: 'BR 7.1.2.1.2',
    description: 'A root carries keyUsage, basicConstraints, subjectKeyIdentifier and optionally authorityKeyIdentifier; no EKU (MUST NOT), no policies, CRLDP or AIA (NOT RECOMMENDED / SHOULD NOT).',
    applies: (c) => c.kind === 'root',
    check: (c) => {
      const allowed = new Set<string>([OID.keyUsage, OID.basicConstraints, OID.subjectKeyIdentifier, OID.authorityKeyIdentifier]);
      const out = c.cert.extensions.list.filter((e) => !allowed.has(e.extnID)).map((e) => `extension ${e.extnID} does not belong in a root`);
      if (c.cert.basicConstraints?.pathLenConstraint !== undefined) out.push('pathLenConstraint is NOT RECOMMENDED on a root');
      return out;
    },
  },
  {
    name: 'e_sub_ca_eku', source: 'cabf_br', citation: 'BR 7.1.2.10.6, Mozilla 5.3, Chrome 1.3.2',
    description: 'A TLS subordinate CA has a non-critical EKU with serverAuth, optionally clientAuth (serverAuth only from 2026-06-15), never anyExtendedKeyUsage.',
    applies: (c) => c.kind === 'intermediate',
    check: (c) => {
      const eku = c.cert.extendedKeyUsages;
      if (!eku) return ['extKeyUsage is missing'];
      const out: string[] = [];
      if (c.cert.extensions.critical(OID.extKeyUsage)) out.push('extKeyUsage is critical');
      if (!eku.includes(OID.serverAuth)) out.push('extKeyUsage lacks serverAuth');
      const allowed: string[] = onOrAfter(c, '2026-06-15T00:00:00Z') ? [OID.serverAuth] : [OID.serverAuth, OID.clientAuth];
      for (const oid of eku) if (!allowed.includes(oid)) out.push(`extKeyUsage ${oid} is not allowed in a TLS subordinate CA dated ${c.cert.notBefore.toISOString().slice(0, 10)}`);
      return out;
    },
  },
  {
    name: 'e_cross_certificate_eku', source: 'ccadb', citation: 'CCADB Policy 2.0 6.3, BR 7.1.2.2.6',
    description: 'A cross-certificate dated from 2025-06-15 has EKU serverAuth only; before that, no EKU or serverAuth with optional clientAuth.',
    applies: (c) => c.kind === 'cross-certificate',
    check: (c) => {
      const eku = c.cert.extendedKeyUsages;
      if (onOrAfter(c, '2025-06-15T00:00:00Z')) {
        return eku && eku.length === 1 && eku[0] === OID.serverAuth ? [] : ['a cross-certificate into a TLS hierarchy must carry EKU serverAuth only'];
      }
      if (!eku) return [];
      return eku.filter((o) => o !== OID.serverAuth && o !== OID.clientAuth).map((o) => `extKeyUsage ${o} is not allowed`);
    },
  },
  {
    name: 'e_sub_ca_certificate_policies', source: 'cabf_br', citation: 'BR 7.1.2.10.5, 7.1.6.3',
    description: 'Subordinate and cross CAs assert exactly one CA/B Forum reserved policy, no anyPolicy, qualifiers only id-qt-cps.',
    applies: (c) => isSubCa(c.kind),
    check: (c) => {
      const policies = c.cert.policies;
      if (!policies) return ['certificatePolicies is missing'];
      const out: string[] = [];
      if (c.cert.extensions.critical(OID.certificatePolicies)) out.push('certificatePolicies is critical');
      const reserved = policies.filter((p) => p.policyIdentifier.startsWith('2.23.140.1.'));
      if (reserved.length !== 1) out.push(`${reserved.length} CA/B Forum reserved policies; exactly one required`);
      if (policies.some((p) => p.policyIdentifier === OID.anyPolicy)) out.push('anyPolicy is not allowed');
      for (const p of policies) for (const q of p.policyQualifiers ?? []) if (q.policyQualifierId !== OID.cpsQualifier) out.push(`policy qualifier ${q.policyQualifierId} is not allowed`);
      return out;
    },
  },
  {
    name: 'e_sub_ca_crl_distribution_point', source: 'cabf_br', citation: 'BR 7.1.2.6, 7.1.2.11.2',
    description: 'Subordinate and cross CAs carry a non-critical CRLDP with one DistributionPoint of http:// URIs.',
    applies: (c) => isSubCa(c.kind),
    check: (c) => {
      const dps = c.cert.extensions.parse(OID.crlDistributionPoints, asn1.CRLDistributionPoints);
      if (!dps) return ['cRLDistributionPoints is missing'];
      const out: string[] = [];
      if (c.cert.extensions.critical(OID.crlDistributionPoints)) out.push('cRLDistributionPoints is critical');
      if (dps.length !== 1) out.push(`${dps.length} DistributionPoints; exactly one required`);
      for (const dp of dps) {
        if (dp.reasons || dp.cRLIssuer) out.push('DistributionPoint must not carry reasons or cRLIssuer');
        out.push(...httpUrlProblems(generalNameUris(dp.distributionPoint?.fullName), 'CRL'));
      }
      return out;
    },
  },
  {
    name: 'e_authority_information_access', source: 'cabf_br', citation: 'BR 7.1.2.10.3, 7.1.2.7.7',
    description: 'AIA is non-critical and holds only caIssuers and OCSP http:// URIs.',
    applies: (c) => c.cert.extensions.has(OID.authorityInfoAccess),
    check: (c) => {
      const out: string[] = [];
      if (c.cert.extensions.critical(OID.authorityInfoAccess)) out.push('authorityInformationAccess is critical');
      const aia = c.cert.extensions.parse(OID.authorityInfoAccess, asn1.AuthorityInfoAccessSyntax)!;
      for (const ad of aia) {
        if (ad.accessMethod !== OID.caIssuers && ad.accessMethod !== OID.ocsp) out.push(`access method ${ad.accessMethod} is not allowed`);
        out.push(...httpUrlProblems(generalNameUris([ad.accessLocation]), ad.accessMethod === OID.ocsp ? 'OCSP' : 'caIssuers'));
      }
      return out;
    },
  },
  {
    name: 'e_duplicate_extension', source: 'rfc5280', citation: 'RFC 5280 4.2',
    description: 'No extension appears twice.',
    applies: () => true,
    check: (c) => {
      const seen = new Set<string>();
      const out: string[] = [];
      for (const e of c.cert.extensions.list) {
        if (seen.has(e.extnID)) out.push(`extension ${e.extnID} appears more than once`);
        seen.add(e.extnID);
      }
      return out;
    },
  },
  {
    name: 'e_unexpected_extension', source: 'cobble', citation: 'BR 7.1.2.10.9 / 7.1.2.7.x "any other extension"',
    description: 'Only extensions cobble\'s profiles define appear (no name constraints, no private extensions).',
    applies: () => true,
    check: (c) => {
      const allowed = c.kind === 'leaf' ? LEAF_EXTENSIONS : c.kind === 'ocsp-signer' ? new Set([...CA_EXTENSIONS, OID.ocspNoCheck]) : CA_EXTENSIONS;
      return c.cert.extensions.list.filter((e) => !allowed.has(e.extnID)).map((e) => `extension ${e.extnID} is not part of the ${c.kind} profile`);
    },
  },
  {
    name: 'e_cross_certificate_mirrors_existing', source: 'cabf_br', citation: 'BR 7.1.2.2',
    description: 'A cross-certificate has the existing certificate\'s subject bytes, key and subjectKeyIdentifier, and no earlier notBefore.',
    applies: (c) => c.kind === 'cross-certificate',
    check: (c) => {
      if (!c.crossSigned) return ['the existing certificate to mirror was not given'];
      const out: string[] = [];
      if (!bytesEqual(c.cert.raw.subject, c.crossSigned.raw.subject)) out.push('subject bytes differ from the existing certificate');
      if (!bytesEqual(c.cert.raw.spki, c.crossSigned.raw.spki)) out.push('public key differs from the existing certificate');
      const a = c.cert.subjectKeyIdentifier; const b = c.crossSigned.subjectKeyIdentifier;
      if (!a || !b || !bytesEqual(a, b)) out.push('subjectKeyIdentifier differs from the existing certificate');
      if (c.cert.notBefore < c.crossSigned.notBefore) out.push('notBefore is earlier than the existing certificate\'s');
      return out;
    },
  },
  {
    name: 'e_ocsp_signer_profile', source: 'cabf_br', citation: 'BR 7.1.2.8, RFC 6960 4.2.2.2',
    description: 'A delegated OCSP responder: EKU OCSPSigning only, critical keyUsage digitalSignature only, id-pkix-ocsp-nocheck, no CRLDP, not a CA.',
    applies: (c) => c.kind === 'ocsp-signer',
    check: (c) => {
      const out: string[] = [];
      const eku = c.cert.extendedKeyUsages;
      if (!eku || eku.length !== 1 || eku[0] !== OID.ocspSigning) out.push('extKeyUsage must be exactly id-kp-OCSPSigning');
      if (c.cert.keyUsageFlags !== KU.digitalSignature || !c.cert.extensions.critical(OID.keyUsage)) out.push('keyUsage must be critical digitalSignature only');
      if (!c.cert.extensions.has(OID.ocspNoCheck)) out.push('id-pkix-ocsp-nocheck is missing');
      if (c.cert.extensions.has(OID.crlDistributionPoints)) out.push('cRLDistributionPoints is not allowed');
      if (c.cert.isCA) out.push('an OCSP responder certificate must not be a CA');
      return out;
    },
  },
  {
    name: 'e_leaf_subject_alt_name', source: 'cabf_br', citation: 'BR 7.1.2.7.12, 7.1.4.3',
    description: 'A TLS leaf has SAN dNSNames, critical exactly when the subject is empty; a commonName is one of them.',
    applies: (c) => c.kind === 'leaf',
    check: (c) => {
      const san = c.cert.extensions.parse(OID.subjectAltName, asn1.SubjectAlternativeName);
      if (!san || san.length === 0) return ['subjectAltName is missing or empty'];
      const out: string[] = [];
      const names = san.map((n) => n.dNSName ?? n.iPAddress ?? '');
      const emptySubject = c.cert.tbs.subject.length === 0;
      if (emptySubject !== c.cert.extensions.critical(OID.subjectAltName)) out.push(`subjectAltName must be ${emptySubject ? '' : 'non-'}critical when the subject is ${emptySubject ? '' : 'not '}empty`);
      for (const cn of nameAttribute(c.cert.raw.subject, OID.commonName)) if (!names.includes(cn.toLowerCase())) out.push(`commonName ${cn} is not among the SANs`);
      for (const n of names) if (n.endsWith('.')) out.push(`dNSName ${n} ends with a dot`);
      return out;
    },
  },
  {
    name: 'e_leaf_eku', source: 'cabf_br', citation: 'BR 7.1.2.7.10, Chrome 1.3.2',
    description: 'A TLS leaf has EKU serverAuth (clientAuth allowed before 2027-03-15), nothing else.',
    applies: (c) => c.kind === 'leaf',
    check: (c) => {
      const eku = c.cert.extendedKeyUsages;
      if (!eku || !eku.includes(OID.serverAuth)) return ['extKeyUsage must include serverAuth'];
      const allowed: string[] = onOrAfter(c, '2027-03-15T00:00:00Z') ? [OID.serverAuth] : [OID.serverAuth, OID.clientAuth];
      return eku.filter((o) => !allowed.includes(o)).map((o) => `extKeyUsage ${o} is not allowed in a TLS leaf`);
    },
  },
  {
    name: 'e_leaf_key_usage', source: 'cabf_br', citation: 'BR 7.1.2.7.11',
    description: 'Leaf keyUsage, when present, is critical: digitalSignature for ECDSA; digitalSignature and/or keyEncipherment for RSA.',
    applies: (c) => c.kind === 'leaf' && c.cert.keyUsageFlags !== undefined,
    check: (c) => {
      const flags = c.cert.keyUsageFlags!;
      const out: string[] = [];
      if (!c.cert.extensions.critical(OID.keyUsage)) out.push('keyUsage is not critical');
      const allowed = isRsa(c.cert.keyAlgorithm) ? KU.digitalSignature | KU.keyEncipherment : KU.digitalSignature;
      if (flags & ~allowed) out.push(`keyUsage ${usageNames(flags & ~allowed)} is not allowed for this key type`);
      if (!isRsa(c.cert.keyAlgorithm) && !(flags & KU.digitalSignature)) out.push('an ECDSA leaf must assert digitalSignature');
      return out;
    },
  },
  {
    name: 'e_leaf_basic_constraints', source: 'cabf_br', citation: 'BR 7.1.2.7.8',
    description: 'A leaf is not a CA.',
    applies: (c) => c.kind === 'leaf',
    check: (c) => (c.cert.isCA ? ['a leaf must not have cA TRUE'] : []),
  },
  {
    name: 'e_leaf_validity_period', source: 'cabf_br', citation: 'BR 6.3.2',
    description: 'Leaf validity: 398 days, 200 from 2026-03-15, 100 from 2027-03-15, 47 from 2029-03-15.',
    applies: (c) => c.kind === 'leaf',
    check: (c) => {
      const limit = onOrAfter(c, '2029-03-15T00:00:00Z') ? 47 : onOrAfter(c, '2027-03-15T00:00:00Z') ? 100 : onOrAfter(c, '2026-03-15T00:00:00Z') ? 200 : 398;
      return c.cert.validitySeconds <= limit * DAY ? [] : [`validity ${(c.cert.validitySeconds / DAY).toFixed(2)} days exceeds ${limit}`];
    },
  },
  {
    name: 'e_leaf_certificate_policies', source: 'cabf_br', citation: 'BR 7.1.2.7.9',
    description: 'A leaf asserts exactly one CA/B Forum reserved policy and no anyPolicy.',
    applies: (c) => c.kind === 'leaf',
    check: (c) => {
      const policies = c.cert.policies;
      if (!policies) return ['certificatePolicies is missing'];
      const reserved = policies.filter((p) => p.policyIdentifier.startsWith('2.23.140.1.'));
      const out = reserved.length === 1 ? [] : [`${reserved.length} reserved policies; exactly one required`];
      if (policies.some((p) => p.policyIdentifier === OID.anyPolicy)) out.push('anyPolicy is not allowed');
      return out;
    },
  },
  {
    name: 'e_leaf_revocation_pointer', source: 'cabf_br', citation: 'BR 7.1.2.7.7, 7.1.2.11.2',
    description: 'A leaf has AIA, and a CRLDP unless it is short-lived or carries an OCSP URL.',
    applies: (c) => c.kind === 'leaf',
    check: (c) => {
      const aia = c.cert.extensions.parse(OID.authorityInfoAccess, asn1.AuthorityInfoAccessSyntax);
      if (!aia) return ['authorityInformationAccess is missing'];
      const hasOcsp = aia.some((a) => a.accessMethod === OID.ocsp);
      const shortLived = c.cert.validitySeconds <= (onOrAfter(c, '2026-03-15T00:00:00Z') ? 7 : 10) * DAY;
      return hasOcsp || shortLived || c.cert.extensions.has(OID.crlDistributionPoints) ? [] : ['cRLDistributionPoints is required'];
    },
  },
];
