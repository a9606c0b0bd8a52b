// CRLs: template -> TBSCertList -> lint copy -> real signature -> checks -> lint again (as for certificates).
import { bytesEqual, toArrayBuffer } from './bytes.js';
import { LintFailure, lintCrl, type CrlKind, type LintFinding } from './lint/index.js';
import { lintCopySigner, verifySignature, type Signer } from './signer.js';
import type { SignatureAlgorithm } from './algorithms.js';
import {
  AsnConvert, OctetString, algorithmIdentifier, asn1, assembleSigned, authorityKeyIdentifierExtension, certificateParts,
  crlNumberExtension, issuingDistributionPointExtension, parseName, splitSigned, subjectKeyIdentifierOfCertificate,
} from './x509.js';
import { IssuanceCheckError } from './certificate.js';

export const CRL_REASONS = {
  unspecified: 0, keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4, cessationOfOperation: 5,
  certificateHold: 6, removeFromCRL: 8, privilegeWithdrawn: 9, aACompromise: 10,
} as const;
export type CrlReasonName = keyof typeof CRL_REASONS;

export interface CrlEntry {
  serialNumber: Uint8Array;
  revocationDate: Date;
  /** Omitted for unspecified (BR 7.2.2). */
  reason?: CrlReasonName;
}

export interface CrlTemplate {
  thisUpdate: Date;
  nextUpdate: Date;
  number: number;
  entries: CrlEntry[];
  /** A CRL of CA certificates gets a critical IDP with onlyContainsCACerts; a subscriber shard its URL. */
  kind: CrlKind;
  /** The shard's URL for a partitioned subscriber CRL (must equal the certificates' CRLDP bytes). */
  distributionPointUrl?: string;
}

export function encodeTbsCrl(template: CrlTemplate, issuerCertificate: Uint8Array, signatureAlgorithm: SignatureAlgorithm): Uint8Array {
  const ski = subjectKeyIdentifierOfCertificate(issuerCertificate);
  if (!ski) throw new Error('the issuer certificate has no subjectKeyIdentifier to put in the CRL\'s authorityKeyIdentifier');
  const extensions = [authorityKeyIdentifierExtension(ski), crlNumberExtension(template.number)];
  if (template.kind === 'ca') extensions.push(issuingDistributionPointExtension({ onlyContainsCACerts: true }));
  else if (template.distributionPointUrl) extensions.push(issuingDistributionPointExtension({ onlyContainsUserCerts: true, url: template.distributionPointUrl }));
  const tbs = new asn1.TBSCertList({
    version: asn1.Version.v2,
    signature: algorithmIdentifier(signatureAlgorithm),
    issuer: parseName(certificateParts(issuerCertificate).subject),
    thisUpdate: new asn1.Time(template.thisUpdate),
    nextUpdate: new asn1.Time(template.nextUpdate),
    revokedCertificates: template.entries.length === 0 ? undefined : template.entries.map((e) => new asn1.RevokedCertificate({
      userCertificate: toArrayBuffer(e.serialNumber),
      revocationDate: new asn1.Time(e.revocationDate),
      crlEntryExtensions: e.reason && e.reason !== 'unspecified'
        ? [new asn1.Extension({ extnID: asn1.id_ce_cRLReasons, critical: false, extnValue: new OctetString(AsnConvert.serialize(new asn1.CRLReason(CRL_REASONS[e.reason]))) })]
        : undefined,
    })),
    crlExtensions: new asn1.Extensions(extensions),
  });
  return new Uint8Array(AsnConvert.serialize(tbs));
}

export interface IssuedCrl {
  der: Uint8Array;
  lintCopy: Uint8Array;
  findings: LintFinding[];
}

export async function issueCrl(template: CrlTemplate, signer: Signer, options: { issuerCertificate: Uint8Array; skipLints?: readonly string[] }): Promise<IssuedCrl> {
  const issuerSpki = certificateParts(options.issuerCertificate).spki;
  if (!bytesEqual(issuerSpki, signer.publicKey)) throw new IssuanceCheckError(`${signer.description} is not the key of the CRL issuer certificate`);
  const what = `CRL number ${template.number}`;
  const lintTbs = encodeTbsCrl(template, options.issuerCertificate, signer.signatureAlgorithm);
  const lintCopy = assembleSigned(lintTbs, signer.signatureAlgorithm, await lintCopySigner(signer).sign(lintTbs));
  const lintInput = { kind: template.kind, issuer: options.issuerCertificate, skip: options.skipLints };
  const before = lintCrl({ der: lintCopy, ...lintInput });
  if (before.length > 0) throw new LintFailure(what, before);
  const tbs = encodeTbsCrl(template, options.issuerCertificate, signer.signatureAlgorithm);
  const signature = await signer.sign(tbs);
  const der = assembleSigned(tbs, signer.signatureAlgorithm, signature);
  if (!bytesEqual(splitSigned(der).tbs, lintTbs)) throw new IssuanceCheckError(`${what}: the signed TBS differs from the linted TBS`);
  if (!verifySignature(issuerSpki, signer.signatureAlgorithm, tbs, signature)) throw new IssuanceCheckError(`${what}: the signature does not verify`);
  const after = lintCrl({ der, ...lintInput });
  if (after.length > 0) throw new LintFailure(what, after);
  return { der, lintCopy, findings: after };
}
