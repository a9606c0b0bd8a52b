// http-01 (RFC 8555 §8.3): GET http://<domain>/.well-known/acme-challenge/<token> from the domain's address and compare
// the body with the key authorization. Redirects are followed within the limits Let's Encrypt documents.
// For an IP identifier (RFC 8738 §§4–5) the URL names the address itself: no DNS, and Host is the address.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { parse as parseDomain } from 'tldts';
import type { ResolvedAddresses, VaResolver } from './dns.js';
import { targetAddresses, type IpTarget } from './ip.js';
import { Timeout, formatAddress, socketProblem, withFallback } from './transport.js';
import { Deadline, ValidationError, type ValidationRecord, type ValidationRequest } from './types.js';

export const MAX_REDIRECTS = 10;
// A key authorization is 87 characters (43-character token, '.', 43-character thumbprint); anything far longer is not one.
export const MAX_BODY_BYTES = 128;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'cobble-va/0.1 (+https://github.com/cobble)';

export interface Http01Ports {
  httpPort: number;
  tlsPort: number;
}

/** URL.hostname keeps an IPv6 address in brackets; records and comparisons want the address alone. */
const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '');

interface Fetched {
  status: number;
  location?: string;
  body: Buffer;
  truncated: boolean;
}

/** `ip` is set when the identifier is an IP address; `req.domain` is then its canonical text. */
export async function validateHttp01(req: ValidationRequest, ports: Http01Ports, resolver: VaResolver, deadline: Deadline, records: ValidationRecord[], ip?: IpTarget): Promise<void> {
  let url = new URL(`http://${ip?.family === 6 ? `[${ip.address}]` : req.domain}/.well-known/acme-challenge/${req.token}`);
  const visited = new Set<string>();
  for (let redirects = 0; ; redirects++) {
    visited.add(url.href);
    const port = url.protocol === 'https:' ? ports.tlsPort : ports.httpPort;
    const hostname = bare(url.hostname);
    const record: ValidationRecord = { url: url.href, hostname, port: String(port) };
    records.push(record);
    // A hop can name an address only when it is the identifier's own (see redirectTarget): it is used as is.
    const addresses: ResolvedAddresses = ip && hostname === ip.address
      ? targetAddresses(ip)
      : await resolver.addresses(hostname, deadline);
    record.addressesResolved = [...addresses.v4, ...addresses.v6];
    const current = url;
    const response = await withFallback(addresses, record, deadline, (address, attemptDeadline) => fetchOnce(current, address, port, attemptDeadline));
    const at = `${formatAddress(record.addressUsed!, port)}: ${url.href}`;

    if (REDIRECT_STATUSES.has(response.status) && response.location !== undefined) {
      if (redirects >= MAX_REDIRECTS) {
        throw new ValidationError('connection', `Too many redirects: more than ${MAX_REDIRECTS} while fetching ${records[0].url}; last was ${at} → ${response.location}`);
      }
      const next = redirectTarget(url, response.location, ports, at, ip);
      if (visited.has(next.href)) {
        throw new ValidationError('connection', `Redirect loop: ${at} redirects to ${next.href}, which was already fetched`);
      }
      url = next;
      continue;
    }
    if (response.status !== 200) {
      throw new ValidationError('unauthorized', `${at}: Invalid response: HTTP ${response.status} (expected 200 with the key authorization as body)`);
    }
    if (response.truncated) {
      throw new ValidationError('incorrectResponse', `${at}: Response body is longer than ${MAX_BODY_BYTES} bytes; it must be exactly the key authorization "${req.keyAuthorization}"`);
    }
    const body = response.body.toString('utf8').trim();
    if (body !== req.keyAuthorization) {
      throw new ValidationError('unauthorized', `${at}: The key authorization file from the server did not match this challenge. Expected ${JSON.stringify(req.keyAuthorization)} (got ${JSON.stringify(body)})`);
    }
    return;
  }
}

/**
 * Checks a Location header against the redirect rules (scheme, port, host) and returns the absolute URL to fetch.
 * An address is allowed as host only when it is the IP identifier being validated (e.g. a relative redirect on it):
 * that reaches no host the validation was not already talking to.
 */
function redirectTarget(from: URL, location: string, ports: Http01Ports, at: string, ip: IpTarget | undefined): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new ValidationError('connection', `${at}: Invalid redirect Location header ${JSON.stringify(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new ValidationError('connection', `${at}: Invalid protocol scheme in redirect target ${next.href}. Only "http" and "https" are supported, not "${next.protocol.replace(/:$/, '')}"`);
  }
  // URL drops default ports, so `port` is set only for an explicit non-default one.
  if (next.port !== '') {
    const allowed = new Set([80, 443, ports.httpPort, ports.tlsPort]);
    if (!allowed.has(Number(next.port))) {
      throw new ValidationError('connection', `${at}: Invalid port in redirect target ${next.href}. Only ports ${[...allowed].join(', ')} are supported, not ${next.port}`);
    }
  }
  const host = bare(next.hostname);
  if (ip && host === ip.address) return next;
  if (isIP(host) !== 0) {
    const allowed = ip ? `domain names and the address being validated (${ip.address}) are supported, not other IP addresses` : 'domain names are supported, not IP addresses';
    throw new ValidationError('connection', `${at}: Invalid host in redirect target ${next.href}. Only ${allowed}`);
  }
  if (!parseDomain(host).isIcann) {
    throw new ValidationError('connection', `${at}: Invalid host in redirect target ${next.href}: the name must end in an IANA-registered top-level domain`);
  }
  return next;
}

function fetchOnce(url: URL, address: string, port: number, deadline: Deadline): Promise<Fetched> {
  const where = `${formatAddress(address, port)}: Fetching ${url.href}`;
  return new Promise<Fetched>((resolve, reject) => {
    let connected = false;
    const options: https.RequestOptions = {
      host: address,
      port,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      agent: false,
      setHost: false,
      headers: { Host: url.host, 'User-Agent': USER_AGENT, Accept: '*/*', Connection: 'close' },
    };
    // A redirect to https is fetched without certificate checks, as RFC 8555 §8.3 validation does not rely on the Web PKI.
    // RFC 6066 allows no address as SNI: to an address the handshake goes without one ('' turns it off).
    const request = url.protocol === 'https:'
      ? https.request({ ...options, servername: isIP(bare(url.hostname)) === 0 ? url.hostname : '', rejectUnauthorized: false })
      : http.request(options);
    const timer = setTimeout(() => request.destroy(new Timeout()), deadline.remaining());
    const fail = (err: unknown) => {
      clearTimeout(timer);
      reject(socketProblem(err, where, connected));
    };
    request.on('socket', (socket) => socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => { connected = true; }));
    request.on('error', fail);
    request.on('response', (response) => {
      connected = true;
      const status = response.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        clearTimeout(timer);
        request.destroy();
        resolve({ status, location: response.headers.location, body: Buffer.alloc(0), truncated: false });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (truncated: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status, body: Buffer.concat(chunks), truncated });
      };
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          finish(true);
          request.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => finish(false));
      response.on('error', (err) => { if (!done) { done = true; fail(err); } });
    });
    request.end();
  });
}
