// The lint suite: run every applicable lint on a certificate or CRL and report findings (empty = clean).
import { certificateLints, type CertificateLintContext } from './certificate-lints.js';
import { crlLints, type CrlLintContext } from './crl-lints.js';
import { runLints, type CertificateKind, type CrlKind, type LintFinding } from './types.js';
import { CertificateView, CrlView } from './view.js';

export { LintFailure, type CertificateKind, type CrlKind, type Lint, type LintFinding, type LintSource } from './types.js';
export { certificateLints, crlLints, CertificateView, CrlView };
export type { CertificateLintContext, CrlLintContext };

export interface CertificateLintInput {
  der: Uint8Array;
  kind: CertificateKind;
  /** Issuer certificate DER; omit for a self-signed root. */
  issuer?: Uint8Array;
  /** For cross-certificates: the existing certificate being cross-signed. */
  crossSigned?: Uint8Array;
  skip?: readonly string[];
}

// A CA lints every leaf against the same issuer certificate: its parsed view is kept for as long as the caller keeps
// the issuer's bytes.
const issuerViews = new WeakMap<Uint8Array, CertificateView>();
function issuerView(der: Uint8Array): CertificateView {
  let view = issuerViews.get(der);
  if (!view) issuerViews.set(der, (view = new CertificateView(der)));
  return view;
}

export function lintCertificate(input: CertificateLintInput): LintFinding[] {
  const context: CertificateLintContext = {
    cert: new CertificateView(input.der),
    kind: input.kind,
    issuer: input.issuer ? issuerView(input.issuer) : undefined,
    crossSigned: input.crossSigned ? new CertificateView(input.crossSigned) : undefined,
  };
  return runLints(certificateLints, context, input.skip);
}

export interface CrlLintInput {
  der: Uint8Array;
  kind: CrlKind;
  issuer: Uint8Array;
  skip?: readonly string[];
}

export function lintCrl(input: CrlLintInput): LintFinding[] {
  return runLints(crlLints, { crl: new CrlView(input.der), kind: input.kind, issuer: new CertificateView(input.issuer) }, input.skip);
}

export const LINT_NAMES: readonly string[] = [...certificateLints, ...crlLints].map((l) => l.name);
