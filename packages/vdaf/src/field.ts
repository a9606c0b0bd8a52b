// Prime fields of Prio3: Field64 (p = 2^64 - 2^32 + 1) and Field128 (p = 2^128 - 28*2^64 + 1).
//
// Representation: a vector of n elements is a Uint32Array of n*W little-endian 32-bit words (W = 2 or 4).
// This is the wire encoding on a little-endian host, so encode/decode is a copy plus a range check, and the
// XOF output can be read into vectors word by word. A 32x32-bit product is formed exactly as a (high, low)
// pair from Math.imul and one rounded double multiplication, and the reduction uses the special form of
// each modulus: no long division and no BigInt, several times faster than BigInt per element. Dot
// products accumulate 16-bit-limb partial products unreduced (exact in doubles) and reduce once.
// Operations address elements by index (out[oi] = a[ai] op b[bi]) so hot loops allocate nothing.

/** Scratch for the 16-bit limbs of a double-width value (reduction of dot products). */
const T = new Int32Array(16);

const TWO32 = 4294967296;

function reduce128(out: Uint32Array, o: number): void {
  // x = L + H*2^128 with 2^128 = 28*2^64 - 1 (mod p): x = L - H + 28*H*2^64.
  const t8 = T[8]!, t9 = T[9]!, t10 = T[10]!, t11 = T[11]!, t12 = T[12]!, t13 = T[13]!, t14 = T[14]!, t15 = T[15]!;
  let u0 = T[0]! - t8;
  let u1 = T[1]! - t9 + (u0 >> 16);
  u0 &= 0xffff;
  let u2 = T[2]! - t10 + (u1 >> 16);
  u1 &= 0xffff;
  let u3 = T[3]! - t11 + (u2 >> 16);
  u2 &= 0xffff;
  let u4 = T[4]! - t12 + 28 * t8 + (u3 >> 16);
  u3 &= 0xffff;
  let u5 = T[5]! - t13 + 28 * t9 + (u4 >> 16);
  u4 &= 0xffff;
  let u6 = T[6]! - t14 + 28 * t10 + (u5 >> 16);
  u5 &= 0xffff;
  let u7 = T[7]! - t15 + 28 * t11 + (u6 >> 16);
  u6 &= 0xffff;
  let h0 = 28 * t12 + (u7 >> 16);
  u7 &= 0xffff;
  let h1 = 28 * t13 + (h0 >> 16);
  h0 &= 0xffff;
  let h2 = 28 * t14 + (h1 >> 16);
  h1 &= 0xffff;
  let h3 = 28 * t15 + (h2 >> 16);
  h2 &= 0xffff;
  const h4 = h3 >> 16;
  h3 &= 0xffff;
  // Second fold of h = h0..h4 (< 2^70).
  u0 -= h0;
  u1 += (u0 >> 16) - h1;
  u0 &= 0xffff;
  u2 += (u1 >> 16) - h2;
  u1 &= 0xffff;
  u3 += (u2 >> 16) - h3;
  u2 &= 0xffff;
  u4 += (u3 >> 16) - h4 + 28 * h0;
  u3 &= 0xffff;
  u5 += (u4 >> 16) + 28 * h1;
  u4 &= 0xffff;
  u6 += (u5 >> 16) + 28 * h2;
  u5 &= 0xffff;
  u7 += (u6 >> 16) + 28 * h3;
  u6 &= 0xffff;
  let top = 28 * h4 + (u7 >> 16);
  u7 &= 0xffff;
  // Remaining folds of a small top part (at most two rounds).
  while (top !== 0) {
    u0 -= top;
    u1 += u0 >> 16;
    u0 &= 0xffff;
    u2 += u1 >> 16;
    u1 &= 0xffff;
    u3 += u2 >> 16;
    u2 &= 0xffff;
    u4 += (u3 >> 16) + 28 * top;
    u3 &= 0xffff;
    u5 += u4 >> 16;
    u4 &= 0xffff;
    u6 += u5 >> 16;
    u5 &= 0xffff;
    u7 += u6 >> 16;
    u6 &= 0xffff;
    top = u7 >> 16;
    u7 &= 0xffff;
  }
  let w0 = (u0 | (u1 << 16)) >>> 0;
  let w1 = (u2 | (u3 << 16)) >>> 0;
  let w2 = (u4 | (u5 << 16)) >>> 0;
  let w3 = (u6 | (u7 << 16)) >>> 0;
  if (w3 === 0xffffffff && (w2 > 0xffffffe4 || (w2 === 0xffffffe4 && (w1 !== 0 || w0 !== 0)))) {
    // subtract p = [1, 0, 0xffffffe4, 0xffffffff]
    let d = w0 - 1;
    let borrow = d < 0 ? 1 : 0;
    w0 = d + borrow * TWO32;
    d = w1 - borrow;
    borrow = d < 0 ? 1 : 0;
    w1 = d + borrow * TWO32;
    w2 = w2 - 0xffffffe4 - borrow;
    w3 = 0;
  }
  out[o] = w0;
  out[o + 1] = w1;
  out[o + 2] = w2;
  out[o + 3] = w3;
}

function reduce64(out: Uint32Array, o: number): void {
  // x = x0 + x1*2^32 + x2*2^64 + x3*2^96 with 2^64 = 2^32 - 1 and 2^96 = -1 (mod p).
  const x0 = T[0]! + T[1]! * 65536;
  const x1 = T[2]! + T[3]! * 65536;
  const x2 = T[4]! + T[5]! * 65536;
  const x3 = T[6]! + T[7]! * 65536;
  let lo = x0 - x2 - x3;
  let hi = x1 + x2;
  const c = Math.floor(lo / TWO32);
  lo -= c * TWO32;
  hi += c;
  while (hi >= TWO32 || hi < 0) {
    if (hi >= TWO32) {
      hi -= TWO32 - 1;
      lo -= 1;
    } else {
      hi += TWO32 - 1;
      lo += 1;
    }
    if (lo < 0) {
      lo += TWO32;
      hi -= 1;
    } else if (lo >= TWO32) {
      lo -= TWO32;
      hi += 1;
    }
  }
  if (hi === TWO32 - 1 && lo >= 1) {
    lo -= 1;
    hi = 0;
  }
  out[o] = lo;
  out[o + 1] = hi;
}

/**
 * Field128 product: the 16 word products are exact as (high, low) pairs, the low word from Math.imul and
 * the high word by rounding (a*b - low) / 2^32 computed in doubles (error < 2^-20); their halves add up in
 * eight columns below 2^36, and the reduction uses 2^128 = 28*2^64 - 1 on 32-bit words.
 */
function mul128(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  const ao = ai * 4, bo = bi * 4;
  const a0 = a[ao]!, a1 = a[ao + 1]!, a2 = a[ao + 2]!, a3 = a[ao + 3]!;
  const b0 = b[bo]!, b1 = b[bo + 1]!, b2 = b[bo + 2]!, b3 = b[bo + 3]!;
  // column sums of 32-bit halves of the 16 word products (each < 2^35)
  let l: number, c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0;
  l = Math.imul(a0, b0) >>> 0;
  c0 += l;
  c1 += Math.round((a0 * b0 - l) / TWO32);
  l = Math.imul(a0, b1) >>> 0;
  c1 += l;
  c2 += Math.round((a0 * b1 - l) / TWO32);
  l = Math.imul(a1, b0) >>> 0;
  c1 += l;
  c2 += Math.round((a1 * b0 - l) / TWO32);
  l = Math.imul(a0, b2) >>> 0;
  c2 += l;
  c3 += Math.round((a0 * b2 - l) / TWO32);
  l = Math.imul(a1, b1) >>> 0;
  c2 += l;
  c3 += Math.round((a1 * b1 - l) / TWO32);
  l = Math.imul(a2, b0) >>> 0;
  c2 += l;
  c3 += Math.round((a2 * b0 - l) / TWO32);
  l = Math.imul(a0, b3) >>> 0;
  c3 += l;
  c4 += Math.round((a0 * b3 - l) / TWO32);
  l = Math.imul(a1, b2) >>> 0;
  c3 += l;
  c4 += Math.round((a1 * b2 - l) / TWO32);
  l = Math.imul(a2, b1) >>> 0;
  c3 += l;
  c4 += Math.round((a2 * b1 - l) / TWO32);
  l = Math.imul(a3, b0) >>> 0;
  c3 += l;
  c4 += Math.round((a3 * b0 - l) / TWO32);
  l = Math.imul(a1, b3) >>> 0;
  c4 += l;
  c5 += Math.round((a1 * b3 - l) / TWO32);
  l = Math.imul(a2, b2) >>> 0;
  c4 += l;
  c5 += Math.round((a2 * b2 - l) / TWO32);
  l = Math.imul(a3, b1) >>> 0;
  c4 += l;
  c5 += Math.round((a3 * b1 - l) / TWO32);
  l = Math.imul(a2, b3) >>> 0;
  c5 += l;
  c6 += Math.round((a2 * b3 - l) / TWO32);
  l = Math.imul(a3, b2) >>> 0;
  c5 += l;
  c6 += Math.round((a3 * b2 - l) / TWO32);
  l = Math.imul(a3, b3) >>> 0;
  c6 += l;
  c7 += Math.round((a3 * b3 - l) / TWO32);
  // x = L + H*2^128 = L - H + 28*H*2^64 (mod p), columns unnormalized (each < 2^36)
  let w0 = c0 - c4;
  let w1 = c1 - c5;
  let w2 = c2 - c6 + 28 * c4;
  let w3 = c3 - c7 + 28 * c5;
  let h0 = 28 * c6;
  let h1 = 28 * c7;
  let c = Math.floor(w0 / TWO32);
  w0 -= c * TWO32;
  w1 += c;
  c = Math.floor(w1 / TWO32);
  w1 -= c * TWO32;
  w2 += c;
  c = Math.floor(w2 / TWO32);
  w2 -= c * TWO32;
  w3 += c;
  c = Math.floor(w3 / TWO32);
  w3 -= c * TWO32;
  h0 += c;
  c = Math.floor(h0 / TWO32);
  h0 -= c * TWO32;
  h1 += c;
  c = Math.floor(h1 / TWO32);
  h1 -= c * TWO32;
  let h2 = c;
  while (h0 !== 0 || h1 !== 0 || h2 !== 0) {
    w0 -= h0;
    w1 -= h1;
    w2 += 28 * h0 - h2;
    w3 += 28 * h1;
    h0 = 28 * h2;
    c = Math.floor(w0 / TWO32);
    w0 -= c * TWO32;
    w1 += c;
    c = Math.floor(w1 / TWO32);
    w1 -= c * TWO32;
    w2 += c;
    c = Math.floor(w2 / TWO32);
    w2 -= c * TWO32;
    w3 += c;
    c = Math.floor(w3 / TWO32);
    w3 -= c * TWO32;
    h0 += c;
    c = Math.floor(h0 / TWO32);
    h0 -= c * TWO32;
    h1 = c;
    h2 = 0;
  }
  if (w3 === 0xffffffff && (w2 > 0xffffffe4 || (w2 === 0xffffffe4 && (w1 !== 0 || w0 !== 0)))) {
    let d = w0 - 1;
    let br = d < 0 ? 1 : 0;
    w0 = d + br * TWO32;
    d = w1 - br;
    br = d < 0 ? 1 : 0;
    w1 = d + br * TWO32;
    w2 = w2 - 0xffffffe4 - br;
    w3 = 0;
  }
  const o = oi * 4;
  out[o] = w0;
  out[o + 1] = w1;
  out[o + 2] = w2;
  out[o + 3] = w3;
}

/** Field64 product: exact word products as for Field128, reduced with 2^64 = 2^32 - 1 and 2^96 = -1. */
function mul64(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  const a0 = a[ai * 2]!, a1 = a[ai * 2 + 1]!, b0 = b[bi * 2]!, b1 = b[bi * 2 + 1]!;
  const l00 = Math.imul(a0, b0) >>> 0, h00 = Math.round((a0 * b0 - l00) / TWO32);
  const l01 = Math.imul(a0, b1) >>> 0, h01 = Math.round((a0 * b1 - l01) / TWO32);
  const l10 = Math.imul(a1, b0) >>> 0, h10 = Math.round((a1 * b0 - l10) / TWO32);
  const l11 = Math.imul(a1, b1) >>> 0, h11 = Math.round((a1 * b1 - l11) / TWO32);
  let lo = l00 - h01 - h10 - l11 - h11;
  let hi = h00 + l01 + l10 + h01 + h10 + l11;
  let c = Math.floor(lo / TWO32);
  lo -= c * TWO32;
  hi += c;
  c = Math.floor(hi / TWO32);
  hi -= c * TWO32;
  lo -= c;
  hi += c;
  while (lo < 0 || lo >= TWO32 || hi < 0 || hi >= TWO32) {
    if (lo < 0) {
      lo += TWO32;
      hi -= 1;
    } else if (lo >= TWO32) {
      lo -= TWO32;
      hi += 1;
    }
    if (hi >= TWO32) {
      hi -= TWO32 - 1;
      lo -= 1;
    } else if (hi < 0) {
      hi += TWO32 - 1;
      lo += 1;
    }
  }
  if (hi === TWO32 - 1 && lo >= 1) {
    lo -= 1;
    hi = 0;
  }
  out[oi * 2] = lo;
  out[oi * 2 + 1] = hi;
}

/** Column sums of a lazily reduced dot product (16-bit positions). */
const TD = new Float64Array(24);

/**
 * Reduce sum_k TD[k] * 2^(16k) (k < n) + h * 2^(16n) modulo p, where 2^(16*low) = fac * 2^(16*(low - shift)) - 1
 * (Field128: low 8, shift 4, fac 28; Field64: low 4, shift 2, fac 1). Slow path, once per dot product.
 */
function reduceWideGeneric(out: Uint32Array, o: number, n: number, h: number, low: number, shift: number, fac: number, words: number, modulus: Uint32Array): void {
  let len = n;
  while (h > 0) {
    const q = Math.floor(h / 65536);
    TD[len++] = h - q * 65536;
    h = q;
  }
  for (;;) {
    let top = false;
    for (let k = low; k < len; k++) if (TD[k] !== 0) top = true;
    if (!top) break;
    for (let k = len - 1; k >= low; k--) {
      const x = TD[k]!;
      if (x === 0) continue;
      TD[k] = 0;
      TD[k - low] = TD[k - low]! - x;
      TD[k - shift] = TD[k - shift]! + fac * x;
    }
    let carry = 0;
    for (let k = 0; k < len; k++) {
      const c = TD[k]! + carry;
      carry = Math.floor(c / 65536);
      TD[k] = c - carry * 65536;
    }
    while (carry > 0) {
      const q = Math.floor(carry / 65536);
      TD[len++] = carry - q * 65536;
      carry = q;
    }
  }
  // value < 2^(16*low) < 2p: one conditional subtraction
  for (let k = 0; k < words; k++) out[o + k] = TD[2 * k]! + TD[2 * k + 1]! * 65536;
  let ge = true;
  for (let k = words - 1; k >= 0; k--) {
    if (out[o + k] !== modulus[k]) {
      ge = out[o + k]! > modulus[k]!;
      break;
    }
  }
  if (ge) {
    let borrow = 0;
    for (let k = 0; k < words; k++) {
      let d = out[o + k]! - modulus[k]! - borrow;
      borrow = d < 0 ? 1 : 0;
      if (borrow) d += TWO32;
      out[o + k] = d;
    }
  }
  TD.fill(0);
}

const P128 = Uint32Array.of(1, 0, 0xffffffe4, 0xffffffff);
const P64 = Uint32Array.of(1, 0xffffffff);

function reduceWide128(out: Uint32Array, o: number, h: number): void {
  if (h < 65536) {
    // below 2^256: the ordinary product reduction applies
    for (let k = 0; k < 15; k++) T[k] = TD[k]!;
    T[15] = h;
    TD.fill(0, 0, 16);
    reduce128(out, o);
    return;
  }
  reduceWideGeneric(out, o, 15, h, 8, 4, 28, 4, P128);
}

function reduceWide64(out: Uint32Array, o: number, h: number): void {
  if (h < 65536) {
    for (let k = 0; k < 7; k++) T[k] = TD[k]!;
    T[7] = h;
    TD.fill(0, 0, 8);
    reduce64(out, o);
    return;
  }
  reduceWideGeneric(out, o, 7, h, 4, 2, 1, 2, P64);
}

/** out[oi] = sum_i a[aOff + i] * b[bOff + i]: products accumulate unreduced in 16-bit columns (exact in doubles), one reduction at the end. */
function dot128(a: Uint32Array, aOff: number, b: Uint32Array, bOff: number, n: number, out: Uint32Array, oi: number): void {
  if (n > 200000) throw new RangeError('dot: vector too long for lazy reduction');
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  let c5 = 0;
  let c6 = 0;
  let c7 = 0;
  let c8 = 0;
  let c9 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  let c13 = 0;
  let c14 = 0;
  for (let i = 0; i < n; i++) {
    const ao = (aOff + i) * 4, bo = (bOff + i) * 4;
    const aw0 = a[ao + 0]!, bw0 = b[bo + 0]!;
    const aw1 = a[ao + 1]!, bw1 = b[bo + 1]!;
    const aw2 = a[ao + 2]!, bw2 = b[bo + 2]!;
    const aw3 = a[ao + 3]!, bw3 = b[bo + 3]!;
    const a0 = aw0 & 0xffff;
    const a1 = aw0 >>> 16;
    const a2 = aw1 & 0xffff;
    const a3 = aw1 >>> 16;
    const a4 = aw2 & 0xffff;
    const a5 = aw2 >>> 16;
    const a6 = aw3 & 0xffff;
    const a7 = aw3 >>> 16;
    const b0 = bw0 & 0xffff;
    const b1 = bw0 >>> 16;
    const b2 = bw1 & 0xffff;
    const b3 = bw1 >>> 16;
    const b4 = bw2 & 0xffff;
    const b5 = bw2 >>> 16;
    const b6 = bw3 & 0xffff;
    const b7 = bw3 >>> 16;
    c0 += a0 * b0;
    c1 += a0 * b1 + a1 * b0;
    c2 += a0 * b2 + a1 * b1 + a2 * b0;
    c3 += a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
    c4 += a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0;
    c5 += a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0;
    c6 += a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1 + a6 * b0;
    c7 += a0 * b7 + a1 * b6 + a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2 + a6 * b1 + a7 * b0;
    c8 += a1 * b7 + a2 * b6 + a3 * b5 + a4 * b4 + a5 * b3 + a6 * b2 + a7 * b1;
    c9 += a2 * b7 + a3 * b6 + a4 * b5 + a5 * b4 + a6 * b3 + a7 * b2;
    c10 += a3 * b7 + a4 * b6 + a5 * b5 + a6 * b4 + a7 * b3;
    c11 += a4 * b7 + a5 * b6 + a6 * b5 + a7 * b4;
    c12 += a5 * b7 + a6 * b6 + a7 * b5;
    c13 += a6 * b7 + a7 * b6;
    c14 += a7 * b7;
  }
  let h = 0;
  let c = 0;
  c = c0 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[0] = c;
  c = c1 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[1] = c;
  c = c2 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[2] = c;
  c = c3 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[3] = c;
  c = c4 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[4] = c;
  c = c5 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[5] = c;
  c = c6 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[6] = c;
  c = c7 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[7] = c;
  c = c8 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[8] = c;
  c = c9 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[9] = c;
  c = c10 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[10] = c;
  c = c11 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[11] = c;
  c = c12 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[12] = c;
  c = c13 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[13] = c;
  c = c14 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[14] = c;
  reduceWide128(out, oi * 4, h);
}
/** out[oi] = sum_i a[aOff + i] * b[bOff + i]: products accumulate unreduced in 16-bit columns (exact in doubles), one reduction at the end. */
function dot64(a: Uint32Array, aOff: number, b: Uint32Array, bOff: number, n: number, out: Uint32Array, oi: number): void {
  if (n > 200000) throw new RangeError('dot: vector too long for lazy reduction');
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  let c5 = 0;
  let c6 = 0;
  for (let i = 0; i < n; i++) {
    const ao = (aOff + i) * 2, bo = (bOff + i) * 2;
    const aw0 = a[ao + 0]!, bw0 = b[bo + 0]!;
    const aw1 = a[ao + 1]!, bw1 = b[bo + 1]!;
    const a0 = aw0 & 0xffff;
    const a1 = aw0 >>> 16;
    const a2 = aw1 & 0xffff;
    const a3 = aw1 >>> 16;
    const b0 = bw0 & 0xffff;
    const b1 = bw0 >>> 16;
    const b2 = bw1 & 0xffff;
    const b3 = bw1 >>> 16;
    c0 += a0 * b0;
    c1 += a0 * b1 + a1 * b0;
    c2 += a0 * b2 + a1 * b1 + a2 * b0;
    c3 += a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
    c4 += a1 * b3 + a2 * b2 + a3 * b1;
    c5 += a2 * b3 + a3 * b2;
    c6 += a3 * b3;
  }
  let h = 0;
  let c = 0;
  c = c0 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[0] = c;
  c = c1 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[1] = c;
  c = c2 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[2] = c;
  c = c3 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[3] = c;
  c = c4 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[4] = c;
  c = c5 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[5] = c;
  c = c6 + h;
  h = Math.floor(c / 65536);
  c -= h * 65536;
  TD[6] = c;
  reduceWide64(out, oi * 2, h);
}

function add128(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  const ao = ai * 4, bo = bi * 4, o = oi * 4;
  let s0 = a[ao]! + b[bo]!;
  let c = s0 >= TWO32 ? 1 : 0;
  s0 -= c * TWO32;
  let s1 = a[ao + 1]! + b[bo + 1]! + c;
  c = s1 >= TWO32 ? 1 : 0;
  s1 -= c * TWO32;
  let s2 = a[ao + 2]! + b[bo + 2]! + c;
  c = s2 >= TWO32 ? 1 : 0;
  s2 -= c * TWO32;
  let s3 = a[ao + 3]! + b[bo + 3]! + c;
  c = s3 >= TWO32 ? 1 : 0;
  s3 -= c * TWO32;
  if (c === 1 || (s3 === 0xffffffff && (s2 > 0xffffffe4 || (s2 === 0xffffffe4 && (s1 !== 0 || s0 !== 0))))) {
    // subtract p (mod 2^128)
    let d = s0 - 1;
    let br = d < 0 ? 1 : 0;
    s0 = d + br * TWO32;
    d = s1 - br;
    br = d < 0 ? 1 : 0;
    s1 = d + br * TWO32;
    d = s2 - 0xffffffe4 - br;
    br = d < 0 ? 1 : 0;
    s2 = d + br * TWO32;
    s3 = s3 - 0xffffffff - br;
    if (s3 < 0) s3 += TWO32;
  }
  out[o] = s0;
  out[o + 1] = s1;
  out[o + 2] = s2;
  out[o + 3] = s3;
}

function sub128(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  const ao = ai * 4, bo = bi * 4, o = oi * 4;
  let d0 = a[ao]! - b[bo]!;
  let br = d0 < 0 ? 1 : 0;
  d0 += br * TWO32;
  let d1 = a[ao + 1]! - b[bo + 1]! - br;
  br = d1 < 0 ? 1 : 0;
  d1 += br * TWO32;
  let d2 = a[ao + 2]! - b[bo + 2]! - br;
  br = d2 < 0 ? 1 : 0;
  d2 += br * TWO32;
  let d3 = a[ao + 3]! - b[bo + 3]! - br;
  br = d3 < 0 ? 1 : 0;
  d3 += br * TWO32;
  if (br === 1) {
    // add p (mod 2^128)
    d0 += 1;
    let c = d0 >= TWO32 ? 1 : 0;
    d0 -= c * TWO32;
    d1 += c;
    c = d1 >= TWO32 ? 1 : 0;
    d1 -= c * TWO32;
    d2 += 0xffffffe4 + c;
    c = d2 >= TWO32 ? 1 : 0;
    d2 -= c * TWO32;
    d3 += 0xffffffff + c;
    if (d3 >= TWO32) d3 -= TWO32;
  }
  out[o] = d0;
  out[o + 1] = d1;
  out[o + 2] = d2;
  out[o + 3] = d3;
}

function add64(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  const ao = ai * 2, bo = bi * 2, o = oi * 2;
  let lo = a[ao]! + b[bo]!;
  let c = lo >= TWO32 ? 1 : 0;
  lo -= c * TWO32;
  let hi = a[ao + 1]! + b[bo + 1]! + c;
  c = hi >= TWO32 ? 1 : 0;
  hi -= c * TWO32;
  if (c === 1) {
    // 2^64 = 2^32 - 1 (mod p); the sum is < 2p so one correction suffices
    lo += TWO32 - 1;
    if (lo >= TWO32) {
      lo -= TWO32;
      hi += 1;
    }
  } else if (hi === TWO32 - 1 && lo >= 1) {
    lo -= 1;
    hi = 0;
  }
  out[o] = lo;
  out[o + 1] = hi;
}

function sub64(out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number): void {
  const ao = ai * 2, bo = bi * 2, o = oi * 2;
  let lo = a[ao]! - b[bo]!;
  let br = lo < 0 ? 1 : 0;
  lo += br * TWO32;
  let hi = a[ao + 1]! - b[bo + 1]! - br;
  br = hi < 0 ? 1 : 0;
  hi += br * TWO32;
  if (br === 1) {
    // add p = (2^32 - 1)*2^32 + 1, mod 2^64
    lo += 1;
    const c = lo >= TWO32 ? 1 : 0;
    lo -= c * TWO32;
    hi += TWO32 - 1 + c;
    if (hi >= TWO32) hi -= TWO32;
  }
  out[o] = lo;
  out[o + 1] = hi;
}

export type DotOp = (a: Uint32Array, aOff: number, b: Uint32Array, bOff: number, n: number, out: Uint32Array, oi: number) => void;

export type FieldOp = (out: Uint32Array, oi: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number) => void;

export interface NttTables {
  /** n/2 powers of the principal n-th root of unity (forward transform). */
  readonly fwd: Uint32Array;
  /** n/2 powers of its inverse. */
  readonly inv: Uint32Array;
  /** 1/n. */
  readonly nInv: Uint32Array;
  /** (-1)^(n-1)/n, the common factor of the Lagrange basis at the n-th roots. */
  readonly lagrangeFactor: Uint32Array;
  /** all n powers of the principal n-th root of unity. */
  readonly roots: Uint32Array;
  readonly bitrev: Uint32Array;
}

export class Field {
  /** Uint32 words per element. */
  readonly words: number;
  readonly encodedSize: number;
  readonly modulus: bigint;
  readonly mul: FieldOp;
  readonly add: FieldOp;
  readonly sub: FieldOp;
  /** out[oi] = sum_{i<n} a[aOff+i] * b[bOff+i], reduced once. */
  readonly dot: DotOp;
  private readonly generator: bigint;
  private readonly genOrderLog2: number;
  private readonly nttCache = new Map<number, NttTables>();
  private readonly invCache = new Map<bigint, Uint32Array>();
  readonly modulusWords: Uint32Array;
  /** The element 1. */
  readonly one: Uint32Array;

  constructor(
    readonly name: 'Field64' | 'Field128',
    words: 2 | 4,
    modulus: bigint,
    generatorExp: bigint,
    genOrderLog2: number,
  ) {
    this.words = words;
    this.encodedSize = words * 4;
    this.modulus = modulus;
    this.mul = words === 2 ? mul64 : mul128;
    this.add = words === 2 ? add64 : add128;
    this.sub = words === 2 ? sub64 : sub128;
    this.dot = words === 2 ? dot64 : dot128;
    this.generator = modPow(7n, generatorExp, modulus);
    this.genOrderLog2 = genOrderLog2;
    this.modulusWords = new Uint32Array(words);
    this.setBig(this.modulusWords, 0, modulus, true);
    this.one = this.vec(1);
    this.one[0] = 1;
  }

  vec(n: number): Uint32Array {
    return new Uint32Array(n * this.words);
  }

  /** out[oi] = x mod p (x may be negative). */
  setBig(out: Uint32Array, oi: number, x: bigint, raw = false): void {
    let v = raw ? x : ((x % this.modulus) + this.modulus) % this.modulus;
    const o = oi * this.words;
    for (let i = 0; i < this.words; i++) {
      out[o + i] = Number(v & 0xffffffffn);
      v >>= 32n;
    }
  }

  toBig(v: Uint32Array, i: number): bigint {
    const o = i * this.words;
    let x = 0n;
    for (let k = this.words - 1; k >= 0; k--) x = (x << 32n) | BigInt(v[o + k]!);
    return x;
  }

  /** A one-element vector holding x mod p. */
  elem(x: bigint | number): Uint32Array {
    const e = this.vec(1);
    this.setBig(e, 0, BigInt(x));
    return e;
  }

  setU32(out: Uint32Array, oi: number, x: number): void {
    const o = oi * this.words;
    out[o] = x;
    for (let i = 1; i < this.words; i++) out[o + i] = 0;
  }

  copy(out: Uint32Array, oi: number, a: Uint32Array, ai: number): void {
    const w = this.words;
    const o = oi * w;
    const s = ai * w;
    for (let k = 0; k < w; k++) out[o + k] = a[s + k]!;
  }

  isZero(a: Uint32Array, i: number): boolean {
    const o = i * this.words;
    for (let k = 0; k < this.words; k++) if (a[o + k] !== 0) return false;
    return true;
  }

  equal(a: Uint32Array, ai: number, b: Uint32Array, bi: number): boolean {
    const w = this.words;
    for (let k = 0; k < w; k++) if (a[ai * w + k] !== b[bi * w + k]) return false;
    return true;
  }

  /** Is the element at index i a canonical residue (< p)? */
  isReduced(a: Uint32Array, i: number): boolean {
    const w = this.words;
    const m = this.modulusWords;
    for (let k = w - 1; k >= 0; k--) {
      const x = a[i * w + k]!;
      const y = m[k]!;
      if (x !== y) return x < y;
    }
    return false;
  }

  neg(out: Uint32Array, oi: number, a: Uint32Array, ai: number): void {
    this.sub(out, oi, ZERO, 0, a, ai);
  }

  /** Multiplicative inverse of a constant (BigInt; used only for setup constants). */
  invConst(x: bigint): Uint32Array {
    let c = this.invCache.get(x);
    if (c === undefined) {
      c = this.elem(modPow(((x % this.modulus) + this.modulus) % this.modulus, this.modulus - 2n, this.modulus));
      this.invCache.set(x, c);
    }
    return c;
  }

  inv(out: Uint32Array, oi: number, a: Uint32Array, ai: number): void {
    const x = this.toBig(a, ai);
    if (x === 0n) throw new RangeError('inverse of zero');
    this.setBig(out, oi, modPow(x, this.modulus - 2n, this.modulus));
  }

  /** The little-endian encoding of a vector (a fresh array). */
  encode(v: Uint32Array): Uint8Array {
    const out = new Uint8Array(v.length * 4);
    for (let i = 0, o = 0; i < v.length; i++, o += 4) {
      const w = v[i]!;
      out[o] = w & 0xff;
      out[o + 1] = (w >>> 8) & 0xff;
      out[o + 2] = (w >>> 16) & 0xff;
      out[o + 3] = w >>> 24;
    }
    return out;
  }

  /** Decode a vector; throws RangeError on a bad length or an unreduced element. */
  decode(bytes: Uint8Array): Uint32Array {
    if (bytes.length % this.encodedSize !== 0) throw new RangeError(`${this.name}: encoding length ${bytes.length} is not a multiple of ${this.encodedSize}`);
    const n = bytes.length / this.encodedSize;
    const v = this.vec(n);
    for (let i = 0, o = 0; i < v.length; i++, o += 4) {
      v[i] = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
    }
    for (let i = 0; i < n; i++) if (!this.isReduced(v, i)) throw new RangeError(`${this.name}: element ${i} is not reduced modulo p`);
    return v;
  }

  /** Tables for the radix-2 NTT of size n (n a power of two). */
  ntt(n: number): NttTables {
    let t = this.nttCache.get(n);
    if (t !== undefined) return t;
    const log = Math.log2(n);
    if (!Number.isInteger(log) || log > this.genOrderLog2) throw new RangeError(`NTT size ${n} unsupported`);
    const p = this.modulus;
    const w = modPow(this.generator, 1n << BigInt(this.genOrderLog2 - log), p);
    const wInv = modPow(w, p - 2n, p);
    const roots = this.vec(n);
    const fwd = this.vec(Math.max(1, n / 2));
    const inv = this.vec(Math.max(1, n / 2));
    let x = 1n;
    let y = 1n;
    for (let i = 0; i < n; i++) {
      this.setBig(roots, i, x);
      if (i < n / 2) {
        this.setBig(fwd, i, x);
        this.setBig(inv, i, y);
      }
      x = (x * w) % p;
      y = (y * wInv) % p;
    }
    const bitrev = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < log; b++) if (i & (1 << b)) r |= 1 << (log - 1 - b);
      bitrev[i] = r;
    }
    const nInv = modPow(BigInt(n), p - 2n, p);
    t = { fwd, inv, nInv: this.elem(nInv), lagrangeFactor: this.elem(n % 2 === 0 ? p - nInv : nInv), roots, bitrev };
    this.nttCache.set(n, t);
    return t;
  }

  /** In-place NTT of the first n elements of a (values at the n-th roots from coefficients, or back). */
  transform(a: Uint32Array, n: number, inverse: boolean): void {
    if (n === 1) return;
    const t = this.ntt(n);
    const w = this.words;
    const br = t.bitrev;
    for (let i = 0; i < n; i++) {
      const j = br[i]!;
      if (j > i) {
        for (let k = 0; k < w; k++) {
          const tmp = a[i * w + k]!;
          a[i * w + k] = a[j * w + k]!;
          a[j * w + k] = tmp;
        }
      }
    }
    const tw = inverse ? t.inv : t.fwd;
    const mul = this.mul;
    const add = this.add;
    const sub = this.sub;
    const tmp = SCRATCH;
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >>> 1;
      const step = n / len;
      for (let start = 0; start < n; start += len) {
        for (let j = 0; j < half; j++) {
          const u = start + j;
          const v = u + half;
          mul(tmp, 0, a, v, tw, j * step);
          sub(a, v, a, u, tmp, 0);
          add(a, u, a, u, tmp, 0);
        }
      }
    }
    if (inverse) for (let i = 0; i < n; i++) mul(a, i, a, i, t.nInv, 0);
  }
}

const ZERO = new Uint32Array(4);
const SCRATCH = new Uint32Array(4);

export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

export const Field64 = new Field('Field64', 2, 2n ** 32n * 4294967295n + 1n, 4294967295n, 32);
export const Field128 = new Field('Field128', 4, 2n ** 66n * 4611686018427387897n + 1n, 4611686018427387897n, 66);
