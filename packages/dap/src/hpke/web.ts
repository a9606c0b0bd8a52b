// The same HPKE suite on WebCrypto (globalThis.crypto.subtle), for the client and collector libraries, which
// must also run in browsers. Servers use ./node.ts (synchronous and faster); both pass RFC 9180 A.1.1.
import type { webcrypto } from 'node:crypto'; // types only: erased, so browsers never load node:crypto
import { concat } from '../codec.js';
import { HPKE_SUITE_ID, HpkeError, KEM_SUITE_ID, N_K, N_N, N_SECRET, labeledIkm, labeledInfoBlock, type HpkeKeyPair } from './suite.js';

const PKCS8_X25519_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
// HMAC pads its key with zeros, so the empty salt of RFC 5869 equals 32 zero bytes; WebCrypto refuses empty keys.
const ZERO_SALT = new Uint8Array(32);

const subtle = (): webcrypto.SubtleCrypto => {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new HpkeError('WebCrypto (crypto.subtle) is not available');
  return s;
};

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await subtle().importKey('raw', key.length ? key : ZERO_SALT, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', k, data));
}

const extract = (suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) => hmac(salt, labeledIkm(suiteId, label, ikm));
const expand = async (suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number) =>
  (await hmac(prk, labeledInfoBlock(suiteId, label, info, length))).subarray(0, length);

async function dh(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  if (publicKey.length !== 32 || privateKey.length !== 32) throw new HpkeError('X25519 keys must be 32 bytes');
  const sk = await subtle().importKey('pkcs8', concat(PKCS8_X25519_PREFIX, privateKey), { name: 'X25519' }, false, ['deriveBits']);
  const pk = await subtle().importKey('raw', publicKey, { name: 'X25519' }, false, []);
  return new Uint8Array(await subtle().deriveBits({ name: 'X25519', public: pk } as any, sk, 256));
}

async function keySchedule(dhValue: Uint8Array, enc: Uint8Array, pkR: Uint8Array, info: Uint8Array) {
  const eaePrk = await extract(KEM_SUITE_ID, new Uint8Array(0), 'eae_prk', dhValue);
  const shared = await expand(KEM_SUITE_ID, eaePrk, 'shared_secret', concat(enc, pkR), N_SECRET);
  const pskIdHash = await extract(HPKE_SUITE_ID, new Uint8Array(0), 'psk_id_hash', new Uint8Array(0));
  const infoHash = await extract(HPKE_SUITE_ID, new Uint8Array(0), 'info_hash', info);
  const context = concat(new Uint8Array([0]), pskIdHash, infoHash);
  const secret = await extract(HPKE_SUITE_ID, shared, 'secret', new Uint8Array(0));
  const key = await expand(HPKE_SUITE_ID, secret, 'key', context, N_K);
  const nonce = await expand(HPKE_SUITE_ID, secret, 'base_nonce', context, N_N);
  return { key: await subtle().importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']), nonce };
}

export async function generateKeyPairWeb(): Promise<HpkeKeyPair> {
  const kp = (await subtle().generateKey({ name: 'X25519' } as any, true, ['deriveBits'])) as webcrypto.CryptoKeyPair;
  const publicKey = new Uint8Array(await subtle().exportKey('raw', kp.publicKey));
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', kp.privateKey));
  return { publicKey, privateKey: pkcs8.subarray(pkcs8.length - 32) };
}

export async function sealWeb(pkR: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, ephemeral?: HpkeKeyPair) {
  const eph = ephemeral ?? (await generateKeyPairWeb());
  const { key, nonce } = await keySchedule(await dh(eph.privateKey, pkR), eph.publicKey, pkR, info);
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, plaintext));
  return { enc: eph.publicKey, ciphertext: ct };
}

export async function openWeb(privateKey: Uint8Array, publicKey: Uint8Array, enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  let dhValue: Uint8Array;
  try {
    dhValue = await dh(privateKey, enc);
  } catch {
    throw new HpkeError('invalid encapsulated key');
  }
  const { key, nonce } = await keySchedule(dhValue, enc, publicKey, info);
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, ciphertext));
  } catch {
    throw new HpkeError('decryption failed');
  }
}

/** The public key of a raw X25519 private key (the collector stores only the private half plus its config). */
export async function publicKeyFromPrivateWeb(privateKey: Uint8Array): Promise<Uint8Array> {
  const sk = await subtle().importKey('pkcs8', concat(PKCS8_X25519_PREFIX, privateKey), { name: 'X25519' }, true, ['deriveBits']);
  const jwk = await subtle().exportKey('jwk', sk);
  const x = jwk.x!;
  const b64 = x.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
