// A throwaway PKI for the mutual TLS between the CA and its remote perspectives: a CA, server certificates for
// 127.0.0.1 and client certificates with a chosen name.
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { PemPair } from './certs.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

let serial = 1;

async function keyPem(keys: Keys): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

export interface TestCa {
  /** PEM of the CA certificate: what the other side trusts. */
  cert: string;
  /** A certificate for 127.0.0.1 (server side of a perspective). */
  server(name: string): Promise<PemPair>;
  /** A client certificate with CN and DNS SAN `name`. */
  client(name: string): Promise<PemPair>;
}

export async function createTestCa(name: string): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as Keys;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const issue = async (cn: string, usage: x509.ExtendedKeyUsage, sans: { type: 'dns' | 'ip'; value: string }[]): Promise<PemPair> => {
    const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as Keys;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (serial++).toString(16).padStart(2, '0'),
      subject: `CN=${cn}`,
      issuer: caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      signingAlgorithm: ALG,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        new x509.SubjectAlternativeNameExtension(sans),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    return { cert: cert.toString('pem'), key: await keyPem(leafKeys) };
  };
  return {
    cert: caCert.toString('pem'),
    server: (cn) => issue(cn, x509.ExtendedKeyUsage.serverAuth, [{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'localhost' }]),
    client: (cn) => issue(cn, x509.ExtendedKeyUsage.clientAuth, [{ type: 'dns', value: cn }]),
  };
}

/**
 * Writes the config file of a `cobble ca va-remote` process that serves with `dir`'s server.pem/server.key, trusts
 * clients under ca.pem named cobble-ca, and validates against the given http-01 port and DNS server.
 */
export function writeVaRemoteConfig(dir: string, p: { name: string; rir: string; port: number; httpPort: number; dnsServer: string; caaIdentity: string }): string {
  const config = join(dir, `${p.name}.yaml`);
  writeFileSync(config, [
    `listen: { host: 127.0.0.1, port: ${p.port} }`,
    `name: ${p.name}`,
    `rir: ${p.rir}`,
    'tls:',
    `  cert: ${join(dir, 'server.pem')}`,
    `  key: ${join(dir, 'server.key')}`,
    `  ca: ${join(dir, 'ca.pem')}`,
    '  allowedClientNames: [cobble-ca]',
    'va:',
    `  httpPort: ${p.httpPort}`,
    '  tlsPort: 1',
    `  dnsServer: "${p.dnsServer}"`,
    '  timeoutMs: 5000',
    `  caaIdentities: [${p.caaIdentity}]`,
    '',
  ].join('\n'));
  return config;
}
