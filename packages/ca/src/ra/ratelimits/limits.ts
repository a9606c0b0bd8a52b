// The limits cobble enforces, Let's Encrypt's production defaults for them, and how each one's bucket key is made
// from a request (research brief acme-ca-anchors.md §2.12; Boulder's ratelimits/names.go).
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { getDomain } from 'tldts';
import type { Identifier } from '../../core/index.js';
import type { Limit } from './gcra.js';

export const LIMIT_NAMES = [
  'certificatesPerDomain',
  'certificatesPerFqdnSet',
  'failedAuthorizationsPerIdentifier',
  'newAccountsPerIp',
  'newAccountsPerIpv6Range',
  'newOrdersPerAccount',
] as const;

export type LimitName = (typeof LIMIT_NAMES)[number];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Let's Encrypt's production limits; burst equals count, so a fresh bucket takes the whole count at once. */
export const DEFAULT_LIMITS: Readonly<Record<LimitName, Limit>> = {
  certificatesPerDomain: { count: 50, periodMs: 7 * DAY, burst: 50 },
  certificatesPerFqdnSet: { count: 5, periodMs: 7 * DAY, burst: 5 },
  failedAuthorizationsPerIdentifier: { count: 5, periodMs: HOUR, burst: 5 },
  newAccountsPerIp: { count: 10, periodMs: 3 * HOUR, burst: 10 },
  newAccountsPerIpv6Range: { count: 500, periodMs: 3 * HOUR, burst: 500 },
  newOrdersPerAccount: { count: 300, periodMs: 3 * HOUR, burst: 300 },
};

/** newAccountsPerIp: the address in canonical form (an IPv4-mapped IPv6 address counts as its IPv4 address). */
export function ipKey(ip: string): string {
  return ipaddr.process(ip).toString();
}

/** newAccountsPerIpv6Range: the /48 an IPv6 address belongs to, e.g. "2001:db8:1::/48"; undefined for IPv4. */
export function ipv6RangeKey(ip: string): string | undefined {
  return ipv6Network(ip, 48);
}

/** newOrdersPerAccount: the account id. */
export function accountKey(accountId: string | number): string {
  return String(accountId);
}

/**
 * certificatesPerDomain: the registered domain (eTLD+1 on the whole Public Suffix List, private section included, so
 * each github.io site counts apart, as at Let's Encrypt), an IPv4 address, or the /64 of an IPv6 address.
 */
export function registeredDomainKey(identifier: Identifier): string {
  if (identifier.type === 'ip') return ipv6Network(identifier.value, 64) ?? ipKey(identifier.value);
  const name = baseName(identifier.value);
  // A name that is itself a public suffix (or under no known one) has no registered domain: it is its own bucket.
  return getDomain(name, { allowPrivateDomains: true }) ?? name;
}

/** The distinct registered-domain keys of an order's identifiers. */
export function registeredDomainKeys(identifiers: Identifier[]): string[] {
  return [...new Set(identifiers.map(registeredDomainKey))];
}

/** certificatesPerFqdnSet: SHA-256 (hex) of the identifier set, lower-cased, de-duplicated and sorted. */
export function fqdnSetKey(identifiers: Identifier[]): string {
  const values = [...new Set(identifiers.map(identifierValue))].sort();
  return createHash('sha256').update(values.join(',')).digest('hex');
}

/**
 * failedAuthorizationsPerIdentifier: "account:identifier". A wildcard counts as its base name, because that is the
 * identifier of the authorization that fails (RFC 8555 §7.1.4).
 */
export function accountIdentifierKey(accountId: string | number, identifier: Identifier): string {
  const value = identifier.type === 'ip' ? ipKey(identifier.value) : baseName(identifier.value);
  return `${accountId}:${value}`;
}

function identifierValue(identifier: Identifier): string {
  return identifier.type === 'ip' ? ipKey(identifier.value) : identifier.value.toLowerCase().replace(/\.$/, '');
}

/** Lower case, without a trailing dot or a wildcard label. */
function baseName(value: string): string {
  return value.toLowerCase().replace(/\.$/, '').replace(/^\*\./, '');
}

function ipv6Network(ip: string, prefixLength: number): string | undefined {
  const address = ipaddr.process(ip);
  if (address.kind() !== 'ipv6') return undefined;
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefixLength}`).toString()}/${prefixLength}`;
}
