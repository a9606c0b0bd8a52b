// The shape of a lint: a named rule with the document it comes from, applied to one certificate or CRL.

export type LintSource = 'rfc5280' | 'cabf_br' | 'mozilla' | 'chrome' | 'ccadb' | 'cobble';

export type CertificateKind = 'root' | 'intermediate' | 'cross-certificate' | 'ocsp-signer' | 'leaf';

export type CrlKind = 'ca' | 'subscriber';

export interface Lint<Context> {
  /** zlint-style name: `e_` = error. Listed in `skip-lints` to waive it for one ceremony. */
  name: string;
  source: LintSource;
  /** Section of the source document, e.g. "BR 7.1.2.10.7". */
  citation: string;
  description: string;
  applies(context: Context): boolean;
  /** Problems found; empty means pass. */
  check(context: Context): string[];
}

export interface LintFinding {
  lint: string;
  source: LintSource;
  citation: string;
  message: string;
}

export class LintFailure extends Error {
  constructor(readonly subject: string, readonly findings: LintFinding[]) {
    super(`${subject} fails ${findings.length} lint${findings.length === 1 ? '' : 's'}:\n` +
      findings.map((f) => `  ${f.lint} (${f.citation}): ${f.message}`).join('\n'));
    this.name = 'LintFailure';
  }
}

export function runLints<C>(lints: Lint<C>[], context: C, skip: readonly string[] = []): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const lint of lints) {
    if (skip.includes(lint.name) || !lint.applies(context)) continue;
    let problems: string[];
    try {
      problems = lint.check(context);
    } catch (err) {
      problems = [`could not be checked: ${(err as Error).message}`];
    }
    for (const message of problems) findings.push({ lint: lint.name, source: lint.source, citation: lint.citation, message });
  }
  return findings;
}
