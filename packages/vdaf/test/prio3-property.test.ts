import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  prio3Count,
  prio3Histogram,
  prio3MultihotCountVec,
  prio3Sum,
  prio3SumVec,
  randomBytes as vdafRandomBytes,
  type Generation,
  type Prio3,
  VdafError,
} from '../src/index.js';

type AnyPrio3 = Prio3<unknown, unknown>;

interface Variant {
  name: string;
  make: (numShares: number) => AnyPrio3;
  measurement: () => unknown;
  /** The aggregate the collector must get for these measurements. */
  expected: (ms: unknown[]) => unknown;
  usesJointRand: boolean;
}

const big = (x: unknown): unknown => (Array.isArray(x) ? x.map(big) : typeof x === 'number' || typeof x === 'bigint' ? BigInt(x) : x);
const sumVectors = (ms: unknown[], len: number): bigint[] =>
  ms.reduce<bigint[]>((acc, m) => acc.map((a, i) => a + BigInt((m as (number | bigint | boolean)[])[i] as number | bigint)), Array<bigint>(len).fill(0n));

function variants(gen: Generation): Variant[] {
  const list: Variant[] = [
    {
      name: 'Count',
      make: (numShares) => prio3Count(gen, { numShares }) as AnyPrio3,
      measurement: () => randomInt(2) === 1,
      expected: (ms) => BigInt(ms.filter((m) => m === true).length),
      usesJointRand: false,
    },
    {
      name: 'Sum',
      make: (numShares) => (gen === 'draft-08' ? prio3Sum(gen, { bits: 16, numShares }) : prio3Sum(gen, { maxMeasurement: 50000, numShares })) as AnyPrio3,
      measurement: () => randomInt(50001),
      expected: (ms) => ms.reduce<bigint>((a, m) => a + BigInt(m as number), 0n),
      usesJointRand: gen === 'draft-08',
    },
    {
      name: 'SumVec',
      make: (numShares) => prio3SumVec(gen, { length: 12, bits: 5, chunkLength: 7, numShares }) as AnyPrio3,
      measurement: () => Array.from({ length: 12 }, () => randomInt(32)),
      expected: (ms) => sumVectors(ms, 12),
      usesJointRand: true,
    },
    {
      name: 'SumVec multiproof (Field64, 3 proofs)',
      make: (numShares) => prio3SumVec(gen, { length: 6, bits: 3, chunkLength: 4, numProofs: 3, numShares }) as AnyPrio3,
      measurement: () => Array.from({ length: 6 }, () => randomInt(8)),
      expected: (ms) => sumVectors(ms, 6),
      usesJointRand: true,
    },
    {
      name: 'Histogram',
      make: (numShares) => prio3Histogram(gen, { length: 17, chunkLength: 4, numShares }) as AnyPrio3,
      measurement: () => randomInt(17),
      expected: (ms) => Array.from({ length: 17 }, (_, i) => BigInt(ms.filter((m) => m === i).length)),
      usesJointRand: true,
    },
  ];
  if (gen === 'draft-20') {
    list.push({
      name: 'MultihotCountVec',
      make: (numShares) => prio3MultihotCountVec(gen, { length: 9, maxWeight: 3, chunkLength: 3, numShares }) as AnyPrio3,
      measurement: () => {
        const m = Array<boolean>(9).fill(false);
        for (let k = randomInt(4); k > 0; k--) m[randomInt(9)] = true;
        return m;
      },
      expected: (ms) => sumVectors(ms.map((m) => (m as boolean[]).map(Number)), 9),
      usesJointRand: true,
    });
  }
  return list;
}

interface Report {
  nonce: Uint8Array;
  publicShare: Uint8Array;
  inputShares: Uint8Array[];
}

const ctx = new TextEncoder().encode('cobble property test');

/** Run preparation of one report by all aggregators; returns encoded output shares or throws VdafError. */
function prepare(p: AnyPrio3, verifyKey: Uint8Array, r: Report): Uint8Array[] {
  const inits = r.inputShares.map((s, j) => p.prepInit(verifyKey, j, r.nonce, r.publicShare, s, ctx));
  const msg = p.prepSharesToPrep(
    inits.map((x) => x.prepShare),
    ctx,
  );
  return inits.map((x, j) => {
    const state = p.decodePrepState(j, p.encodePrepState(x.state));
    return p.encodeOutputShare(p.prepNext(state, msg));
  });
}

function flipByte(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at]! ^= 1 << randomInt(8);
  return c;
}

for (const gen of ['draft-08', 'draft-20'] as const) {
  describe(`Prio3 properties, ${gen}`, () => {
    for (const v of variants(gen)) {
      for (const numShares of [2, 3]) {
        it(`${v.name} (${numShares} shares): random measurements aggregate to the true result`, () => {
          const p = v.make(numShares);
          const verifyKey = vdafRandomBytes(p.verifyKeySize);
          const ms = Array.from({ length: 6 }, () => v.measurement());
          const outs: Uint8Array[][] = Array.from({ length: numShares }, () => []);
          for (const m of ms) {
            const r = p.shardRandom(m, undefined, ctx);
            prepare(p, verifyKey, r).forEach((o, j) => outs[j]!.push(o));
          }
          const aggShares = outs.map((os, j) => {
            // merge two partial aggregates to exercise mergeAggregateShares
            const half = Math.floor(os.length / 2);
            const a = p.aggregate(os.slice(0, half).map((o) => p.decodeOutputShare(o)));
            const b = p.aggregate(os.slice(half).map((o) => p.decodeOutputShare(o)));
            const merged = p.encodeAggregateShare(p.mergeAggregateShares(a, b));
            assert.equal(merged.length, p.encodeAggregateShare(a).length, `aggregator ${j}`);
            return merged;
          });
          assert.deepEqual(big(p.unshard(aggShares, ms.length)), big(v.expected(ms)));
        });
      }

      it(`${v.name}: tampered input shares, proofs and public shares are rejected`, () => {
        const p = v.make(2);
        const verifyKey = vdafRandomBytes(p.verifyKeySize);
        const field = p.field.encodedSize;
        const measBytes = p.flp.measLen * field;
        const proofBytes = p.flp.proofLen * p.proofs * field;
        const cases: [string, (r: Report) => Report][] = [
          ['leader measurement share', (r) => ({ ...r, inputShares: [flipByte(r.inputShares[0]!, randomInt(measBytes)), r.inputShares[1]!] })],
          ['leader proof share', (r) => ({ ...r, inputShares: [flipByte(r.inputShares[0]!, measBytes + randomInt(proofBytes)), r.inputShares[1]!] })],
          ['helper seed', (r) => ({ ...r, inputShares: [r.inputShares[0]!, flipByte(r.inputShares[1]!, randomInt(p.seedSize))] })],
          ['nonce (aggregators disagree)', (r) => ({ ...r, nonce: flipByte(r.nonce, randomInt(16)) })],
        ];
        if (v.usesJointRand) {
          cases.push(['public share', (r) => ({ ...r, publicShare: flipByte(r.publicShare, randomInt(r.publicShare.length)) })]);
          cases.push(['leader blind', (r) => ({ ...r, inputShares: [flipByte(r.inputShares[0]!, measBytes + proofBytes + randomInt(p.seedSize)), r.inputShares[1]!] })]);
        }
        for (const [what, tamper] of cases) {
          for (let trial = 0; trial < 3; trial++) {
            const r = p.shardRandom(v.measurement(), undefined, ctx);
            assert.doesNotThrow(() => prepare(p, verifyKey, r), 'untampered report is accepted');
            const bad = tamper(r);
            if (what.startsWith('nonce')) {
              // Only the helper sees the altered nonce: the aggregators' query randomness differs.
              assert.throws(() => {
                const a = p.prepInit(verifyKey, 0, r.nonce, r.publicShare, r.inputShares[0]!, ctx);
                const b = p.prepInit(verifyKey, 1, bad.nonce, r.publicShare, r.inputShares[1]!, ctx);
                const msg = p.prepSharesToPrep([a.prepShare, b.prepShare], ctx);
                p.prepNext(a.state, msg);
                p.prepNext(b.state, msg);
              }, VdafError, `${what} must be rejected`);
            } else {
              assert.throws(() => prepare(p, verifyKey, bad), VdafError, `${what} must be rejected`);
            }
          }
        }
      });
    }

    it(gen === 'draft-08' ? 'ignores the application context (draft-08 has none)' : 'binds the application context: a report sharded for another context is rejected', () => {
      const hist = prio3Histogram(gen, { length: 5, chunkLength: 2 });
      const count = prio3Count(gen);
      const other = new TextEncoder().encode('another task');
      for (const p of [hist, count] as AnyPrio3[]) {
        const key = vdafRandomBytes(p.verifyKeySize);
        const r = p.shardRandom(p === count ? true : 3, undefined, ctx);
        const run = (): void => {
          const inits = r.inputShares.map((s, j) => p.prepInit(key, j, r.nonce, r.publicShare, s, other));
          const msg = p.prepSharesToPrep(
            inits.map((i) => i.prepShare),
            other,
          );
          inits.forEach((i) => p.prepNext(i.state, msg));
        };
        if (gen === 'draft-08') assert.doesNotThrow(run);
        else assert.throws(run, VdafError);
      }
    });

    it('rejects invalid measurements and malformed messages', () => {
      const count = prio3Count(gen);
      assert.throws(() => count.shard(2 as unknown as boolean, randomBytes(16), vdafRandomBytes(count.randSize)), VdafError);
      const hist = prio3Histogram(gen, { length: 4, chunkLength: 2 });
      assert.throws(() => hist.shard(4, randomBytes(16), vdafRandomBytes(hist.randSize)), VdafError);
      const r = hist.shardRandom(1);
      const key = vdafRandomBytes(hist.verifyKeySize);
      assert.throws(() => hist.prepInit(key, 0, r.nonce, r.publicShare, r.inputShares[0]!.subarray(1)), VdafError);
      assert.throws(() => hist.prepInit(key, 2, r.nonce, r.publicShare, r.inputShares[1]!), VdafError);
      // an unreduced field element in the leader share
      const unreduced = r.inputShares[0]!.slice();
      unreduced.fill(0xff, 0, 16);
      assert.throws(() => hist.prepInit(key, 0, r.nonce, r.publicShare, unreduced), VdafError);
      assert.throws(() => hist.decodeAggregateShare(new Uint8Array(3)), VdafError);
    });
  });
}
