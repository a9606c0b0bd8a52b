// Test certificates for the VA's TLS paths: RFC 8737 validation certificates (correct and deliberately broken) and a
// plain self-signed certificate for https redirect targets.
import { createHash, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface PemPair {
  cert: string;
  key: string;
}

/** A SAN entry: a plain string is a dNSName. */
export type SanName = string | { type: 'dns' | 'ip'; value: string };

export interface AlpnCertOptions {
  /** The SAN's names; default [domain] as a dNSName. */
  sanNames?: SanName[];
  /** Omit the acmeIdentifier extension entirely. */
  omitAcmeExtension?: boolean;
  critical?: boolean;
  /** Digest to embed instead of SHA-256(keyAuthorization). */
  digest?: Buffer;
}

export async function selfSigned(names: SanName[], extra: x509.Extension[] = []): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=cobble va test',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((name) => (typeof name === 'string' ? { type: 'dns' as const, value: name } : name))), ...extra],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem'), key };
}

/** `identifier` is a DNS name or a { type: 'ip' } entry (RFC 8738 §6: the SAN is then the iPAddress). */
export function alpnCert(identifier: SanName, keyAuthorization: string, options: AlpnCertOptions = {}): Promise<PemPair> {
  const digest = options.digest ?? createHash('sha256').update(keyAuthorization).digest();
  const extra = options.omitAcmeExtension
    ? []
    : [new x509.Extension('1.3.6.1.5.5.7.1.31', options.critical ?? true, AsnConvert.serialize(new OctetString(digest)))];
  return selfSigned(options.sanNames ?? [identifier], extra);
}

type CryptoKeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };
type CryptoKey = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys']['privateKey'];
