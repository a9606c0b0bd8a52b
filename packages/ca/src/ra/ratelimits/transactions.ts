// Transactions: which buckets an ACME operation touches, and how. The RA builds them with these helpers and hands
// them to RateLimiter.check, spend or refund.
import type { Identifier } from '../../core/index.js';
import {
  accountIdentifierKey,
  accountKey,
  fqdnSetKey,
  ipKey,
  ipv6RangeKey,
  registeredDomainKeys,
  type LimitName,
} from './limits.js';

export interface Transaction {
  limit: LimitName;
  key: string;
  /** Default 1. */
  cost?: number;
  /**
   * 'check-only': can deny, is never debited (a new order checks the certificate limits it will spend at issuance).
   * 'spend-only': is debited when it fits, never denies (a certificate already issued, a validation already failed).
   * Default: both.
   */
  mode?: 'check-only' | 'spend-only';
}

/** newAccount: the address, and for IPv6 its /48. */
export function newAccountTransactions(ip: string): Transaction[] {
  const range = ipv6RangeKey(ip);
  const txns: Transaction[] = [{ limit: 'newAccountsPerIp', key: ipKey(ip) }];
  if (range) txns.push({ limit: 'newAccountsPerIpv6Range', key: range });
  return txns;
}

/**
 * newOrder: spends one new order of the account, and checks (without spending) what issuing for these identifiers
 * will spend — the registered domains, the exact set — and the account's failed authorizations for each identifier.
 * `spend` it; `refund` it when the order is not created after all.
 */
export function newOrderTransactions(accountId: string | number, identifiers: Identifier[]): Transaction[] {
  const failed = new Set(identifiers.map((identifier) => accountIdentifierKey(accountId, identifier)));
  return [
    { limit: 'newOrdersPerAccount', key: accountKey(accountId) },
    ...[...failed].map((key): Transaction => ({ limit: 'failedAuthorizationsPerIdentifier', key, mode: 'check-only' })),
    ...certificateTransactions(identifiers).map((txn): Transaction => ({ ...txn, mode: 'check-only' })),
  ];
}

/**
 * A certificate issued for these identifiers: one for each registered domain and one for the exact set. Spend-only:
 * the limits were checked when the order was created, and a certificate that exists is counted whatever the buckets
 * hold (Boulder does the same).
 */
export function certificateTransactions(identifiers: Identifier[]): Transaction[] {
  return [
    ...registeredDomainKeys(identifiers).map((key): Transaction => ({ limit: 'certificatesPerDomain', key, mode: 'spend-only' })),
    { limit: 'certificatesPerFqdnSet', key: fqdnSetKey(identifiers), mode: 'spend-only' },
  ];
}

/** A validation that failed; spend-only, as the failure has already happened. New orders check this bucket. */
export function failedValidationTransaction(accountId: string | number, identifier: Identifier): Transaction {
  return { limit: 'failedAuthorizationsPerIdentifier', key: accountIdentifierKey(accountId, identifier), mode: 'spend-only' };
}
