// The VA's contract with the RA. Kept in its own file so the challenge modules can share it without importing index.ts.

export interface VAConfig {
  /** Port the VA connects to for http-01 (and for http:// redirect targets). Production: 80. */
  httpPort: number;
  /** Port the VA connects to for tls-alpn-01 (and for https:// redirect targets). Production: 443. */
  tlsPort: number;
  /** DNS server as 'host:port' (IPv6 as '[::1]:53'); default: the system resolver. */
  dnsServer?: string;
  /** Upper bound for one whole validation (DNS, connect, redirects, body), in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /**
   * Issuer domain names that CAA issue/issuewild records must name for this CA to issue (as in the directory's
   * meta.caaIdentities). Default []: no identities, so only a relevant RRset without issue records permits.
   */
  caaIdentities?: string[];
}

export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export interface ValidationRequest {
  type: ChallengeType;
  /** ASCII domain; for wildcard orders the base domain. */
  domain: string;
  token: string;
  keyAuthorization: string;
  /** The authorization is for `*.domain` (CAA then honours issuewild). */
  wildcard: boolean;
  /** The ACME account URL, matched against RFC 8657 `accounturi`. */
  accountUri: string;
}

/** A CAA check on its own: at validation (after the challenge) and again at finalize when the validation is old. */
export interface CaaRequest {
  /** ASCII domain; for wildcard orders the base domain. */
  domain: string;
  wildcard: boolean;
  accountUri: string;
  /** The challenge type that validated the authorization, matched against RFC 8657 `validationmethods`. */
  validationMethod: ChallengeType;
}

export type CaaResult = { ok: true } | { ok: false; problem: { type: string; detail: string } };

/**
 * What the RA needs from a validation authority. The local VA, a remote perspective reached over mutual TLS, and the
 * corroborating VA (primary + remote perspectives with a quorum) all implement it.
 */
export interface Validator {
  validate(req: ValidationRequest): Promise<ValidationResult>;
  checkCaa(req: CaaRequest): Promise<CaaResult>;
  close?(): Promise<void>;
}

export interface ValidationRecord {
  url?: string;
  hostname: string;
  port?: string;
  addressesResolved?: string[];
  addressUsed?: string;
}

export type ValidationResult =
  | { ok: true; records: ValidationRecord[] }
  | { ok: false; problem: { type: string; detail: string }; records: ValidationRecord[] };

export type ProblemKind = 'caa' | 'connection' | 'dns' | 'unauthorized' | 'incorrectResponse' | 'tls' | 'malformed' | 'serverInternal';

export const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';

/** Thrown inside the VA; `validate` turns it into a failed ValidationResult. */
export class ValidationError extends Error {
  constructor(readonly kind: ProblemKind, detail: string) {
    super(detail);
    this.name = 'ValidationError';
  }
}

/** One absolute deadline per validation, so redirects and fallbacks cannot stretch it. */
export class Deadline {
  private readonly end: number;
  constructor(ms: number) {
    this.end = Date.now() + ms;
  }
  remaining(): number {
    return Math.max(0, this.end - Date.now());
  }
}
