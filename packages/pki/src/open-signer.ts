// One entry point for services (the CA's issuer, a CRL signer) that hold a key either on a token or in a file:
// they pass configuration and get a Signer plus a close function, and never care which it was.
import { KeyObject, type webcrypto } from 'node:crypto';
import type { SignatureAlgorithm } from './algorithms.js';
import { loadKeyFileSigner } from './keyfile.js';
import { Pkcs11Session } from './pkcs11.js';
import { KeyObjectSigner, type Signer } from './signer.js';

export interface Pkcs11KeyConfig {
  /** PKCS#11 module path. */
  module: string;
  /** Token label (what the `key` ceremony writes to its pkcs11-config-path output) or slot ID. */
  tokenLabel?: string;
  slot?: number;
  /** Label of the key pair on the token. */
  keyLabel: string;
  pin: string;
}

export interface KeyFileConfig {
  path: string;
  passphrase: string;
}

export interface SignerConfig {
  pkcs11?: Pkcs11KeyConfig;
  keyFile?: KeyFileConfig;
  signatureAlgorithm?: SignatureAlgorithm;
  /** The public key the signer must have, e.g. the SPKI of the issuer certificate it signs for. */
  expectedPublicKey?: Uint8Array;
}

export interface OpenedSigner {
  signer: Signer;
  /** Releases the token session (a no-op for key files). */
  close(): void;
}

export async function openSigner(config: SignerConfig): Promise<OpenedSigner> {
  if (Boolean(config.pkcs11) === Boolean(config.keyFile)) throw new Error('configure exactly one of pkcs11 or keyFile');
  if (config.pkcs11) {
    const p = config.pkcs11;
    const session = Pkcs11Session.open({ module: p.module, tokenLabel: p.tokenLabel, slot: p.slot, pin: p.pin });
    try {
      const signer = await session.signer(p.keyLabel, { signatureAlgorithm: config.signatureAlgorithm, expectedPublicKey: config.expectedPublicKey });
      return { signer, close: () => session.close() };
    } catch (err) {
      session.close();
      throw err;
    }
  }
  const signer = loadKeyFileSigner(config.keyFile!.path, config.keyFile!.passphrase, config.signatureAlgorithm);
  if (config.expectedPublicKey && !Buffer.from(config.expectedPublicKey).equals(Buffer.from(signer.publicKey))) {
    throw new Error(`${config.keyFile!.path} is not the expected key`);
  }
  return { signer, close: () => {} };
}

/** Adapts a WebCrypto private key (RSASSA-PKCS1-v1_5 or ECDSA) to a Signer, for code that holds CryptoKeys. */
export function cryptoKeySigner(privateKey: webcrypto.CryptoKey, description: string, signatureAlgorithm?: SignatureAlgorithm): Signer {
  return new KeyObjectSigner(KeyObject.from(privateKey), description, signatureAlgorithm);
}
