// ACME problem documents (RFC 8555 §6.7, RFC 7807). Every component throws `AcmeProblem`; the WFE turns it into
// an `application/problem+json` response with the status that belongs to the type.
import type { Identifier } from './objects.js';

const ACME_ERROR = 'urn:ietf:params:acme:error:';

/** The ACME error types cobble uses, each with the HTTP status it is served with. */
export const problemStatus = {
  accountDoesNotExist: 400,
  /** RFC 9773 §5: the certificate in `replaces` is already being replaced by another order. */
  alreadyReplaced: 409,
  alreadyRevoked: 400,
  badCSR: 400,
  badNonce: 400,
  badPublicKey: 400,
  badRevocationReason: 400,
  badSignatureAlgorithm: 400,
  caa: 403,
  connection: 400,
  dns: 400,
  externalAccountRequired: 400,
  incorrectResponse: 403,
  invalidContact: 400,
  invalidProfile: 400,
  malformed: 400,
  orderNotReady: 403,
  rateLimited: 429,
  rejectedIdentifier: 400,
  serverInternal: 500,
  tls: 400,
  unauthorized: 403,
  unsupportedContact: 400,
  unsupportedIdentifier: 400,
  userActionRequired: 403,
} as const;

export type ProblemKind = keyof typeof problemStatus;

/** The HTTP status for a full `urn:ietf:params:acme:error:*` type (a problem handed over as a document, e.g. by the VA). */
export function problemStatusOfType(type: string): number {
  const kind = type.startsWith(ACME_ERROR) ? type.slice(ACME_ERROR.length) : '';
  return kind in problemStatus ? problemStatus[kind as ProblemKind] : 500;
}

export interface ProblemDocument {
  type: string;
  detail: string;
  status?: number;
  identifier?: Identifier;
  subproblems?: ProblemDocument[];
  /** badSignatureAlgorithm: the algorithms the server accepts (RFC 8555 §6.2). */
  algorithms?: string[];
}

export class AcmeProblem extends Error {
  readonly status: number;
  readonly type: string;
  subproblems?: ProblemDocument[];
  identifier?: Identifier;
  algorithms?: string[];
  /** Extra response headers, e.g. Location for a 409 on key rollover. */
  headers?: Record<string, string>;

  constructor(kind: ProblemKind, detail: string, options: { status?: number; identifier?: Identifier; subproblems?: ProblemDocument[] } = {}) {
    super(detail);
    this.name = 'AcmeProblem';
    this.type = ACME_ERROR + kind;
    this.status = options.status ?? problemStatus[kind];
    this.identifier = options.identifier;
    this.subproblems = options.subproblems;
  }

  get detail(): string {
    return this.message;
  }

  toDocument(): ProblemDocument {
    const doc: ProblemDocument = { type: this.type, detail: this.message, status: this.status };
    if (this.identifier) doc.identifier = this.identifier;
    if (this.subproblems?.length) doc.subproblems = this.subproblems;
    if (this.algorithms) doc.algorithms = this.algorithms;
    return doc;
  }
}

/** Builds a problem for several per-identifier failures: the common type when they agree, else malformed. */
export function combinedProblem(subproblems: ProblemDocument[], detail: string): AcmeProblem {
  const types = new Set(subproblems.map((p) => p.type));
  const kind = types.size === 1 ? ([...types][0]!.slice(ACME_ERROR.length) as ProblemKind) : 'malformed';
  const problem = new AcmeProblem(kind in problemStatus ? kind : 'malformed', detail, { subproblems });
  return problem;
}

export function isAcmeErrorType(type: string): boolean {
  return type.startsWith(ACME_ERROR);
}
