// Which IP addresses the CA will certify (RFC 8738 identifiers of type "ip"). Pure functions, no I/O.
import ipaddr from 'ipaddr.js';
import { parseIp } from '../core/ip.js';
import type { Refusal } from './domain.js';

// IANA's IPv6 Address Space registry: global unicast is 2000::/3 and everything else is reserved by the IETF, though
// ipaddr.js calls it "unicast".
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * Why an ip identifier value cannot be certified, or undefined when it can. The value must already be canonical (RFC
 * 8738 §3: the textual forms of RFC 1123 §2.1 and RFC 5952 §4) — a CA that rewrote it would certify a value the client
 * never asked for — and must not lie in an IANA special-purpose range (private, loopback, link-local, documentation,
 * multicast, ...), which no one can prove control of on the public Internet.
 */
export function ipRefusal(value: string, options: { allowSpecialPurpose?: boolean } = {}): Refusal | undefined {
  const parsed = parseIp(value);
  if (!parsed) return { kind: 'malformed', detail: `"${value}" is not an IP address` };
  const { address, canonical } = parsed;
  // A zone index names an interface of one host, not an address.
  if (value !== canonical || value.includes('%')) {
    return { kind: 'malformed', detail: `"${value}" is not in canonical form${value.includes('%') ? '' : ` ("${canonical}")`}` };
  }
  // A private or test CA may certify loopback and private addresses (its relying parties decide what to trust).
  if (options.allowSpecialPurpose) return undefined;
  const range = address.range();
  if (range !== 'unicast') return { kind: 'rejectedIdentifier', detail: `${value} is in a special-purpose address range (${range})` };
  if (address.kind() === 'ipv6' && !(address as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) {
    return { kind: 'rejectedIdentifier', detail: `${value} is outside the IPv6 global unicast space (2000::/3)` };
  }
  return undefined;
}
