// Certificate profiles: what a root, a subordinate CA, a cross-certificate, a delegated OCSP responder and a
// TLS leaf contain. Extension order follows Let's Encrypt's certificates.
import type { CertificateTemplate } from './certificate.js';
import { CertificateView } from './lint/index.js';
import {
  OID, asn1, authorityInfoAccessExtension, authorityKeyIdentifierExtension, basicConstraintsExtension, certificatePoliciesExtension,
  certificateParts, crlDistributionPointsExtension, encodeName, extendedKeyUsageExtension, keyUsageExtension, ocspNoCheckExtension,
  subjectAltNameExtension, subjectKeyIdentifierExtension, subjectKeyIdentifierOf, subjectKeyIdentifierOfCertificate,
  type Extension, type KeyUsageName, type PolicySpec, type SubjectFields,
} from './x509.js';

interface Common {
  serialNumber: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}

/** What every certificate signed by another CA names about its issuer. */
interface IssuedProfile extends Common {
  issuerCertificate: Uint8Array;
  /** caIssuers URL (the issuer's certificate). */
  issuerUrl?: string;
  /** OCSP URL; the 2020 trimmed profiles dropped it. */
  ocspUrl?: string;
  crlUrl?: string;
}

function issuerParts(issuerCertificate: Uint8Array): { issuer: Uint8Array; authorityKeyId: Uint8Array } {
  const ski = subjectKeyIdentifierOfCertificate(issuerCertificate);
  if (!ski) throw new Error('the issuer certificate has no subjectKeyIdentifier');
  return { issuer: certificateParts(issuerCertificate).subject, authorityKeyId: ski };
}

function aiaAndCrl(p: Omit<IssuedProfile, keyof Common | 'issuerCertificate'> & { policies?: PolicySpec[] }): { aia: Extension[]; policies: Extension[]; crl: Extension[] } {
  return {
    aia: p.issuerUrl || p.ocspUrl ? [authorityInfoAccessExtension({ caIssuers: p.issuerUrl ? [p.issuerUrl] : [], ocsp: p.ocspUrl ? [p.ocspUrl] : [] })] : [],
    policies: p.policies && p.policies.length > 0 ? [certificatePoliciesExtension(p.policies)] : [],
    crl: p.crlUrl ? [crlDistributionPointsExtension([p.crlUrl])] : [],
  };
}

export interface RootProfile extends Common {
  subject: SubjectFields;
  publicKey: Uint8Array;
  /** Default keyCertSign + cRLSign; add digitalSignature only if the root key signs OCSP responses itself. */
  keyUsages?: KeyUsageName[];
}

export function rootTemplate(p: RootProfile): CertificateTemplate {
  const subject = encodeName(p.subject);
  return {
    serialNumber: p.serialNumber, issuer: subject, subject, notBefore: p.notBefore, notAfter: p.notAfter, publicKey: p.publicKey,
    extensions: [
      keyUsageExtension(p.keyUsages ?? ['keyCertSign', 'cRLSign']),
      basicConstraintsExtension(true),
      subjectKeyIdentifierExtension(subjectKeyIdentifierOf(p.publicKey)),
    ],
  };
}

export interface SubordinateProfile extends IssuedProfile {
  subject: SubjectFields;
  publicKey: Uint8Array;
  policies: PolicySpec[];
  /** Default [serverAuth]. */
  extendedKeyUsages?: string[];
  /** Default digitalSignature, keyCertSign, cRLSign. */
  keyUsages?: KeyUsageName[];
  /** Default 0: the intermediate signs leaves only. */
  pathLength?: number;
}

export function intermediateTemplate(p: SubordinateProfile): CertificateTemplate {
  const { issuer, authorityKeyId } = issuerParts(p.issuerCertificate);
  const parts = aiaAndCrl(p);
  return {
    serialNumber: p.serialNumber, issuer, subject: encodeName(p.subject), notBefore: p.notBefore, notAfter: p.notAfter, publicKey: p.publicKey,
    extensions: [
      keyUsageExtension(p.keyUsages ?? ['digitalSignature', 'keyCertSign', 'cRLSign']),
      extendedKeyUsageExtension(p.extendedKeyUsages ?? [OID.serverAuth]),
      basicConstraintsExtension(true, p.pathLength ?? 0),
      subjectKeyIdentifierExtension(subjectKeyIdentifierOf(p.publicKey)),
      authorityKeyIdentifierExtension(authorityKeyId),
      ...parts.aia, ...parts.policies, ...parts.crl,
    ],
  };
}

export interface CrossProfile extends IssuedProfile {
  /** The existing certificate (root or intermediate) whose subject, key, SKI, key usage and path length are mirrored. */
  certificateToCrossSign: Uint8Array;
  policies: PolicySpec[];
  /** Default: the existing certificate's EKUs; none if it has none (a root before 2025-06-15). */
  extendedKeyUsages?: string[];
}

export function crossCertificateTemplate(p: CrossProfile): CertificateTemplate {
  const existing = new CertificateView(p.certificateToCrossSign);
  const { issuer, authorityKeyId } = issuerParts(p.issuerCertificate);
  const ski = existing.subjectKeyIdentifier;
  if (!ski) throw new Error('the certificate to cross-sign has no subjectKeyIdentifier');
  const flags = existing.keyUsageFlags ?? 0;
  const usages = (['digitalSignature', 'keyCertSign', 'cRLSign'] as const).filter((u) => flags & asn1.KeyUsageFlags[u]);
  const ekus = p.extendedKeyUsages ?? existing.extendedKeyUsages;
  const parts = aiaAndCrl(p);
  return {
    serialNumber: p.serialNumber, issuer, subject: existing.raw.subject, notBefore: p.notBefore, notAfter: p.notAfter, publicKey: existing.raw.spki,
    extensions: [
      keyUsageExtension([...usages]),
      ...(ekus && ekus.length > 0 ? [extendedKeyUsageExtension(ekus)] : []),
      basicConstraintsExtension(true, existing.basicConstraints?.pathLenConstraint),
      subjectKeyIdentifierExtension(ski),
      authorityKeyIdentifierExtension(authorityKeyId),
      ...parts.aia, ...parts.policies, ...parts.crl,
    ],
  };
}

/** Only `issuerUrl` of the issuer's URLs is used: an OCSP signer carries no OCSP URL or CRL DP. */
export interface OcspSignerProfile extends Omit<IssuedProfile, 'ocspUrl' | 'crlUrl'> {
  subject: SubjectFields;
  publicKey: Uint8Array;
}

export function ocspSignerTemplate(p: OcspSignerProfile): CertificateTemplate {
  const { issuer, authorityKeyId } = issuerParts(p.issuerCertificate);
  return {
    serialNumber: p.serialNumber, issuer, subject: encodeName(p.subject), notBefore: p.notBefore, notAfter: p.notAfter, publicKey: p.publicKey,
    extensions: [
      keyUsageExtension(['digitalSignature']),
      extendedKeyUsageExtension([OID.ocspSigning]),
      basicConstraintsExtension(false),
      subjectKeyIdentifierExtension(subjectKeyIdentifierOf(p.publicKey)),
      authorityKeyIdentifierExtension(authorityKeyId),
      ...aiaAndCrl(p).aia,
      ocspNoCheckExtension(),
    ],
  };
}

export interface LeafProfile extends IssuedProfile {
  dnsNames: string[];
  /** RFC 8738 IP identifiers, as text. */
  ipAddresses?: string[];
  /** Omit for an empty subject (then the SAN is critical), as LE's `tlsserver` profile does. */
  commonName?: string;
  publicKey: Uint8Array;
  /** Default DV only. */
  policies?: PolicySpec[];
  /** LE's `classic` profile includes it; BR: NOT RECOMMENDED. */
  subjectKeyIdentifier?: boolean;
  /** Add keyEncipherment for RSA keys (classic profile). */
  keyEncipherment?: boolean;
  extendedKeyUsages?: string[];
  /** E.g. an SCT list or the precertificate poison. */
  extraExtensions?: Extension[];
}

export function leafTemplate(p: LeafProfile): CertificateTemplate {
  const { issuer, authorityKeyId } = issuerParts(p.issuerCertificate);
  const parts = aiaAndCrl({ ...p, policies: p.policies ?? [{ oid: OID.domainValidated }] });
  const subject = encodeName(p.commonName ? { commonName: p.commonName } : {});
  return {
    serialNumber: p.serialNumber, issuer, subject, notBefore: p.notBefore, notAfter: p.notAfter, publicKey: p.publicKey,
    extensions: [
      keyUsageExtension(p.keyEncipherment ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']),
      extendedKeyUsageExtension(p.extendedKeyUsages ?? [OID.serverAuth]),
      basicConstraintsExtension(false),
      ...(p.subjectKeyIdentifier ? [subjectKeyIdentifierExtension(subjectKeyIdentifierOf(p.publicKey))] : []),
      authorityKeyIdentifierExtension(authorityKeyId),
      ...parts.aia,
      subjectAltNameExtension(p.dnsNames, !p.commonName, p.ipAddresses),
      ...parts.policies, ...parts.crl,
      ...(p.extraExtensions ?? []),
    ],
  };
}
