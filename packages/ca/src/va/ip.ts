// IP address identifiers (RFC 8738) as the VA sees them: the RA hands over the address text as the request's domain.
import { parseIp } from '../core/ip.js';
import type { ResolvedAddresses } from './dns.js';
import { ValidationError } from './types.js';

export interface IpTarget {
  /** The canonical text (RFC 1123 §2.1 / RFC 5952 §4), exactly as the identifier carries it. */
  address: string;
  family: 4 | 6;
  /** The address's bytes, for comparing with a certificate's iPAddress SAN. */
  bytes: Buffer;
}

/**
 * The request's name as an IP address, or undefined when it is no IP address in any notation (a DNS name). An address
 * in a non-canonical notation (leading zeros, "::0:1", upper case, a zone index...) is malformed, never rewritten:
 * RFC 8738 §3 allows only the canonical form, and a VA that rewrote it would validate a value the client never asked for.
 */
export function ipTarget(name: string): IpTarget | undefined {
  // ipaddr.js accepts every notation inet_aton does (octal, hex, short forms), so each of those is caught here too.
  // A letter past f (other than the x of 0x) appears in no IPv4 notation: such names without a colon or a zone index
  // skip ipaddr.js's regular expressions, which cost about 0.1 ms per validation.
  const parsed = !/[:%]/.test(name) && /[g-wyz]/i.test(name) ? undefined : parseIp(name);
  if (!parsed) return undefined;
  const { canonical } = parsed;
  if (name !== canonical || name.includes('%')) {
    throw new ValidationError('malformed', `${JSON.stringify(name)}: an IP address identifier must be in canonical form (RFC 8738 §3)${name.includes('%') ? ', without a zone index' : `, here "${canonical}"`}`);
  }
  return { address: name, family: parsed.family, bytes: Buffer.from(parsed.address.toByteArray()) };
}

/**
 * The reverse-mapping name sent as SNI for tls-alpn-01 (RFC 8738 §6): RFC 6066 forbids an address there.
 * 192.0.2.1 → 1.2.0.192.in-addr.arpa; 2001:db8::1 → 1.0.0.0.….8.b.d.0.1.0.0.2.ip6.arpa (one label per nibble).
 */
export function reverseName(target: IpTarget): string {
  if (target.family === 4) return `${[...target.bytes].reverse().join('.')}.in-addr.arpa`;
  return `${[...target.bytes.toString('hex')].reverse().join('.')}.ip6.arpa`;
}

/** RFC 8738 §4: no DNS resolution; the address to connect to is the identifier's value. */
export function targetAddresses(target: IpTarget): ResolvedAddresses {
  return target.family === 6 ? { v4: [], v6: [target.address] } : { v4: [target.address], v6: [] };
}
