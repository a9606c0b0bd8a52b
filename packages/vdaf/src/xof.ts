import type { Field } from './field.js';
import { TurboShake128, turboShake128 } from './keccak.js';

export type Generation = 'draft-08' | 'draft-20';

/** Seed size of XofTurboShake128: 16 bytes at VDAF-08, 32 bytes from VDAF-12 on. */
export function seedSizeOf(generation: Generation): number {
  return generation === 'draft-08' ? 16 : 32;
}

/** Absorb the XofTurboShake128 message of the generation (see the class below) into a fresh sponge. */
function absorbPrefix(s: TurboShake128, generation: Generation, seed: Uint8Array, dst: Uint8Array, binder: readonly Uint8Array[]): void {
  if (generation === 'draft-08') {
    if (dst.length > 255) throw new RangeError('XofTurboShake128: dst longer than 255 bytes');
    s.updateByte(dst.length);
  } else {
    if (dst.length > 65535) throw new RangeError('XofTurboShake128: dst longer than 65535 bytes');
    if (seed.length > 255) throw new RangeError('XofTurboShake128: seed longer than 255 bytes');
    s.updateByte(dst.length & 0xff).updateByte(dst.length >>> 8);
  }
  s.update(dst);
  if (generation !== 'draft-08') s.updateByte(seed.length);
  s.update(seed);
  for (const b of binder) s.update(b);
}

function squeezeVec(s: TurboShake128, field: Field, length: number): Uint32Array {
  const w = field.words;
  const out = field.vec(length);
  s.readWords(out, 0, length * w);
  // Every modulus here exceeds 2^(8*size-1), so the mask of next_vec is a no-op; only rejection remains.
  for (let i = 0; i < length; i++) {
    while (!field.isReduced(out, i)) {
      out.copyWithin(i * w, (i + 1) * w);
      s.readWords(out, (length - 1) * w, w);
    }
  }
  return out;
}

// One sponge reused by the one-shot helpers below (they never interleave), which saves an allocation per
// XOF call: Prio3Count preparation makes about ten of them.
const shared = new TurboShake128(1);

/** Xof.derive_seed-style one-shot: the first `length` output bytes. */
export function xofBytes(generation: Generation, seed: Uint8Array, dst: Uint8Array, binder: readonly Uint8Array[], length: number): Uint8Array {
  absorbPrefix(shared.reset(), generation, seed, dst, binder);
  return shared.read(new Uint8Array(length));
}

/** Xof.expand_into_vec one-shot. */
export function xofVec(generation: Generation, field: Field, seed: Uint8Array, dst: Uint8Array, binder: readonly Uint8Array[], length: number): Uint32Array {
  absorbPrefix(shared.reset(), generation, seed, dst, binder);
  return squeezeVec(shared, field, length);
}

/**
 * XofTurboShake128 of either generation. VDAF-08 feeds `len(dst) (1 byte) || dst || seed || binder`;
 * VDAF-20 feeds `len(dst) (2 bytes LE) || dst || len(seed) (1 byte) || seed || binder`.
 * The binder may be given in parts so large inputs (an encoded measurement share) are hashed without copying.
 */
export class XofTurboShake128 {
  private readonly sponge = new TurboShake128(1);

  constructor(generation: Generation, seed: Uint8Array, dst: Uint8Array, ...binder: Uint8Array[]) {
    absorbPrefix(this.sponge, generation, seed, dst, binder);
  }

  next(length: number): Uint8Array {
    return this.sponge.read(new Uint8Array(length));
  }

  /** The next `length` field elements by rejection sampling (Xof.next_vec). */
  nextVec(field: Field, length: number): Uint32Array {
    return squeezeVec(this.sponge, field, length);
  }
}

/** XofFixedKeyAes128 (both generations differ only in the width of the dst length prefix). */
export class XofFixedKeyAes128 {
  private readonly key: Uint8Array;
  private consumed = 0;

  constructor(generation: Generation, private readonly seed: Uint8Array, dst: Uint8Array, binder: Uint8Array) {
    if (seed.length !== 16) throw new RangeError('XofFixedKeyAes128: seed must be 16 bytes');
    const prefix = generation === 'draft-08' ? Uint8Array.of(dst.length) : Uint8Array.of(dst.length & 0xff, dst.length >>> 8);
    const msg = new Uint8Array(prefix.length + dst.length + binder.length);
    msg.set(prefix, 0);
    msg.set(dst, prefix.length);
    msg.set(binder, prefix.length + dst.length);
    this.key = turboShake128(msg, 2, 16);
  }

  next(length: number): Uint8Array {
    const offset = this.consumed % 16;
    const first = Math.floor(this.consumed / 16);
    const last = Math.floor((this.consumed + length) / 16);
    this.consumed += length;
    const count = last - first + 1;
    const sigma = new Uint8Array(count * 16);
    for (let b = 0; b < count; b++) {
      const block = new Uint8Array(this.seed); // a copy even when the seed is a Buffer
      let i = first + b;
      for (let k = 0; k < 16 && i > 0; k++) {
        block[k]! ^= i % 256;
        i = Math.floor(i / 256);
      }
      // sigma(lo || hi) = hi || (hi xor lo)
      for (let k = 0; k < 8; k++) {
        sigma[b * 16 + k] = block[8 + k]!;
        sigma[b * 16 + 8 + k] = block[8 + k]! ^ block[k]!;
      }
    }
    const cipher = nodeCrypto().createCipheriv('aes-128-ecb', this.key, null);
    cipher.setAutoPadding(false);
    const enc = cipher.update(sigma);
    for (let k = 0; k < sigma.length; k++) sigma[k]! ^= enc[k]!;
    return sigma.slice(offset, offset + length);
  }

  nextVec(field: Field, length: number): Uint32Array {
    const out = field.vec(length);
    const one = field.vec(1);
    for (let i = 0; i < length; ) {
      new Uint8Array(one.buffer).set(this.next(field.encodedSize));
      if (field.isReduced(one, 0)) field.copy(out, i++, one, 0);
    }
    return out;
  }
}

/**
 * node:crypto, looked up when first needed rather than imported, so that bundling the library for a browser does not
 * pull it in: only XofFixedKeyAes128 (used by Poplar1, not by Prio3) needs it, for synchronous AES-128-ECB that Web
 * Crypto does not offer.
 */
function nodeCrypto(): typeof import('node:crypto') {
  const lookup = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (!lookup) throw new Error('XofFixedKeyAes128 needs Node.js 20.16 or newer (node:crypto); it is not available in browsers');
  return lookup('node:crypto') as typeof import('node:crypto');
}
