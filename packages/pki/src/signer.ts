// One signing interface for every key cobble holds: a PKCS#11 token, an encrypted key file or an in-memory
// throwaway key. Certificate, CRL and CSR builders only ever see this interface.
import { promisify } from 'node:util';
import { createHash, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject, createPublicKey } from 'node:crypto';
import {
  SIGNATURE_ALGORITHMS, allowedSignatureAlgorithms, curveOf, defaultSignatureAlgorithm, isRsa, keyAlgorithmOfKeyObject,
  publicKeyObject, rsaBits, type KeyAlgorithm, type SignatureAlgorithm,
} from './algorithms.js';

export interface Signer {
  /** Algorithm and size of the signing key, e.g. 'ecdsa-p384'. */
  readonly keyAlgorithm: KeyAlgorithm;
  /** What `sign` produces; fixed per signer so a TBS built for it names the right algorithm. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The public key as SubjectPublicKeyInfo DER. */
  readonly publicKey: Uint8Array;
  /** Where the key lives, for logs and errors, e.g. `pkcs11:token=root HSM;object=X1` or `file:/etc/ca/e1.key`. */
  readonly description: string;
  /** Signs `data` (a DER TBSCertificate, TBSCertList or CertificationRequestInfo); returns the signature as X.509
   *  carries it: PKCS#1 v1.5 bytes for RSA, DER Ecdsa-Sig-Value for ECDSA. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export function hashOf(algorithm: SignatureAlgorithm): 'sha256' | 'sha384' {
  return SIGNATURE_ALGORITHMS[algorithm].hash;
}

export function digest(algorithm: SignatureAlgorithm, data: Uint8Array): Buffer {
  return createHash(hashOf(algorithm)).update(data).digest();
}

export function checkSignatureAlgorithm(keyAlgorithm: KeyAlgorithm, requested: SignatureAlgorithm | undefined): SignatureAlgorithm {
  if (requested === undefined) return defaultSignatureAlgorithm(keyAlgorithm);
  const allowed = allowedSignatureAlgorithms(keyAlgorithm);
  if (!allowed.includes(requested)) {
    throw new Error(`a ${keyAlgorithm} key cannot sign with ${requested} (allowed: ${allowed.join(', ')})`);
  }
  return requested;
}

/** Verifies an X.509-format signature (DER for ECDSA) against an SPKI. */
export function verifySignature(spki: Uint8Array, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
  return nodeVerify(hashOf(algorithm), data, { key: publicKeyObject(spki), dsaEncoding: 'der' }, signature);
}

const verifyOnThreadPool = promisify(nodeVerify);
const signOnThreadPool = promisify(nodeSign);

/** `verifySignature` on libuv's thread pool, so a CA's event loop keeps serving while it checks a signature. */
export function verifySignatureAsync(spki: Uint8Array, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return verifyOnThreadPool(hashOf(algorithm), data, { key: publicKeyObject(spki), dsaEncoding: 'der' }, signature);
}

/** A signer over a node:crypto private key (encrypted key files, throwaway lint keys, tests). */
export class KeyObjectSigner implements Signer {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly publicKey: Uint8Array;

  constructor(private readonly privateKey: KeyObject, readonly description: string, signatureAlgorithm?: SignatureAlgorithm) {
    this.keyAlgorithm = keyAlgorithmOfKeyObject(privateKey);
    this.signatureAlgorithm = checkSignatureAlgorithm(this.keyAlgorithm, signatureAlgorithm);
    this.publicKey = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    // On the thread pool (node:crypto with a callback), not the event loop: a CA signs lint copies per request.
    return new Uint8Array(await signOnThreadPool(hashOf(this.signatureAlgorithm), data, { key: this.privateKey, dsaEncoding: 'der' }));
  }
}

export function generateSoftwareKey(algorithm: KeyAlgorithm): KeyObject {
  if (isRsa(algorithm)) {
    return generateKeyPairSync('rsa', { modulusLength: rsaBits(algorithm), publicExponent: 65537 }).privateKey;
  }
  return generateKeyPairSync('ec', { namedCurve: curveOf(algorithm) }).privateKey;
}

// Throwaway keys sign only lint copies, never anything that leaves the process, so one per algorithm and
// process is enough (RSA-4096 generation costs about a second).
const throwawayKeys = new Map<KeyAlgorithm, KeyObject>();

/** A software signer of the same key algorithm and signature algorithm as `like`, for lint copies. */
export function throwawaySigner(like: Pick<Signer, 'keyAlgorithm' | 'signatureAlgorithm'>): Signer {
  let key = throwawayKeys.get(like.keyAlgorithm);
  if (!key) {
    key = generateSoftwareKey(like.keyAlgorithm);
    throwawayKeys.set(like.keyAlgorithm, key);
  }
  return new KeyObjectSigner(key, `throwaway ${like.keyAlgorithm} lint key`, like.signatureAlgorithm);
}
