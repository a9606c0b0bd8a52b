// Certificates: a template (what goes in the TBS) is encoded, linted on a throwaway-key copy, signed by the
// real Signer, checked (same TBS bytes, signature verifies) and linted again. Boulder's ceremony order.
import { X509Certificate } from 'node:crypto';
import { bytesEqual, toArrayBuffer } from './bytes.js';
import { LintFailure, lintCertificate, type CertificateKind, type LintFinding } from './lint/index.js';
import { lintCopySigner, verifySignatureAsync, type Signer } from './signer.js';
import type { SignatureAlgorithm } from './algorithms.js';
import { AsnConvert, algorithmIdentifier, asn1, assembleSigned, certificateParts, nameToString, parseName, tbsCertificateParts, type Extension } from './x509.js';

export interface CertificateTemplate {
  /** Positive INTEGER content octets (see newSerialNumber). */
  serialNumber: Uint8Array;
  /** DER Name; byte-identical to the issuer certificate's subject (or `subject` when self-signed). */
  issuer: Uint8Array;
  /** DER Name (an empty SEQUENCE for a leaf without subject). */
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  publicKey: Uint8Array;
  extensions: Extension[];
}

export function encodeTbsCertificate(template: CertificateTemplate, signatureAlgorithm: SignatureAlgorithm): Uint8Array {
  if (template.notBefore.getUTCMilliseconds() !== 0 || template.notAfter.getUTCMilliseconds() !== 0) {
    throw new Error('certificate times must be whole seconds');
  }
  const tbs = new asn1.TBSCertificate({
    version: asn1.Version.v3,
    serialNumber: toArrayBuffer(template.serialNumber),
    signature: algorithmIdentifier(signatureAlgorithm),
    issuer: parseName(template.issuer),
    validity: new asn1.Validity({ notBefore: template.notBefore, notAfter: template.notAfter }),
    subject: parseName(template.subject),
    subjectPublicKeyInfo: AsnConvert.parse(toArrayBuffer(template.publicKey), asn1.SubjectPublicKeyInfo),
    extensions: template.extensions.length > 0 ? new asn1.Extensions(template.extensions) : undefined,
  });
  return new Uint8Array(AsnConvert.serialize(tbs));
}

/** Encodes and signs without linting. Use `issueCertificate` for anything that leaves the process. */
export async function signCertificate(template: CertificateTemplate, signer: Signer): Promise<Uint8Array> {
  const tbs = encodeTbsCertificate(template, signer.signatureAlgorithm);
  return assembleSigned(tbs, signer.signatureAlgorithm, await signer.sign(tbs));
}

export interface IssueCertificateOptions {
  kind: CertificateKind;
  /** Issuer certificate DER; omit when self-signing (then the signer's key must be the template's key). */
  issuerCertificate?: Uint8Array;
  /** For cross-certificates: the existing certificate mirrored. */
  crossSigned?: Uint8Array;
  /** Lint names waived for this issuance. */
  skipLints?: readonly string[];
}

export interface IssuedCertificate {
  der: Uint8Array;
  /** The same TBS signed by a throwaway key, as linted before the real signature. */
  lintCopy: Uint8Array;
  /** Lint findings after issuance (always empty: findings abort issuance). */
  findings: LintFinding[];
}

/** Thrown when the real signature does not match what was linted or does not verify: nothing may be used. */
export class IssuanceCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IssuanceCheckError';
  }
}

function describe(template: CertificateTemplate): string {
  return `certificate for "${nameToString(template.subject) || '(empty subject)'}"`;
}

/**
 * Lint-then-sign. Throws LintFailure (nothing signed by the real key) when the lint copy fails, and
 * IssuanceCheckError when the signed certificate differs from the lint copy or its signature does not verify.
 */
export async function issueCertificate(template: CertificateTemplate, signer: Signer, options: IssueCertificateOptions): Promise<IssuedCertificate> {
  return issueTbs(encodeTbsCertificate(template, signer.signatureAlgorithm), signer, options, describe(template));
}

export interface IssueTbsOptions extends IssueCertificateOptions {
  /**
   * 'full' (default): after signing, OpenSSL must parse the certificate and see it as issued by the issuer, and the
   * lints run again on it. 'signature': the signature is verified (a faulty HSM or an RSA-CRT fault must not release a
   * bad signature) but not re-linted, for leaves on a CA's hot path whose TBS bytes are exactly the ones just linted.
   */
  afterSigning?: 'full' | 'signature';
}

/**
 * Lint-then-sign over TBS bytes already encoded (a CA's fast leaf encoder, or `encodeTbsCertificate`): the same bytes
 * are signed by a throwaway key and linted, and only a clean lint lets the real key sign them.
 */
export async function issueTbs(tbs: Uint8Array, signer: Signer, options: IssueTbsOptions, what = 'certificate'): Promise<IssuedCertificate> {
  const issuerSpki = options.issuerCertificate ? certificateParts(options.issuerCertificate).spki : tbsCertificateParts(tbs).spki;
  if (!bytesEqual(issuerSpki, signer.publicKey)) {
    throw new IssuanceCheckError(`${signer.description} is not the key of the ${options.issuerCertificate ? 'issuer certificate' : 'self-signed certificate'}`);
  }
  const lintCopy = assembleSigned(tbs, signer.signatureAlgorithm, await lintCopySigner(signer).sign(tbs));
  const lintInput = { kind: options.kind, issuer: options.issuerCertificate, crossSigned: options.crossSigned, skip: options.skipLints };
  const before = lintCertificate({ der: lintCopy, ...lintInput });
  if (before.length > 0) throw new LintFailure(what, before);

  const signature = await signer.sign(tbs);
  const der = assembleSigned(tbs, signer.signatureAlgorithm, signature);
  if (!bytesEqual(certificateParts(der).tbs, certificateParts(lintCopy).tbs)) {
    throw new IssuanceCheckError(`${what}: the signed TBS differs from the linted TBS`);
  }
  if (!(await verifySignatureAsync(issuerSpki, signer.signatureAlgorithm, tbs, signature))) {
    throw new IssuanceCheckError(`${what}: the signature from ${signer.description} does not verify`);
  }
  if (options.afterSigning === 'signature') return { der, lintCopy, findings: [] };
  // An independent parser (OpenSSL inside node) must accept it and, when there is an issuer, see it as issued by it.
  const parsed = new X509Certificate(Buffer.from(der));
  if (options.issuerCertificate && !parsed.checkIssued(new X509Certificate(Buffer.from(options.issuerCertificate)))) {
    throw new IssuanceCheckError(`${what}: OpenSSL does not see it as issued by the issuer certificate`);
  }
  const after = lintCertificate({ der, ...lintInput });
  if (after.length > 0) throw new LintFailure(what, after);
  return { der, lintCopy, findings: after };
}
