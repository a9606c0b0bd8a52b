import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  prio3Count,
  prio3HigherDegree,
  prio3Histogram,
  prio3MultiHotHistogram08,
  prio3MultihotCountVec,
  prio3Sum,
  prio3SumVec,
  prio3SumVecMax,
  type Prio3,
  type Prio3OutputShare,
  type Prio3PrepState,
  VdafError,
} from '../src/index.js';
import { hex, listVectors, loadVector, unhex } from './vectors.js';

type AnyPrio3 = Prio3<unknown, unknown>;
type Json = Record<string, unknown>;

function variantOf(name: string): string {
  return name.replace(/_[^_]*\.json$/, '').replace(/_bad_.*$/, '');
}

/** Number of proofs of a multiproof vector, read off the leader input share length. */
function proofsFromLeaderShare(make: (proofs: number) => AnyPrio3, leaderShareHex: string): number {
  for (let p = 2; p < 16; p++) if (make(p).inputShareSize(0) === leaderShareHex.length / 2) return p;
  throw new Error('cannot infer the number of proofs');
}

function instantiate(dir: string, name: string, v: Json, leaderShareHex: string): AnyPrio3 {
  const variant = variantOf(name);
  const numShares = v.shares as number;
  const gen = dir === 'draft-08' ? 'draft-08' : 'draft-20';
  const n = (k: string): number => v[k] as number;
  switch (variant) {
    case 'Prio3Count':
      return prio3Count(gen, { numShares }) as AnyPrio3;
    case 'Prio3Sum':
      return (gen === 'draft-08' ? prio3Sum(gen, { bits: n('bits'), numShares }) : prio3Sum(gen, { maxMeasurement: n('max_measurement'), numShares })) as AnyPrio3;
    case 'Prio3SumVec':
      return (gen === 'draft-08'
        ? prio3SumVec(gen, { length: n('length'), bits: n('bits'), chunkLength: n('chunk_length'), numShares })
        : prio3SumVecMax({ length: n('length'), maxMeasurement: n('max_measurement'), chunkLength: n('chunk_length'), numShares })) as AnyPrio3;
    case 'Prio3SumVecWithMultiproof': {
      const make = (numProofs: number): AnyPrio3 =>
        (gen === 'draft-08'
          ? prio3SumVec(gen, { length: n('length'), bits: n('bits'), chunkLength: n('chunk_length'), numShares, numProofs })
          : prio3SumVecMax({ length: n('length'), maxMeasurement: n('max_measurement'), chunkLength: n('chunk_length'), numShares, numProofs })) as AnyPrio3;
      return make(proofsFromLeaderShare(make, leaderShareHex));
    }
    case 'Prio3Histogram':
      return prio3Histogram(gen, { length: n('length'), chunkLength: n('chunk_length'), numShares }) as AnyPrio3;
    case 'Prio3MultiHotHistogram':
      return prio3MultiHotHistogram08({ length: n('length'), maxCount: n('max_count'), chunkLength: n('chunk_length'), numShares }) as AnyPrio3;
    case 'Prio3MultihotCountVec':
      return prio3MultihotCountVec('draft-20', { length: n('length'), maxWeight: n('max_weight'), chunkLength: n('chunk_length'), numShares }) as AnyPrio3;
    case 'Prio3HigherDegree':
      return prio3HigherDegree({ numShares }) as AnyPrio3;
    default:
      throw new Error(`no Prio3 variant for ${name}`);
  }
}

function sameResult(actual: unknown, expected: unknown): void {
  const norm = (x: unknown): unknown => (Array.isArray(x) ? x.map(norm) : typeof x === 'number' || typeof x === 'bigint' ? BigInt(x) : x);
  assert.deepEqual(norm(actual), norm(expected));
}

/** Every message of a report decodes and re-encodes to the same bytes. */
function checkCodecs(prio3: AnyPrio3, r: Json, prepShares: string[] | undefined, prepMessage: string | undefined): void {
  const publicShare = unhex(r.public_share as string);
  assert.equal(hex(prio3.encodePublicShare(prio3.decodePublicShare(publicShare))), r.public_share);
  (r.input_shares as string[]).forEach((s, j) => {
    assert.equal(hex(prio3.encodeInputShare(prio3.decodeInputShare(j, unhex(s)))), s, `input share ${j}`);
  });
  for (const ps of prepShares ?? []) assert.equal(hex(prio3.encodePrepShare(prio3.decodePrepShare(unhex(ps)))), ps);
  if (prepMessage !== undefined) assert.equal(hex(prio3.encodePrepMessage(prio3.decodePrepMessage(unhex(prepMessage)))), prepMessage);
}

function runDraft08(name: string, v: Json): void {
  const reports = v.prep as Json[];
  const prio3 = instantiate('draft-08', name, v, (reports[0]!.input_shares as string[])[0]!);
  const verifyKey = unhex(v.verify_key as string);
  const outShares: Prio3OutputShare[][] = Array.from({ length: prio3.shares }, () => []);
  for (const r of reports) {
    checkCodecs(prio3, r, (r.prep_shares as string[][])[0], (r.prep_messages as string[])[0]);
    const nonce = unhex(r.nonce as string);
    const { publicShare, inputShares } = prio3.shard(r.measurement, nonce, unhex(r.rand as string));
    assert.equal(hex(publicShare), r.public_share);
    assert.deepEqual(inputShares.map(hex), r.input_shares);
    const inits = inputShares.map((s, j) => prio3.prepInit(verifyKey, j, nonce, publicShare, s));
    assert.deepEqual(inits.map((x) => hex(x.prepShare)), (r.prep_shares as string[][])[0]);
    const msg = prio3.prepSharesToPrep(inits.map((x) => x.prepShare));
    assert.equal(hex(msg), (r.prep_messages as string[])[0]);
    inits.forEach((x, j) => {
      const state = prio3.decodePrepState(j, prio3.encodePrepState(x.state));
      const out = prio3.prepNext(state, msg);
      assert.equal(hex(prio3.encodeOutputShare(out)), (r.out_shares as string[][])[j]!.join(''));
      outShares[j]!.push(out);
    });
  }
  const aggShares = outShares.map((o) => prio3.encodeAggregateShare(prio3.aggregate(o)));
  assert.deepEqual(aggShares.map(hex), v.agg_shares);
  sameResult(prio3.unshard(aggShares, reports.length), v.agg_result);
}

interface Operation {
  operation: string;
  aggregator_id?: number;
  report_index?: number;
  round?: number;
  success: boolean;
}

function runDraft20(name: string, v: Json): void {
  const reports = v.reports as Json[];
  const prio3 = instantiate('draft-20', name, v, (reports[0]!.input_shares as string[])[0]!);
  const verifyKey = unhex(v.verify_key as string);
  const ctx = unhex(v.ctx as string);
  const states = new Map<string, Prio3PrepState>();
  const prepShares = new Map<number, Uint8Array[]>();
  const outShares: Prio3OutputShare[][] = Array.from({ length: prio3.shares }, () => []);
  for (const r of reports) {
    const given = (r.verifier_shares as string[][])[0];
    checkCodecs(prio3, r, given?.length === prio3.shares ? given : undefined, (r.verifier_messages as string[])[0]);
  }
  const expectOutcome = (op: Operation, fn: () => void): void => {
    if (op.success) fn();
    else assert.throws(fn, VdafError, `${op.operation} must fail`);
  };
  for (const op of v.operations as Operation[]) {
    const r = reports[op.report_index ?? 0]!;
    const nonce = unhex(r.nonce as string);
    const j = op.aggregator_id ?? 0;
    switch (op.operation) {
      case 'shard':
        expectOutcome(op, () => {
          const { publicShare, inputShares } = prio3.shard(r.measurement, nonce, unhex(r.rand as string), ctx);
          assert.equal(hex(publicShare), r.public_share);
          assert.deepEqual(inputShares.map(hex), r.input_shares);
        });
        break;
      case 'verify_init':
        expectOutcome(op, () => {
          const init = prio3.prepInit(verifyKey, j, nonce, unhex(r.public_share as string), unhex((r.input_shares as string[])[j]!), ctx);
          const expected = (r.verifier_shares as string[][])[0];
          if (expected && expected[j] !== undefined) assert.equal(hex(init.prepShare), expected[j]);
          states.set(`${op.report_index}/${j}`, init.state);
          const list = prepShares.get(op.report_index!) ?? [];
          list[j] = init.prepShare;
          prepShares.set(op.report_index!, list);
        });
        break;
      case 'verifier_shares_to_message':
        expectOutcome(op, () => {
          const given = (r.verifier_shares as string[][])[0]!;
          const shares = given.length === prio3.shares ? given.map(unhex) : prepShares.get(op.report_index!)!;
          const msg = prio3.prepSharesToPrep(shares, ctx);
          assert.equal(hex(msg), (r.verifier_messages as string[])[0]);
        });
        break;
      case 'verify_next':
        expectOutcome(op, () => {
          const state = prio3.decodePrepState(j, prio3.encodePrepState(states.get(`${op.report_index}/${j}`)!));
          const out = prio3.prepNext(state, unhex((r.verifier_messages as string[])[0]!));
          assert.equal(hex(prio3.encodeOutputShare(out)), (r.out_shares as string[])[j]);
          outShares[j]!.push(out);
        });
        break;
      case 'aggregate':
        expectOutcome(op, () => {
          assert.equal(hex(prio3.encodeAggregateShare(prio3.aggregate(outShares[j]!))), (v.agg_shares as string[])[j]);
        });
        break;
      case 'unshard':
        expectOutcome(op, () => {
          sameResult(prio3.unshard((v.agg_shares as string[]).map(unhex), reports.length), v.agg_result);
        });
        break;
      default:
        throw new Error(`unknown operation ${op.operation}`);
    }
  }
}

describe('Prio3 official test vectors, draft-08', () => {
  const files = listVectors('draft-08', 'Prio3');
  it('finds the vector files', () => assert.ok(files.length >= 11));
  for (const name of files) it(name, () => runDraft08(name, loadVector('draft-08', name)));
});

describe('Prio3 official test vectors, draft-20', () => {
  const files = listVectors('draft-20/vdaf', 'Prio3');
  it('finds the vector files', () => assert.ok(files.length >= 24));
  for (const name of files) it(name, () => runDraft20(name, loadVector('draft-20/vdaf', name)));
});
