import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Field64 } from '../src/field.js';
import { type Circuit, type Gadget, type Recorder, Flp, PolyEval } from '../src/flp.js';
import { Prio3, randomBytes, VdafError } from '../src/index.js';

/**
 * Three values, each in {0, 1, 2}: a degree-3 gadget called three times, so the gadget polynomial has
 * 10 values in a domain of 16 and the verifier must extend it by 6 values (the general path; the official
 * vectors only need one extra value).
 */
class ThreeRanges implements Circuit<number[], number[]> {
  readonly field = Field64;
  readonly gadgets: Gadget[] = [new PolyEval(Field64, [0, 2, -3, 1])];
  readonly calls = [3];
  readonly measLen = 3;
  readonly outputLen = 3;
  readonly jointRandLen = 0;
  readonly evalOutputLen = 3;
  encode(m: number[]): Uint32Array {
    const v = this.field.vec(3);
    m.forEach((x, i) => this.field.setBig(v, i, BigInt(x)));
    return v;
  }
  truncate(meas: Uint32Array): Uint32Array {
    return meas.slice();
  }
  decode(agg: Uint32Array): number[] {
    return [0, 1, 2].map((i) => Number(this.field.toBig(agg, i)));
  }
  eval(meas: Uint32Array, _jr: Uint32Array, _o: number, _s: number, rec: Recorder): Uint32Array {
    const out = this.field.vec(3);
    for (let k = 0; k < 3; k++) {
      this.field.copy(rec.wires[0]![0]!, k + 1, meas, k);
      rec.output(0, k + 1, out, k);
    }
    return out;
  }
}

describe('FLP with a degree-3 gadget called several times (draft-20 proof form)', () => {
  const flp = new Flp('draft-20', new ThreeRanges());
  const f = Field64;
  const rand = (n: number): Uint32Array => {
    const v = f.vec(n);
    for (let i = 0; i < n; i++) f.setBig(v, i, BigInt('0x' + Buffer.from(randomBytes(8)).toString('hex')));
    return v;
  };

  it('accepts valid measurements and rejects invalid ones', () => {
    for (const [m, valid] of [
      [[0, 1, 2], true],
      [[2, 2, 0], true],
      [[3, 0, 1], false],
      [[0, 1, 5], false],
    ] as [number[], boolean][]) {
      const meas = flp.circuit.encode(m);
      const proof = f.vec(flp.proofLen);
      flp.prove(meas, rand(flp.proveRandLen), 0, f.vec(0), 0, proof, 0);
      const verifier = flp.query(meas, proof, 0, rand(flp.queryRandLen), 0, f.vec(0), 0, 1);
      assert.equal(flp.decide(verifier, 0), valid, JSON.stringify(m));
    }
  });

  it('works end to end in Prio3 with three aggregators', () => {
    const p = new Prio3('draft-20', 0xffffffff, new ThreeRanges(), { numShares: 3 });
    const key = randomBytes(p.verifyKeySize);
    const run = (m: number[]): number[] => {
      const r = p.shardRandom(m);
      const inits = r.inputShares.map((s, j) => p.prepInit(key, j, r.nonce, r.publicShare, s));
      const msg = p.prepSharesToPrep(inits.map((i) => i.prepShare));
      const outs = inits.map((i) => p.encodeAggregateShare(p.aggregate([p.prepNext(i.state, msg)])));
      return p.unshard(outs, 1);
    };
    assert.deepEqual(run([2, 0, 1]), [2, 0, 1]);
    assert.throws(() => run([2, 0, 3]), VdafError);
  });
});
