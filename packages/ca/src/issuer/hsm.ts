// Configured issuers: production intermediates whose keys stay on a PKCS#11 token (or, for development, in an
// encrypted key file), and the chains served for their leaves, e.g. for E1 the default leaf → E1 → X2 cross-signed by
// X1 and the alternate leaf → E1 (X2 self-signed as the root). Everything is checked once at startup, so a wrong
// PIN, a key that is not the certificate's, or a chain that does not lead to its root stops the CA with an error
// naming the config key and the file, instead of surfacing as failed orders later.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as x509 from '@peculiar/x509';
import { certificateParts, fromPemAll, openSigner, toPem, type OpenedSigner, type Signer, type SignerConfig } from '@cobble/pki';
import { ConfigError, type ChainConfig, type IssuingKeyConfig } from '../config/index.js';
import { formatDuration } from '../config/duration.js';
import type { Hierarchy, IssuerChain } from './index.js';

export interface ConfiguredHierarchy {
  hierarchy: Hierarchy;
  /** Closes the token sessions. */
  close(): void;
}

interface LoadedCertificate {
  der: Uint8Array;
  node: X509Certificate;
  file: string;
}

async function readCertificates(file: string, key: string): Promise<LoadedCertificate[]> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path} (${(err as Error).message})`, path, key);
  }
  let ders: Uint8Array[];
  try {
    ders = fromPemAll(text, 'CERTIFICATE');
    if (ders.length === 0) throw new Error('no CERTIFICATE block');
    return ders.map((der) => ({ der, node: new X509Certificate(der), file: path }));
  } catch (err) {
    throw new ConfigError(`${key}: ${path} is not a PEM certificate file (${(err as Error).message})`, path, key);
  }
}

function describe(cert: LoadedCertificate): string {
  return `"${cert.node.subject.replace(/\n/g, ', ')}" (${cert.file})`;
}

/** Each certificate must be issued and signed by the next one, the last by the root, and all valid now. */
function checkChain(certs: LoadedCertificate[], root: LoadedCertificate, key: string, now: number): void {
  const path = [...certs, root];
  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    if (Date.parse(cert.node.validFrom) > now || Date.parse(cert.node.validTo) < now) {
      throw new ConfigError(
        `${key}: ${describe(cert)} is not valid now (valid ${cert.node.validFrom} to ${cert.node.validTo}); a served chain must validate today`,
        cert.file,
        key,
      );
    }
    if (i === path.length - 1) break;
    const issuer = path[i + 1]!;
    if (!cert.node.checkIssued(issuer.node) || !cert.node.verify(issuer.node.publicKey)) {
      throw new ConfigError(
        `${key}: ${describe(cert)} is not issued by ${describe(issuer)}; list the chain leaf-side first, each certificate followed by its issuer, ending at the root`,
        cert.file,
        key,
      );
    }
  }
}

function signerConfig(config: IssuingKeyConfig, key: string): Omit<SignerConfig, 'expectedPublicKey'> {
  const fromEnv = (name: string, what: string) => {
    const value = process.env[name];
    if (!value) throw new ConfigError(`${key}: the environment variable ${name} (the ${what}) is not set or empty`, undefined, key);
    return value;
  };
  if (config.pkcs11) {
    const p = config.pkcs11;
    const pin = p.pin ?? fromEnv(p.pinEnv!, `PIN of ${p.tokenLabel !== undefined ? `token "${p.tokenLabel}"` : `slot ${p.slot}`}, from ${key}.pkcs11.pinEnv`);
    return { pkcs11: { module: p.module, tokenLabel: p.tokenLabel, slot: p.slot, keyLabel: p.keyLabel, pin } };
  }
  const f = config.keyFile!;
  const passphrase = f.passphrase ?? fromEnv(f.passphraseEnv!, `passphrase of ${f.path}, from ${key}.keyFile.passphraseEnv`);
  return { keyFile: { path: resolve(f.path), passphrase } };
}

async function loadIssuer(index: number, config: IssuingKeyConfig, leafLifetimeMs: number, now: number, opened: OpenedSigner[]): Promise<IssuerChain> {
  const key = `issuers.${index}`;
  const certificates = await readCertificates(config.certificate, `${key}.certificate`);
  if (certificates.length !== 1) {
    throw new ConfigError(`${key}.certificate: ${certificates[0]!.file} holds ${certificates.length} certificates; expected only the issuing intermediate`, certificates[0]!.file, `${key}.certificate`);
  }
  const issuing = certificates[0]!;
  if (!issuing.node.ca) {
    throw new ConfigError(`${key}.certificate: ${describe(issuing)} is not a CA certificate`, issuing.file, `${key}.certificate`);
  }
  if (config.active && Date.parse(issuing.node.validTo) < now + leafLifetimeMs) {
    throw new ConfigError(
      `${key}.certificate: ${describe(issuing)} expires ${issuing.node.validTo}, before a leaf issued now would (the longest profile validity is ${formatDuration(leafLifetimeMs)}); configure its successor, retire it (active: false) or shorten the profiles' validity`,
      issuing.file,
      `${key}.certificate`,
    );
  }

  const chains: Array<{ config: ChainConfig; key: string }> = [
    { config: config.defaultChain, key: `${key}.defaultChain` },
    ...config.alternateChains.map((c, i) => ({ config: c, key: `${key}.alternateChains.${i}` })),
  ];
  const chainsPem: string[] = [];
  const chainRoots: LoadedCertificate[] = [];
  for (const chain of chains) {
    const certs: LoadedCertificate[] = [];
    for (const [i, file] of chain.config.certificates.entries()) certs.push(...(await readCertificates(file, `${chain.key}.certificates.${i}`)));
    if (!Buffer.from(certs[0]!.der).equals(Buffer.from(issuing.der))) {
      throw new ConfigError(
        `${chain.key}.certificates: the chain must start with the issuing certificate ${config.certificate}, but starts with ${describe(certs[0]!)}`,
        certs[0]!.file,
        `${chain.key}.certificates`,
      );
    }
    const roots = await readCertificates(chain.config.root, `${chain.key}.root`);
    if (roots.length !== 1) throw new ConfigError(`${chain.key}.root: ${roots[0]!.file} holds ${roots.length} certificates; expected one root`, roots[0]!.file, `${chain.key}.root`);
    checkChain(certs, roots[0]!, chain.key, now);
    chainsPem.push(certs.map((c) => toPem(c.der, 'CERTIFICATE')).join(''));
    chainRoots.push(roots[0]!);
  }

  let signer: Signer;
  try {
    const handle = await openSigner({ ...signerConfig(config, key), expectedPublicKey: certificateParts(issuing.der).spki });
    opened.push(handle);
    signer = handle.signer;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const where = config.pkcs11 ? `${key}.pkcs11` : `${key}.keyFile`;
    throw new ConfigError(`${where}: cannot use the key of ${describe(issuing)}: ${(err as Error).message}`, config.keyFile ? resolve(config.keyFile.path) : undefined, where);
  }
  return {
    name: config.name,
    keyTypes: config.keyTypes,
    active: config.active,
    profiles: config.profiles,
    intermediate: { cert: new x509.X509Certificate(issuing.der), pem: toPem(issuing.der, 'CERTIFICATE') },
    signer,
    root: new x509.X509Certificate(chainRoots[0]!.der),
    chainsPem,
    chainRoots: chainRoots.map((r) => new x509.X509Certificate(r.der)),
  };
}

/**
 * The development hierarchy with its issuing chains replaced by the configured ones. The development hierarchy
 * still provides the ACME server's own TLS certificate, which is unrelated to the issuing hierarchy.
 */
export async function configuredHierarchy(development: Hierarchy, issuers: IssuingKeyConfig[], leafLifetimeMs: number, now: number): Promise<ConfiguredHierarchy> {
  const opened: OpenedSigner[] = [];
  const close = () => opened.splice(0).forEach((o) => o.close());
  try {
    const loaded: IssuerChain[] = [];
    for (const [index, config] of issuers.entries()) loaded.push(await loadIssuer(index, config, leafLifetimeMs, now, opened));
    return { hierarchy: { ...development, issuers: loaded }, close };
  } catch (err) {
    close();
    throw err;
  }
}
