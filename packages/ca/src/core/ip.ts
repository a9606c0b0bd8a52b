// IP addresses as RFC 8738 identifiers carry them: the canonical text (RFC 1123 §2.1 for IPv4, RFC 5952 §4 for IPv6)
// is the only accepted spelling, so policy, the VA and the CSR reader must compute it the same way.
import ipaddr from 'ipaddr.js';

export interface ParsedIp {
  address: ipaddr.IPv4 | ipaddr.IPv6;
  family: 4 | 6;
  /** The canonical text of the address. */
  canonical: string;
}

/** `text` as an IP address in any notation ipaddr.js (like inet_aton) accepts, or undefined when it is none. */
export function parseIp(text: string): ParsedIp | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const address = ipaddr.parse(text);
  return { address, family: address.kind() === 'ipv6' ? 6 : 4, canonical: canonicalText(address) };
}

/** The canonical text of a 4- or 16-octet address (an iPAddress SAN). */
export function ipText(octets: Uint8Array): string {
  return canonicalText(ipaddr.fromByteArray([...octets]));
}

function canonicalText(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  return address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}
