// The README's examples, asserted (keep them in sync with packages/vdaf/README.md).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { prio3Count, prio3Sum, prio3SumVec, prio3Histogram, prio3MultihotCountVec, randomBytes, type Prio3 } from '../src/index.js';
function run<M, R>(vdaf: Prio3<M, R>, measurements: M[], ctx = new Uint8Array(0)): R {
  const verifyKey = randomBytes(vdaf.verifyKeySize);
  const outShares = Array.from({ length: vdaf.shares }, () => [] as ReturnType<typeof vdaf.prepNext>[]);
  for (const m of measurements) {
    const nonce = randomBytes(vdaf.nonceSize);
    const { publicShare, inputShares } = vdaf.shard(m, nonce, randomBytes(vdaf.randSize), ctx);
    const inits = inputShares.map((share, aggId) => vdaf.prepInit(verifyKey, aggId, nonce, publicShare, share, ctx));
    const prepMessage = vdaf.prepSharesToPrep(inits.map((i) => i.prepShare), ctx);
    inits.forEach((i, aggId) => outShares[aggId]!.push(vdaf.prepNext(i.state, prepMessage)));
  }
  const aggShares = outShares.map((shares) => vdaf.encodeAggregateShare(vdaf.aggregate(shares)));
  return vdaf.unshard(aggShares, measurements.length);
}

it('README examples produce the documented results', () => {
  assert.equal(run(prio3Count('draft-08'), [true, false, true]), 2);
  assert.equal(run(prio3Count('draft-20'), [1, 1, 0], new TextEncoder().encode('dap-18 task')), 2);
  assert.equal(run(prio3Sum('draft-08', { bits: 32 }), [7, 100_000]), 100007);
  assert.equal(run(prio3Sum('draft-20', { maxMeasurement: 1000 }), [999, 1]), 1000);
  assert.deepEqual(run(prio3SumVec('draft-08', { length: 3, bits: 8, chunkLength: 5 }), [[1, 2, 3], [10, 20, 30]]), [11, 22, 33]);
  assert.deepEqual(run(prio3Histogram('draft-20', { length: 4, chunkLength: 2 }), [0, 3, 3]), [1, 0, 0, 2]);
  assert.deepEqual(
    run(prio3MultihotCountVec('draft-20', { length: 4, maxWeight: 2, chunkLength: 2 }), [
      [true, false, true, false],
      [false, false, true, false],
    ]),
    [1, 0, 2, 0],
  );
});
