// @cobble/vdaf: Prio3 (VDAF-08 and VDAF-20) with its fields, XOFs and FLP. Pure computation, no I/O.
import {
  CountCircuit,
  HigherDegreeCircuit,
  HistogramCircuit,
  MultiHotHistogramCircuit,
  MultihotCountVecCircuit,
  SumCircuit,
  SumVecCircuit,
} from './circuits.js';
import { Field64, Field128 } from './field.js';
import { Prio3 } from './prio3.js';
import type { Generation } from './xof.js';

export { concat, equalBytes } from './bytes.js';
export { Field, Field64, Field128 } from './field.js';
export { TurboShake128, turboShake128 } from './keccak.js';
export { XofTurboShake128, XofFixedKeyAes128, type Generation } from './xof.js';
export {
  Prio3,
  VdafError,
  type Prio3PrepState,
  type Prio3OutputShare,
  type Prio3AggregateShare,
  type Prio3InputShare,
  type Prio3PrepShare,
} from './prio3.js';

/** Private-use codepoint of the test-only variants. */
export const TEST_ALGORITHM_ID = 0xffffffff;

function checkGeneration(g: Generation): void {
  if (g !== 'draft-08' && g !== 'draft-20') throw new RangeError(`unknown VDAF generation ${String(g)}`);
}

function positiveInt(x: number, name: string): number {
  if (!Number.isSafeInteger(x) || x <= 0) throw new RangeError(`${name} must be a positive integer`);
  return x;
}

export { randomBytes } from './random.js';
export * from './dp.js';

/** Prio3Count: measurements 0/1 (or booleans); result: number of ones. Field64. */
export function prio3Count(generation: Generation, opts: { numShares?: number } = {}): Prio3<boolean | number, number> {
  checkGeneration(generation);
  return new Prio3(generation, generation === 'draft-08' ? 0 : 1, new CountCircuit(Field64), opts);
}

/**
 * Prio3Sum. VDAF-08: `bits` (measurements in [0, 2^bits), Field128). VDAF-20: `maxMeasurement`
 * (measurements in [0, maxMeasurement], Field64). Result: number if it is a safe integer, else bigint.
 */
export function prio3Sum(
  generation: Generation,
  opts: { bits: number; numShares?: number } | { maxMeasurement: number | bigint; numShares?: number },
): Prio3<number | bigint, number | bigint> {
  checkGeneration(generation);
  if (generation === 'draft-08') {
    if (!('bits' in opts)) throw new RangeError('Prio3Sum at draft-08 takes { bits }');
    return new Prio3(generation, 1, new SumCircuit(Field128, true, BigInt(positiveInt(opts.bits, 'bits'))), opts);
  }
  if (!('maxMeasurement' in opts)) throw new RangeError('Prio3Sum at draft-20 takes { maxMeasurement }');
  const max = BigInt(opts.maxMeasurement);
  if (max <= 0n) throw new RangeError('maxMeasurement must be positive');
  return new Prio3(generation, 2, new SumCircuit(Field64, false, max), opts);
}

/**
 * Prio3SumVec: vectors of `length` integers, each in [0, 2^bits) (i.e. maxMeasurement = 2^bits - 1 at
 * draft-20). Field128 with one proof; with `numProofs` > 1 it is the test-only SumVecWithMultiproof on
 * Field64 (codepoint 0xFFFFFFFF). Results: number per entry if safe, else bigint.
 */
export function prio3SumVec(
  generation: Generation,
  opts: { length: number; bits: number; chunkLength: number; numProofs?: number; numShares?: number },
): Prio3<(number | bigint)[], (number | bigint)[]> {
  checkGeneration(generation);
  const proofs = opts.numProofs ?? 1;
  const multiproof = proofs > 1;
  const field = multiproof ? Field64 : Field128;
  const bits = positiveInt(opts.bits, 'bits');
  const draft08 = generation === 'draft-08';
  const param = draft08 ? BigInt(bits) : (1n << BigInt(bits)) - 1n;
  const id = multiproof ? TEST_ALGORITHM_ID : draft08 ? 2 : 3;
  const circuit = new SumVecCircuit(field, draft08, positiveInt(opts.length, 'length'), param, positiveInt(opts.chunkLength, 'chunkLength'));
  return new Prio3(generation, id, circuit, { numShares: opts.numShares, numProofs: proofs });
}

/** Prio3SumVec at draft-20 with an arbitrary maxMeasurement (not only 2^bits - 1). */
export function prio3SumVecMax(
  opts: { length: number; maxMeasurement: number | bigint; chunkLength: number; numProofs?: number; numShares?: number },
): Prio3<(number | bigint)[], (number | bigint)[]> {
  const proofs = opts.numProofs ?? 1;
  const field = proofs > 1 ? Field64 : Field128;
  const circuit = new SumVecCircuit(field, false, positiveInt(opts.length, 'length'), BigInt(opts.maxMeasurement), positiveInt(opts.chunkLength, 'chunkLength'));
  return new Prio3('draft-20', proofs > 1 ? TEST_ALGORITHM_ID : 3, circuit, { numShares: opts.numShares, numProofs: proofs });
}

/** Prio3Histogram: a bucket index in [0, length); result: count per bucket. Field128. */
export function prio3Histogram(generation: Generation, opts: { length: number; chunkLength: number; numShares?: number }): Prio3<number, number[]> {
  checkGeneration(generation);
  const circuit = new HistogramCircuit(Field128, generation === 'draft-08', positiveInt(opts.length, 'length'), positiveInt(opts.chunkLength, 'chunkLength'));
  return new Prio3(generation, generation === 'draft-08' ? 3 : 4, circuit, opts);
}

/** Prio3MultihotCountVec (draft-20): booleans with at most maxWeight true; result: count per entry. */
export function prio3MultihotCountVec(
  generation: 'draft-20',
  opts: { length: number; maxWeight: number; chunkLength: number; numShares?: number },
): Prio3<boolean[], number[]> {
  if (generation !== 'draft-20') throw new RangeError('Prio3MultihotCountVec exists only at draft-20');
  const circuit = new MultihotCountVecCircuit(Field128, positiveInt(opts.length, 'length'), positiveInt(opts.maxWeight, 'maxWeight'), positiveInt(opts.chunkLength, 'chunkLength'));
  return new Prio3(generation, 5, circuit, opts);
}

/** Test-only Prio3MultiHotHistogram of draft-08 (codepoint 0xFFFFFFFF). */
export function prio3MultiHotHistogram08(opts: { length: number; maxCount: number; chunkLength: number; numShares?: number }): Prio3<(number | boolean)[], number[]> {
  const circuit = new MultiHotHistogramCircuit(Field128, positiveInt(opts.length, 'length'), positiveInt(opts.maxCount, 'maxCount'), positiveInt(opts.chunkLength, 'chunkLength'));
  return new Prio3('draft-08', TEST_ALGORITHM_ID, circuit, opts);
}

/** Test-only Prio3HigherDegree of draft-20 (codepoint 0xFFFFFFFF): valid measurements are 0, 1, 2. */
export function prio3HigherDegree(opts: { numShares?: number } = {}): Prio3<number, number> {
  return new Prio3('draft-20', TEST_ALGORITHM_ID, new HigherDegreeCircuit(Field64), opts);
}
