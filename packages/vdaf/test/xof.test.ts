import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Field128, XofFixedKeyAes128, XofTurboShake128, turboShake128, type Generation } from '../src/index.js';
import { hex, loadVector, unhex } from './vectors.js';

interface XofVector {
  seed: string;
  dst: string;
  binder: string;
  length: number;
  derived_seed: string;
  expanded_vec_field128: string;
}

const cases: [Generation, string][] = [
  ['draft-08', 'draft-08'],
  ['draft-20', 'draft-20'],
];

describe('XOF test vectors', () => {
  for (const [gen, dir] of cases) {
    it(`XofTurboShake128 ${gen}`, () => {
      const v = loadVector(dir, 'XofTurboShake128.json') as unknown as XofVector;
      const seed = unhex(v.seed);
      const derived = new XofTurboShake128(gen, seed, unhex(v.dst), unhex(v.binder)).next(seed.length);
      assert.equal(hex(derived), v.derived_seed);
      const vec = new XofTurboShake128(gen, seed, unhex(v.dst), unhex(v.binder)).nextVec(Field128, v.length);
      assert.equal(hex(Field128.encode(vec)), v.expanded_vec_field128);
    });
    it(`XofFixedKeyAes128 ${gen}`, () => {
      const v = loadVector(dir, 'XofFixedKeyAes128.json') as unknown as XofVector;
      const derived = new XofFixedKeyAes128(gen, unhex(v.seed), unhex(v.dst), unhex(v.binder)).next(16);
      assert.equal(hex(derived), v.derived_seed);
      const vec = new XofFixedKeyAes128(gen, unhex(v.seed), unhex(v.dst), unhex(v.binder)).nextVec(Field128, v.length);
      assert.equal(hex(Field128.encode(vec)), v.expanded_vec_field128);
    });
  }
  it('TurboSHAKE128 matches RFC 9861 examples', () => {
    // RFC 9861 section 5: TurboSHAKE128(M=`00`^0, D=`1F`, 32).
    assert.equal(hex(turboShake128(new Uint8Array(0), 0x1f, 32)), '1e415f1c5983aff2169217277d17bb538cd945a397ddec541f1ce41af2c1b74c');
  });
});
