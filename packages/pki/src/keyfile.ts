// Encrypted key files: development stand-ins for an HSM. PKCS#8 EncryptedPrivateKeyInfo (PBES2, AES-256-CBC)
// in PEM, written and read by node:crypto, so OpenSSL reads them too (`openssl pkey -in key.pem`).
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KeyAlgorithm, SignatureAlgorithm } from './algorithms.js';
import { KeyObjectSigner, generateSoftwareKey, type Signer } from './signer.js';

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export interface GeneratedKeyFile {
  /** The encrypted PEM to write; the caller decides where and refuses to overwrite. */
  pem: string;
  signer: Signer;
}

export function generateEncryptedKey(algorithm: KeyAlgorithm, passphrase: string, description: string, signatureAlgorithm?: SignatureAlgorithm): GeneratedKeyFile {
  if (passphrase.length < 8) throw new KeyFileError('a key file passphrase must have at least 8 characters');
  const key = generateSoftwareKey(algorithm);
  const pem = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
  return { pem, signer: new KeyObjectSigner(key, description, signatureAlgorithm) };
}

export function decryptKey(pem: string, passphrase: string, source: string): KeyObject {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new KeyFileError(`${source}: not an encrypted PKCS#8 key (expected "-----BEGIN ENCRYPTED PRIVATE KEY-----")`);
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    throw new KeyFileError(`${source}: cannot decrypt the key: wrong passphrase or damaged file`);
  }
}

export function loadKeyFileSigner(path: string, passphrase: string, signatureAlgorithm?: SignatureAlgorithm): Signer {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeyFileError(`${path}: cannot read the key file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return new KeyObjectSigner(decryptKey(pem, passphrase, path), `file:${path}`, signatureAlgorithm);
}
