// Key and signature algorithms cobble signs with, and their byte-exact encodings (BR 7.1.3).
import { createPublicKey, type KeyObject } from 'node:crypto';

export type KeyAlgorithm = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ecdsa-p256' | 'ecdsa-p384';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'];

export type SignatureAlgorithm =
  | 'sha256WithRSAEncryption'
  | 'sha384WithRSAEncryption'
  | 'ecdsa-with-SHA256'
  | 'ecdsa-with-SHA384';

export type HashName = 'sha256' | 'sha384';

interface SignatureAlgorithmInfo {
  keyType: 'rsa' | 'ecdsa';
  hash: HashName;
  /** The AlgorithmIdentifier DER, byte for byte as BR 7.1.3.2 lists it (RSA with NULL parameters, ECDSA without). */
  algorithmIdentifierHex: string;
  oid: string;
}

export const SIGNATURE_ALGORITHMS: Record<SignatureAlgorithm, SignatureAlgorithmInfo> = {
  sha256WithRSAEncryption: { keyType: 'rsa', hash: 'sha256', algorithmIdentifierHex: '300d06092a864886f70d01010b0500', oid: '1.2.840.113549.1.1.11' },
  sha384WithRSAEncryption: { keyType: 'rsa', hash: 'sha384', algorithmIdentifierHex: '300d06092a864886f70d01010c0500', oid: '1.2.840.113549.1.1.12' },
  'ecdsa-with-SHA256': { keyType: 'ecdsa', hash: 'sha256', algorithmIdentifierHex: '300a06082a8648ce3d040302', oid: '1.2.840.10045.4.3.2' },
  'ecdsa-with-SHA384': { keyType: 'ecdsa', hash: 'sha384', algorithmIdentifierHex: '300a06082a8648ce3d040303', oid: '1.2.840.10045.4.3.3' },
};

/** SubjectPublicKeyInfo AlgorithmIdentifier encodings allowed by BR 7.1.3.1. */
export const SPKI_ALGORITHM_IDENTIFIERS: Record<string, string> = {
  rsa: '300d06092a864886f70d0101010500',
  'P-256': '301306072a8648ce3d020106082a8648ce3d030107',
  'P-384': '301006072a8648ce3d020106052b81040022',
};

export function isRsa(algorithm: KeyAlgorithm): boolean {
  return algorithm.startsWith('rsa-');
}

export function rsaBits(algorithm: KeyAlgorithm): number {
  return Number(algorithm.slice(4));
}

export function curveOf(algorithm: KeyAlgorithm): 'P-256' | 'P-384' {
  if (algorithm === 'ecdsa-p256') return 'P-256';
  if (algorithm === 'ecdsa-p384') return 'P-384';
  throw new Error(`${algorithm} is not an ECDSA key algorithm`);
}

/** BR 7.1.3.2.2: a P-256 key signs with SHA-256, P-384 with SHA-384; RSA defaults to SHA-256. */
export function defaultSignatureAlgorithm(algorithm: KeyAlgorithm): SignatureAlgorithm {
  if (algorithm === 'ecdsa-p256') return 'ecdsa-with-SHA256';
  if (algorithm === 'ecdsa-p384') return 'ecdsa-with-SHA384';
  return 'sha256WithRSAEncryption';
}

/** The signature algorithms a key may use; the first one is the default. */
export function allowedSignatureAlgorithms(algorithm: KeyAlgorithm): SignatureAlgorithm[] {
  if (isRsa(algorithm)) return ['sha256WithRSAEncryption', 'sha384WithRSAEncryption'];
  return [defaultSignatureAlgorithm(algorithm)];
}

export function keyAlgorithmOfKeyObject(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits === 2048 || bits === 3072 || bits === 4096) return `rsa-${bits}` as KeyAlgorithm;
    throw new Error(`unsupported RSA modulus length ${bits} (cobble uses 2048, 3072 or 4096)`);
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
    if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
    throw new Error(`unsupported EC curve ${details.namedCurve} (cobble uses P-256 or P-384)`);
  }
  throw new Error(`unsupported key type ${key.asymmetricKeyType} (cobble uses RSA or ECDSA)`);
}

/**
 * The exact SPKI prefix (SEQUENCE, AlgorithmIdentifier, BIT STRING header) before the uncompressed point (0x04, x, y)
 * of a canonical P-256 / P-384 key. Recognising these bytes spares OpenSSL's SPKI decoder (about 0.4 ms) on hot paths:
 * a CA lints every leaf and checks every CSR key.
 */
export const EC_SPKI_PREFIXES: ReadonlyArray<{ keyAlgorithm: KeyAlgorithm; crv: 'P-256' | 'P-384'; prefix: Buffer; coordinate: number }> = [
  { keyAlgorithm: 'ecdsa-p256', crv: 'P-256', prefix: Buffer.from(`3059${SPKI_ALGORITHM_IDENTIFIERS['P-256']}034200`, 'hex'), coordinate: 32 },
  { keyAlgorithm: 'ecdsa-p384', crv: 'P-384', prefix: Buffer.from(`3076${SPKI_ALGORITHM_IDENTIFIERS['P-384']}036200`, 'hex'), coordinate: 48 },
];

export function keyAlgorithmOfSpki(spki: Uint8Array): KeyAlgorithm {
  for (const { keyAlgorithm, prefix, coordinate } of EC_SPKI_PREFIXES) {
    if (spki.length === prefix.length + 1 + 2 * coordinate && spki[prefix.length] === 0x04 && Buffer.from(spki.buffer, spki.byteOffset, prefix.length).equals(prefix)) {
      return keyAlgorithm;
    }
  }
  return keyAlgorithmOfKeyObject(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
}

export function publicKeyObject(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}
