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

// Issuer keys verify every signature their key makes; decoding the SPKI each time cost about 0.6 ms per leaf.
const issuerKeys = new Map<string, KeyObject>();
function cachedPublicKey(spki: Uint8Array): KeyObject {
  const id = Buffer.from(spki).toString('base64');
  let key = issuerKeys.get(id);
  if (!key) {
    key = publicKeyObject(spki);
    issuerKeys.set(id, key);
    if (issuerKeys.size > 64) issuerKeys.delete(issuerKeys.keys().next().value as string);
  }
  return key;
}

/** `verifySignature` on libuv's thread pool, so a CA's event loop keeps serving while it checks a signature. */
export function verifySignatureAsync(spki: Uint8Array, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return verifyOnThreadPool(hashOf(algorithm), data, { key: cachedPublicKey(spki), dsaEncoding: 'der' }, signature);
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

// Throwaway keys never sign anything that leaves the process, so one per kind and process is enough (RSA-4096
// generation costs about a second), and their signers are kept too, as a CA asks for one per leaf.
const throwawayKeys = new Map<KeyAlgorithm, KeyObject>();
function throwawayKey(algorithm: KeyAlgorithm): KeyObject {
  let key = throwawayKeys.get(algorithm);
  if (!key) throwawayKeys.set(algorithm, (key = generateSoftwareKey(algorithm)));
  return key;
}

const throwawaySigners = new Map<string, Signer>();

/** A software signer of the same key algorithm and signature algorithm as `like` (e.g. a ceremony's pre-check). */
export function throwawaySigner(like: Pick<Signer, 'keyAlgorithm' | 'signatureAlgorithm'>): Signer {
  const id = `same ${like.keyAlgorithm} ${like.signatureAlgorithm}`;
  let signer = throwawaySigners.get(id);
  if (!signer) throwawaySigners.set(id, (signer = new KeyObjectSigner(throwawayKey(like.keyAlgorithm), `throwaway ${like.keyAlgorithm} lint key`, like.signatureAlgorithm)));
  return signer;
}

/**
 * Signs lint copies of what `like` will sign. The lint copy must carry the exact TBS; lints read the TBS and the
 * signature *algorithm*, never the signature value (no throwaway signature could verify under the issuer's key). So
 * the cheapest key of the family signs it: P-256 for every ECDSA signature algorithm (OpenSSL signs P-256 about six
 * times faster than P-384) and RSA-2048 for every RSA one. A CA lints every leaf it issues.
 */
class LintCopySigner implements Signer {
  readonly publicKey: Uint8Array;
  readonly description: string;
  constructor(
    private readonly key: KeyObject,
    readonly keyAlgorithm: KeyAlgorithm,
    readonly signatureAlgorithm: SignatureAlgorithm,
  ) {
    this.publicKey = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
    this.description = `lint-copy key (${keyAlgorithmOfKeyObject(key)}) for ${signatureAlgorithm}`;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await signOnThreadPool(hashOf(this.signatureAlgorithm), data, { key: this.key, dsaEncoding: 'der' }));
  }
}

export function lintCopySigner(like: Pick<Signer, 'keyAlgorithm' | 'signatureAlgorithm'>): Signer {
  const id = `copy ${like.keyAlgorithm} ${like.signatureAlgorithm}`;
  let signer = throwawaySigners.get(id);
  if (!signer) {
    const key = throwawayKey(isRsa(like.keyAlgorithm) ? 'rsa-2048' : 'ecdsa-p256');
    throwawaySigners.set(id, (signer = new LintCopySigner(key, like.keyAlgorithm, like.signatureAlgorithm)));
  }
  return signer;
}
