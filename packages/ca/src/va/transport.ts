// What the http-01 and tls-alpn-01 checks share: address choice with IPv6→IPv4 fallback, and turning socket errors
// into problems a subscriber can act on.
import type { ResolvedAddresses } from './dns.js';
import { Deadline, ValidationError, type ValidationRecord } from './types.js';

/** A failure to reach the address at all; only these make the VA try the other address family. */
export class ReachError extends ValidationError {}

export class Timeout extends Error {}

/**
 * Tries the first IPv6 address, then the first IPv4 address (as Boulder does): a host with a broken AAAA record but a
 * working A record still validates, and the record says which address answered. When both families exist the IPv6
 * attempt gets half the remaining time, so a silently dropped IPv6 connection cannot starve the IPv4 one.
 */
export async function withFallback<T>(addresses: ResolvedAddresses, record: ValidationRecord, deadline: Deadline, attempt: (address: string, deadline: Deadline) => Promise<T>): Promise<T> {
  const candidates = [addresses.v6[0], addresses.v4[0]].filter((a): a is string => a !== undefined);
  let failure: ReachError | undefined;
  for (const [index, address] of candidates.entries()) {
    record.addressUsed = address;
    const last = index === candidates.length - 1;
    try {
      return await attempt(address, last ? deadline : new Deadline(deadline.remaining() / 2));
    } catch (err) {
      if (!(err instanceof ReachError)) throw err;
      failure = failure ? new ReachError('connection', `${failure.message}; then ${err.message}`) : err;
    }
  }
  throw failure ?? new ValidationError('dns', `No valid IP addresses found for ${record.hostname}`);
}

export function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

const TLS_CODES = /^(ERR_SSL|ERR_TLS|EPROTO)/;

/** Maps a socket-level error to a problem; `connected` tells a slow server apart from an unreachable one. */
export function socketProblem(err: unknown, where: string, connected: boolean): ValidationError {
  if (err instanceof ValidationError) return err;
  if (err instanceof Timeout) {
    return connected
      ? new ValidationError('connection', `${where}: Timeout after connect (your server may be slow or overloaded)`)
      : new ReachError('connection', `${where}: Timeout during connect (likely firewall problem)`);
  }
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return new ReachError('connection', `${where}: Connection refused`);
    case 'EHOSTUNREACH':
      return new ReachError('connection', `${where}: No route to host`);
    case 'ENETUNREACH':
      return new ReachError('connection', `${where}: Network unreachable`);
    case 'EADDRNOTAVAIL':
      return new ReachError('connection', `${where}: Address not available`);
    case 'ECONNRESET':
      return new ValidationError('connection', `${where}: Connection reset by peer`);
    case 'EPIPE':
      return new ValidationError('connection', `${where}: Connection closed by peer`);
  }
  if (TLS_CODES.test(code) || /SSL|TLS|alert/i.test(e.message ?? '')) {
    return new ValidationError('tls', `${where}: TLS handshake failed: ${e.reason ?? e.message}`);
  }
  if (code.startsWith('HPE_')) {
    return new ValidationError('connection', `${where}: The server sent a malformed HTTP response (${e.message})`);
  }
  return new ValidationError('connection', `${where}: ${e.message || code || String(err)}`);
}
