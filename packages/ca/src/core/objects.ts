// The ACME resource shapes shared by the RA, the SA and the WFE (RFC 8555 §7.1).
import { randomBytes } from 'node:crypto';

export interface Identifier {
  type: string;
  value: string;
}

export type AccountStatus = 'valid' | 'deactivated' | 'revoked';
export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';
export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export interface ValidationRecordJson {
  url?: string;
  hostname: string;
  port?: string;
  addressesResolved?: string[];
  addressUsed?: string;
}

export interface ErrorJson {
  type: string;
  detail: string;
  status?: number;
  identifier?: Identifier;
  subproblems?: ErrorJson[];
}

export interface Account {
  id: string;
  jwk: Record<string, unknown>;
  thumbprint: string;
  status: AccountStatus;
  contact: string[];
  termsAgreed: boolean;
  externalAccountBinding?: Record<string, unknown>;
  createdAt: number;
}

export interface Challenge {
  id: string;
  authzId: string;
  type: ChallengeType;
  status: ChallengeStatus;
  validatedAt?: number;
  error?: ErrorJson;
  validationRecords?: ValidationRecordJson[];
}

export interface Authorization {
  id: string;
  accountId: string;
  /** The base domain (without `*.`) for wildcard orders, as RFC 8555 §7.1.4 requires. */
  identifier: Identifier;
  wildcard: boolean;
  status: AuthorizationStatus;
  expires: number;
  token: string;
  /** The profile of the order that created it; only orders of the same profile reuse it. */
  profile: string;
  challenges: Challenge[];
}

export interface Order {
  id: string;
  accountId: string;
  status: OrderStatus;
  expires: number;
  identifiers: Identifier[];
  notBefore?: number;
  notAfter?: number;
  authzIds: string[];
  error?: ErrorJson;
  certificateId?: string;
  createdAt: number;
  profile: string;
  /** RFC 9773: the certificate ID of the certificate this order replaces. */
  replaces?: string;
}

export interface CertificateRecord {
  id: string;
  serial: string;
  accountId: string;
  orderId: string;
  /** PEM of the leaf only; the chain is appended when served. */
  pem: string;
  issuerName: string;
  profile: string;
  notBefore: number;
  notAfter: number;
  revokedAt?: number;
  revokedReason?: number;
  /** The CRL shard its distribution point names (fixed at issuance); absent for leaves issued before sharding. */
  crlShard?: number;
}

// CSPRNG bytes are drawn in 4 KiB blocks: one getrandom call per block instead of one per nonce or ID, which showed
// up in profiles of the request path. Each byte is handed out once.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

/** `length` fresh bytes from the CSPRNG (copied out of the pool, never reused). */
export function randomPooled(length: number): Buffer {
  if (length > POOL_SIZE) return randomBytes(length);
  if (poolOffset + length > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  poolOffset += length;
  return out;
}

/** Opaque identifiers for URLs: 96 random bits, URL-safe, the same on every database. */
export function newId(): string {
  return randomPooled(12).toString('base64url');
}
