import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Field64, Field128, type Field } from '../src/index.js';

function randomElement(f: Field): bigint {
  const r = BigInt('0x' + randomBytes(f.encodedSize).toString('hex')) % f.modulus;
  // bias towards the edges, where carries and reductions go wrong
  switch (r % 8n) {
    case 0n:
      return f.modulus - 1n - (r % 3n);
    case 1n:
      return r % 3n;
    case 2n:
      return (1n << BigInt(8 * f.encodedSize - 1)) + (r % 1000n);
    default:
      return r;
  }
}

const mod = (f: Field, x: bigint): bigint => ((x % f.modulus) + f.modulus) % f.modulus;

for (const f of [Field64, Field128]) {
  describe(f.name, () => {
    it('add, sub, mul and neg agree with BigInt arithmetic', () => {
      const a = f.vec(1);
      const b = f.vec(1);
      const o = f.vec(1);
      for (let i = 0; i < 20000; i++) {
        const x = randomElement(f);
        const y = randomElement(f);
        f.setBig(a, 0, x);
        f.setBig(b, 0, y);
        f.mul(o, 0, a, 0, b, 0);
        assert.equal(f.toBig(o, 0), mod(f, x * y));
        f.add(o, 0, a, 0, b, 0);
        assert.equal(f.toBig(o, 0), mod(f, x + y));
        f.sub(o, 0, a, 0, b, 0);
        assert.equal(f.toBig(o, 0), mod(f, x - y));
        f.neg(o, 0, a, 0);
        assert.equal(f.toBig(o, 0), mod(f, -x));
      }
    });

    it('lazily reduced dot products agree with BigInt arithmetic', () => {
      for (const n of [0, 1, 5, 64, 3000]) {
        const a = f.vec(n);
        const b = f.vec(n);
        let expected = 0n;
        for (let i = 0; i < n; i++) {
          const x = randomElement(f);
          const y = randomElement(f);
          f.setBig(a, i, x);
          f.setBig(b, i, y);
          expected += x * y;
        }
        const o = f.vec(1);
        f.dot(a, 0, b, 0, n, o, 0);
        assert.equal(f.toBig(o, 0), mod(f, expected), `n = ${n}`);
      }
    });

    it('inverts and has roots of unity of every power-of-two order it needs', () => {
      const x = f.elem(randomElement(f) || 1n);
      const inv = f.vec(1);
      f.inv(inv, 0, x, 0);
      f.mul(inv, 0, inv, 0, x, 0);
      assert.equal(f.toBig(inv, 0), 1n);
      const w = f.ntt(1024).roots;
      let acc = 1n;
      for (let i = 0; i < 512; i++) acc = (acc * f.toBig(w, 1)) % f.modulus;
      assert.equal(acc, f.modulus - 1n, 'w^(n/2) = -1');
    });

    it('NTT evaluates polynomials at the roots of unity and inverts', () => {
      const n = 32;
      const coeffs = f.vec(n);
      for (let i = 0; i < n; i++) f.setBig(coeffs, i, randomElement(f));
      const values = coeffs.slice();
      f.transform(values, n, false);
      const roots = f.ntt(n).roots;
      for (const k of [0, 1, 7, 31]) {
        let v = 0n;
        let xp = 1n;
        for (let i = 0; i < n; i++) {
          v = (v + f.toBig(coeffs, i) * xp) % f.modulus;
          xp = (xp * f.toBig(roots, k)) % f.modulus;
        }
        assert.equal(f.toBig(values, k), v);
      }
      f.transform(values, n, true);
      assert.deepEqual(values, coeffs);
    });

    it('encodes little-endian and rejects unreduced or truncated encodings', () => {
      const v = f.vec(2);
      f.setBig(v, 0, 1n);
      f.setBig(v, 1, f.modulus - 1n);
      const bytes = f.encode(v);
      assert.equal(bytes.length, 2 * f.encodedSize);
      assert.equal(bytes[0], 1);
      assert.deepEqual(f.decode(bytes), v);
      // second element = p itself (little-endian)
      const unreduced = bytes.slice();
      for (let i = 0; i < f.encodedSize; i++) unreduced[f.encodedSize + i] = Number((f.modulus >> BigInt(8 * i)) & 0xffn);
      assert.throws(() => f.decode(unreduced), RangeError);
      assert.throws(() => f.decode(bytes.subarray(1)), RangeError);
    });
  });
}
