// Constants of the one HPKE suite DAP makes mandatory (RFC 9180 §7): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-128-GCM, base mode. Shared by the node:crypto implementation (servers) and the WebCrypto one (clients).
import { concat, utf8 } from '../codec.js';

export const KEM_X25519_HKDF_SHA256 = 0x0020;
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_AES_128_GCM = 0x0001;

export const N_SECRET = 32;
export const N_K = 16;
export const N_N = 12;
export const N_T = 16;

const i2osp2 = (n: number): Uint8Array => new Uint8Array([n >> 8, n & 0xff]);

export const KEM_SUITE_ID = concat(utf8('KEM'), i2osp2(KEM_X25519_HKDF_SHA256));
export const HPKE_SUITE_ID = concat(utf8('HPKE'), i2osp2(KEM_X25519_HKDF_SHA256), i2osp2(KDF_HKDF_SHA256), i2osp2(AEAD_AES_128_GCM));
const HPKE_V1 = utf8('HPKE-v1');

/** Input to Extract for LabeledExtract(salt, label, ikm). */
export function labeledIkm(suiteId: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return concat(HPKE_V1, suiteId, utf8(label), ikm);
}

/** `info` argument to Expand for LabeledExpand(prk, label, info, L), with the single-block counter appended. */
export function labeledInfoBlock(suiteId: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  return concat(i2osp2(length), HPKE_V1, suiteId, utf8(label), info, new Uint8Array([1]));
}

/** A recipient key pair as raw X25519 bytes. */
export interface HpkeKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** HPKE error: a ciphertext that does not open, or a key of the wrong shape. */
export class HpkeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HpkeError';
  }
}
