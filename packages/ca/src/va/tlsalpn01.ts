// tls-alpn-01 (RFC 8737): a TLS handshake with SNI = domain and ALPN "acme-tls/1" must present a certificate whose only
// SAN is the domain and whose critical id-pe-acmeIdentifier extension holds SHA-256(keyAuthorization).
// For an IP identifier (RFC 8738 §6) the VA connects to the address itself, sends its reverse-mapping name as SNI
// (RFC 6066 allows no address there), and the only SAN must be an iPAddress equal to the address.
import { createHash } from 'node:crypto';
import tls from 'node:tls';
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import { OctetString, AsnConvert } from '@peculiar/asn1-schema';
import { SubjectAlternativeNameExtension, X509Certificate } from '@peculiar/x509';
import ipaddr from 'ipaddr.js';
import type { VaResolver } from './dns.js';
import { reverseName, targetAddresses, type IpTarget } from './ip.js';
import { Timeout, formatAddress, socketProblem, withFallback } from './transport.js';
import { Deadline, ValidationError, type ValidationRecord, type ValidationRequest } from './types.js';

export const ACME_TLS_ALPN = 'acme-tls/1';
export const ID_PE_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';

interface Handshake {
  alpn: string | false;
  certificate: Buffer | undefined;
}

/** `ip` is set when the identifier is an IP address; `req.domain` is then its canonical text. */
export async function validateTlsAlpn01(req: ValidationRequest, tlsPort: number, resolver: VaResolver, deadline: Deadline, records: ValidationRecord[], ip?: IpTarget): Promise<void> {
  const record: ValidationRecord = { hostname: req.domain, port: String(tlsPort) };
  records.push(record);
  const addresses = ip
    ? targetAddresses(ip)
    : await resolver.addresses(req.domain, deadline);
  record.addressesResolved = [...addresses.v4, ...addresses.v6];
  const sni = ip ? reverseName(ip) : req.domain;
  const handshake = await withFallback(addresses, record, deadline, (address, attemptDeadline) => handshakeOnce(sni, address, tlsPort, attemptDeadline));
  const at = `${formatAddress(record.addressUsed!, tlsPort)} (SNI ${sni})`;

  if (handshake.alpn !== ACME_TLS_ALPN) {
    throw new ValidationError('incorrectResponse', `${at}: the server did not negotiate ALPN protocol "${ACME_TLS_ALPN}" (negotiated ${handshake.alpn ? `"${handshake.alpn}"` : 'none'})`);
  }
  if (!handshake.certificate) {
    throw new ValidationError('incorrectResponse', `${at}: the server presented no certificate`);
  }
  checkCertificate(handshake.certificate, req, at, ip);
}

/** Does a SAN entry name exactly this identifier? Addresses are compared as bytes, so no notation can fool it. */
function sanMatches(name: { type: string; value: string }, domain: string, ip: IpTarget | undefined): boolean {
  if (!ip) return name.type === 'dns' && name.value.toLowerCase() === domain.toLowerCase();
  return name.type === 'ip' && ipaddr.isValid(name.value) && Buffer.from(ipaddr.parse(name.value).toByteArray()).equals(ip.bytes);
}

function checkCertificate(der: Buffer, req: ValidationRequest, at: string, ip: IpTarget | undefined): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    throw new ValidationError('incorrectResponse', `${at}: the validation certificate could not be parsed: ${(err as Error).message}`);
  }
  const prefix = `${at}: Incorrect validation certificate for tls-alpn-01 challenge`;
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const shown = names.map((n) => `${n.type}:${n.value}`).join(', ') || 'no subjectAltName';
  if (names.length !== 1 || !sanMatches(names[0], req.domain, ip)) {
    throw new ValidationError('incorrectResponse', `${prefix}: it must contain exactly one subjectAltName, ${ip ? 'iPAddress' : 'dNSName'} ${req.domain}; it contains ${shown}`);
  }
  const extension = cert.getExtension(ID_PE_ACME_IDENTIFIER);
  if (!extension) {
    throw new ValidationError('incorrectResponse', `${prefix}: missing the acmeIdentifier extension (${ID_PE_ACME_IDENTIFIER})`);
  }
  if (!extension.critical) {
    throw new ValidationError('incorrectResponse', `${prefix}: the acmeIdentifier extension (${ID_PE_ACME_IDENTIFIER}) must be marked critical`);
  }
  let digest: Buffer;
  try {
    digest = Buffer.from(AsnConvert.parse(extension.value, OctetString).buffer);
  } catch {
    throw new ValidationError('incorrectResponse', `${prefix}: the acmeIdentifier extension value is not a DER OCTET STRING`);
  }
  const expected = createHash('sha256').update(req.keyAuthorization).digest();
  if (!digest.equals(expected)) {
    throw new ValidationError('unauthorized', `${prefix}: the acmeIdentifier extension holds ${digest.toString('hex')}, expected SHA-256 of the key authorization, ${expected.toString('hex')}`);
  }
}

function handshakeOnce(sni: string, address: string, port: number, deadline: Deadline): Promise<Handshake> {
  const where = `${formatAddress(address, port)}: TLS-ALPN-01 handshake with SNI ${sni}`;
  return new Promise<Handshake>((resolve, reject) => {
    let connected = false;
    const socket = tls.connect({
      host: address,
      port,
      servername: sni,
      ALPNProtocols: [ACME_TLS_ALPN],
      // The validation certificate is self-signed by design (RFC 8737 §3); its contents are checked above instead.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    const timer = setTimeout(() => socket.destroy(new Timeout()), deadline.remaining());
    socket.once('connect', () => { connected = true; });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate();
      resolve({ alpn: socket.alpnProtocol ?? false, certificate: peer && peer.raw ? peer.raw : undefined });
      // Close politely (close_notify), but never wait on the peer for long.
      socket.end();
      socket.setTimeout(1000, () => socket.destroy());
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      const problem = socketProblem(err, where, connected);
      if (problem.kind === 'tls' && /no.application.protocol/i.test(err.message)) {
        reject(new ValidationError('tls', `${where}: the server does not offer ALPN protocol "${ACME_TLS_ALPN}" (${err.message})`));
        return;
      }
      reject(problem);
    });
  });
}
