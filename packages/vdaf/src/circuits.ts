// Validity circuits of Prio3 for VDAF-08 and VDAF-20 (plus the test-only ones of the official vectors).
import { type Field } from './field.js';
import { type Circuit, type Gadget, type Recorder, Mul, ParallelSum, PolyEval, dot } from './flp.js';

export class MeasurementError extends RangeError {}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** A field element as a number when it is a safe integer, otherwise as a bigint. */
export function toNumberOrBigint(f: Field, v: Uint32Array, i: number): number | bigint {
  const x = f.toBig(v, i);
  return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
}

function toCount(f: Field, v: Uint32Array, i: number): number {
  return Number(f.toBig(v, i));
}

function toNonNegativeBigint(m: unknown, what: string): bigint {
  if (typeof m === 'bigint') return m;
  if (typeof m === 'number' && Number.isSafeInteger(m)) return BigInt(m);
  throw new MeasurementError(`${what} must be an integer, got ${String(m)}`);
}

function sharesInverse(f: Field, numShares: number): Uint32Array {
  return f.invConst(BigInt(numShares));
}

/** Weights 1, 2, 4, ... 2^(bits-2), last: the modified bit decomposition of VDAF-20 (or plain bits). */
function bitWeights(f: Field, bits: number, lastWeight: bigint | null): Uint32Array {
  const w = f.vec(bits);
  for (let l = 0; l < bits; l++) f.setBig(w, l, 1n << BigInt(l));
  if (lastWeight !== null && bits > 0) f.setBig(w, bits - 1, lastWeight);
  return w;
}

/** Plain little-endian bit decomposition (VDAF-08 encode_into_bit_vector). */
function encodeBits(f: Field, out: Uint32Array, off: number, value: bigint, bits: number): void {
  if (value < 0n || value >= 1n << BigInt(bits)) throw new MeasurementError(`value ${value} does not fit in ${bits} bits`);
  for (let l = 0; l < bits; l++) f.setU32(out, off + l, Number((value >> BigInt(l)) & 1n));
}

/** VDAF-20 encode_range_checked_int. */
function encodeRangeChecked(f: Field, out: Uint32Array, off: number, value: bigint, max: bigint): void {
  if (value < 0n || value > max) throw new MeasurementError(`value ${value} is outside [0, ${max}]`);
  const bits = bitLength(max);
  const restAllOnes = (1n << BigInt(bits - 1)) - 1n;
  const lastWeight = max - restAllOnes;
  let rest = value;
  let last = 0;
  if (value > restAllOnes) {
    rest = value - lastWeight;
    last = 1;
  }
  for (let l = 0; l < bits - 1; l++) f.setU32(out, off + l, Number((rest >> BigInt(l)) & 1n));
  f.setU32(out, off + bits - 1, last);
}

function rangeCheckedLastWeight(max: bigint): bigint {
  const bits = bitLength(max);
  return max - ((1n << BigInt(bits - 1)) - 1n);
}

/**
 * The range check shared by SumVec, Histogram and the multi-hot circuits: ParallelSum(Mul, chunk) over
 * inputs (r^i * x, x - 1/shares). VDAF-08 uses one r and keeps raising its power across calls;
 * VDAF-20 takes a fresh r per call. Returns the sum of the gadget outputs.
 */
function parallelSumRangeCheck(
  f: Field,
  meas: Uint32Array,
  measLen: number,
  chunk: number,
  calls: number,
  jointRand: Uint32Array,
  jrOff: number,
  perCallRand: boolean,
  sharesInv: Uint32Array,
  rec: Recorder,
): Uint32Array {
  const wires = rec.wires[0]!;
  const acc = f.vec(1);
  const out = f.vec(1);
  const rPow = f.vec(1);
  f.copy(rPow, 0, jointRand, jrOff);
  let rIdx = jrOff;
  const negInv = f.vec(1);
  f.neg(negInv, 0, sharesInv, 0);
  for (let i = 0; i < calls; i++) {
    const k = i + 1;
    if (perCallRand) {
      rIdx = jrOff + i;
      f.copy(rPow, 0, jointRand, rIdx);
    }
    for (let j = 0; j < chunk; j++) {
      const idx = i * chunk + j;
      const w0 = wires[2 * j]!;
      const w1 = wires[2 * j + 1]!;
      if (idx < measLen) {
        f.mul(w0, k, rPow, 0, meas, idx);
        f.sub(w1, k, meas, idx, sharesInv, 0);
      } else {
        f.setU32(w0, k, 0);
        f.copy(w1, k, negInv, 0);
      }
      f.mul(rPow, 0, rPow, 0, jointRand, rIdx);
    }
    rec.output(0, k, out, 0);
    f.add(acc, 0, acc, 0, out, 0);
  }
  return acc;
}

function sumElements(f: Field, v: Uint32Array, from: number, to: number, out: Uint32Array, oi: number): void {
  for (let i = from; i < to; i++) f.add(out, oi, out, oi, v, i);
}

abstract class BaseCircuit<M, R> implements Circuit<M, R> {
  abstract readonly gadgets: readonly Gadget[];
  abstract readonly calls: readonly number[];
  abstract readonly measLen: number;
  abstract readonly outputLen: number;
  abstract readonly jointRandLen: number;
  abstract readonly evalOutputLen: number;
  constructor(readonly field: Field) {}
  abstract encode(measurement: M): Uint32Array;
  abstract decode(agg: Uint32Array, numMeasurements: number): R;
  abstract eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, numShares: number, rec: Recorder): Uint32Array;
  /** The leading outputLen elements. A full-length share is returned as is: shares are never mutated. */
  truncate(meas: Uint32Array): Uint32Array {
    const len = this.outputLen * this.field.words;
    return meas.length === len ? meas : meas.slice(0, len);
  }
}

export class CountCircuit extends BaseCircuit<boolean | number, number> {
  readonly gadgets = [new Mul()];
  readonly calls = [1];
  readonly measLen = 1;
  readonly outputLen = 1;
  readonly jointRandLen = 0;
  readonly evalOutputLen = 1;

  encode(m: boolean | number): Uint32Array {
    if (m !== true && m !== false && m !== 0 && m !== 1) throw new MeasurementError('Count measurement must be a boolean, 0 or 1');
    const v = this.field.vec(1);
    this.field.setU32(v, 0, m === true || m === 1 ? 1 : 0);
    return v;
  }

  eval(meas: Uint32Array, _jr: Uint32Array, _o: number, _s: number, rec: Recorder): Uint32Array {
    const f = this.field;
    const w = rec.wires[0]!;
    f.copy(w[0]!, 1, meas, 0);
    f.copy(w[1]!, 1, meas, 0);
    const out = f.vec(1);
    rec.output(0, 1, out, 0);
    f.sub(out, 0, out, 0, meas, 0);
    return out;
  }

  decode(agg: Uint32Array): number {
    return toCount(this.field, agg, 0);
  }
}

/** Test-only VDAF-20 circuit with a degree-3 gadget: x * (x - 1) * (x - 2). */
export class HigherDegreeCircuit extends BaseCircuit<number, number> {
  readonly gadgets: Gadget[];
  readonly calls = [1];
  readonly measLen = 1;
  readonly outputLen = 1;
  readonly jointRandLen = 0;
  readonly evalOutputLen = 1;

  constructor(f: Field) {
    super(f);
    this.gadgets = [new PolyEval(f, [0, 2, -3, 1])];
  }

  encode(m: number): Uint32Array {
    return this.field.elem(toNonNegativeBigint(m, 'measurement'));
  }

  eval(meas: Uint32Array, _jr: Uint32Array, _o: number, _s: number, rec: Recorder): Uint32Array {
    const f = this.field;
    f.copy(rec.wires[0]![0]!, 1, meas, 0);
    const out = f.vec(1);
    rec.output(0, 1, out, 0);
    return out;
  }

  decode(agg: Uint32Array): number {
    return toCount(this.field, agg, 0);
  }
}

/**
 * Sum. VDAF-08: `bits` plain bits, one joint-random linear combination of x^2 - x.
 * VDAF-20: modified bit decomposition up to `max`, one circuit output per bit, no joint randomness.
 */
export class SumCircuit extends BaseCircuit<number | bigint, number | bigint> {
  readonly gadgets: Gadget[];
  readonly calls: number[];
  readonly measLen: number;
  readonly outputLen = 1;
  readonly jointRandLen: number;
  readonly evalOutputLen: number;
  private readonly bits: number;
  private readonly weights: Uint32Array;

  constructor(f: Field, private readonly draft08: boolean, bitsOrMax: bigint) {
    super(f);
    this.bits = draft08 ? Number(bitsOrMax) : bitLength(bitsOrMax);
    if (this.bits <= 0) throw new RangeError('Sum: need bits >= 1 / max_measurement >= 1');
    if (draft08 && 2n ** BigInt(this.bits) >= f.modulus) throw new RangeError('Sum: bits too large for the field');
    if (!draft08 && bitsOrMax >= f.modulus) throw new RangeError('Sum: max_measurement too large for the field');
    this.max = draft08 ? (1n << BigInt(this.bits)) - 1n : bitsOrMax;
    this.gadgets = [new PolyEval(f, [0, -1, 1])];
    this.calls = [this.bits];
    this.measLen = this.bits;
    this.jointRandLen = draft08 ? 1 : 0;
    this.evalOutputLen = draft08 ? 1 : this.bits;
    this.weights = bitWeights(f, this.bits, draft08 ? null : rangeCheckedLastWeight(this.max));
  }

  readonly max: bigint;

  encode(m: number | bigint): Uint32Array {
    const v = this.field.vec(this.bits);
    const x = toNonNegativeBigint(m, 'Sum measurement');
    if (this.draft08) encodeBits(this.field, v, 0, x, this.bits);
    else encodeRangeChecked(this.field, v, 0, x, this.max);
    return v;
  }

  eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, _s: number, rec: Recorder): Uint32Array {
    const f = this.field;
    const w = rec.wires[0]![0]!;
    const out = f.vec(this.evalOutputLen);
    const g = f.vec(1);
    const r = f.vec(1);
    if (this.draft08) f.copy(r, 0, jointRand, jrOff);
    for (let k = 0; k < this.bits; k++) {
      f.copy(w, k + 1, meas, k);
      if (this.draft08) {
        rec.output(0, k + 1, g, 0);
        f.mul(g, 0, g, 0, r, 0);
        f.add(out, 0, out, 0, g, 0);
        f.mul(r, 0, r, 0, jointRand, jrOff);
      } else {
        rec.output(0, k + 1, out, k);
      }
    }
    return out;
  }

  override truncate(meas: Uint32Array): Uint32Array {
    const out = this.field.vec(1);
    dot(this.field, meas, 0, this.weights, this.bits, out, 0);
    return out;
  }

  decode(agg: Uint32Array): number | bigint {
    return toNumberOrBigint(this.field, agg, 0);
  }
}

export class SumVecCircuit extends BaseCircuit<readonly (number | bigint)[], (number | bigint)[]> {
  readonly gadgets: Gadget[];
  readonly calls: number[];
  readonly measLen: number;
  readonly outputLen: number;
  readonly jointRandLen: number;
  readonly evalOutputLen = 1;
  readonly bits: number;
  readonly max: bigint;
  private readonly weights: Uint32Array;

  constructor(f: Field, private readonly draft08: boolean, readonly length: number, bitsOrMax: bigint, readonly chunk: number) {
    super(f);
    if (!(length > 0 && chunk > 0)) throw new RangeError('SumVec: length and chunk_length must be positive');
    this.bits = draft08 ? Number(bitsOrMax) : bitLength(bitsOrMax);
    if (this.bits <= 0) throw new RangeError('SumVec: need bits >= 1 / max_measurement >= 1');
    this.max = draft08 ? (1n << BigInt(this.bits)) - 1n : bitsOrMax;
    if (this.max >= f.modulus) throw new RangeError('SumVec: measurement range too large for the field');
    this.measLen = length * this.bits;
    this.outputLen = length;
    this.gadgets = [new ParallelSum(f, new Mul(), chunk)];
    this.calls = [Math.ceil(this.measLen / chunk)];
    this.jointRandLen = draft08 ? 1 : this.calls[0]!;
    this.weights = bitWeights(f, this.bits, draft08 ? null : rangeCheckedLastWeight(this.max));
  }

  encode(m: readonly (number | bigint)[]): Uint32Array {
    if (!Array.isArray(m) || m.length !== this.length) throw new MeasurementError(`SumVec measurement must have length ${this.length}`);
    const v = this.field.vec(this.measLen);
    m.forEach((x, i) => {
      const b = toNonNegativeBigint(x, `SumVec element ${i}`);
      if (this.draft08) encodeBits(this.field, v, i * this.bits, b, this.bits);
      else encodeRangeChecked(this.field, v, i * this.bits, b, this.max);
    });
    return v;
  }

  eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, numShares: number, rec: Recorder): Uint32Array {
    const f = this.field;
    return parallelSumRangeCheck(f, meas, this.measLen, this.chunk, this.calls[0]!, jointRand, jrOff, !this.draft08, sharesInverse(f, numShares), rec);
  }

  override truncate(meas: Uint32Array): Uint32Array {
    const out = this.field.vec(this.length);
    for (let i = 0; i < this.length; i++) dot(this.field, meas, i * this.bits, this.weights, this.bits, out, i);
    return out;
  }

  decode(agg: Uint32Array): (number | bigint)[] {
    return Array.from({ length: this.length }, (_, i) => toNumberOrBigint(this.field, agg, i));
  }
}

export class HistogramCircuit extends BaseCircuit<number, number[]> {
  readonly gadgets: Gadget[];
  readonly calls: number[];
  readonly measLen: number;
  readonly outputLen: number;
  readonly jointRandLen: number;
  readonly evalOutputLen: number;

  constructor(f: Field, private readonly draft08: boolean, readonly length: number, readonly chunk: number) {
    super(f);
    if (!(length > 0 && chunk > 0)) throw new RangeError('Histogram: length and chunk_length must be positive');
    this.measLen = length;
    this.outputLen = length;
    this.gadgets = [new ParallelSum(f, new Mul(), chunk)];
    this.calls = [Math.ceil(length / chunk)];
    this.jointRandLen = draft08 ? 2 : this.calls[0]!;
    this.evalOutputLen = draft08 ? 1 : 2;
  }

  encode(m: number): Uint32Array {
    if (!Number.isSafeInteger(m) || m < 0 || m >= this.length) throw new MeasurementError(`Histogram measurement must be an integer in [0, ${this.length})`);
    const v = this.field.vec(this.length);
    this.field.setU32(v, m, 1);
    return v;
  }

  eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, numShares: number, rec: Recorder): Uint32Array {
    const f = this.field;
    const inv = sharesInverse(f, numShares);
    const range = parallelSumRangeCheck(f, meas, this.measLen, this.chunk, this.calls[0]!, jointRand, jrOff, !this.draft08, inv, rec);
    const sum = f.vec(1);
    f.neg(sum, 0, inv, 0);
    sumElements(f, meas, 0, this.length, sum, 0);
    if (!this.draft08) {
      const out = f.vec(2);
      f.copy(out, 0, range, 0);
      f.copy(out, 1, sum, 0);
      return out;
    }
    return combine08(f, range, sum, jointRand, jrOff + 1);
  }

  decode(agg: Uint32Array): number[] {
    return Array.from({ length: this.length }, (_, i) => toCount(this.field, agg, i));
  }
}

/** VDAF-08: out = r1 * range_check + r1^2 * second_check. */
function combine08(f: Field, range: Uint32Array, check: Uint32Array, jointRand: Uint32Array, r1: number): Uint32Array {
  const out = f.vec(1);
  const sq = f.vec(1);
  f.mul(sq, 0, jointRand, r1, jointRand, r1);
  f.mul(out, 0, range, 0, jointRand, r1);
  f.mul(sq, 0, sq, 0, check, 0);
  f.add(out, 0, out, 0, sq, 0);
  return out;
}

/** VDAF-08's test-only MultiHotHistogram: a bit vector with at most max_count ones. */
export class MultiHotHistogramCircuit extends BaseCircuit<readonly (number | boolean)[], number[]> {
  readonly gadgets: Gadget[];
  readonly calls: number[];
  readonly measLen: number;
  readonly outputLen: number;
  readonly jointRandLen = 2;
  readonly evalOutputLen = 1;
  private readonly bitsForCount: number;
  private readonly offset: bigint;
  private readonly weights: Uint32Array;

  constructor(f: Field, readonly length: number, readonly maxCount: number, readonly chunk: number) {
    super(f);
    if (!(length > 0 && chunk > 0 && maxCount > 0 && maxCount <= length)) throw new RangeError('MultiHotHistogram: invalid parameters');
    this.bitsForCount = bitLength(BigInt(maxCount));
    this.offset = (1n << BigInt(this.bitsForCount)) - 1n - BigInt(maxCount);
    this.measLen = length + this.bitsForCount;
    this.outputLen = length;
    this.gadgets = [new ParallelSum(f, new Mul(), chunk)];
    this.calls = [Math.ceil(this.measLen / chunk)];
    this.weights = bitWeights(f, this.bitsForCount, null);
  }

  encode(m: readonly (number | boolean)[]): Uint32Array {
    if (!Array.isArray(m) || m.length !== this.length) throw new MeasurementError(`measurement must have length ${this.length}`);
    const v = this.field.vec(this.measLen);
    let count = this.offset;
    m.forEach((x, i) => {
      const b = x === true || x === 1 ? 1 : x === false || x === 0 ? 0 : -1;
      if (b < 0) throw new MeasurementError(`entry ${i} must be 0 or 1`);
      this.field.setU32(v, i, b);
      count += BigInt(b);
    });
    encodeBits(this.field, v, this.length, count, this.bitsForCount);
    return v;
  }

  eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, numShares: number, rec: Recorder): Uint32Array {
    const f = this.field;
    const inv = sharesInverse(f, numShares);
    const range = parallelSumRangeCheck(f, meas, this.measLen, this.chunk, this.calls[0]!, jointRand, jrOff, false, inv, rec);
    const check = f.elem(this.offset);
    f.mul(check, 0, check, 0, inv, 0);
    sumElements(f, meas, 0, this.length, check, 0);
    const reported = f.vec(1);
    dot(f, meas, this.length, this.weights, this.bitsForCount, reported, 0);
    f.sub(check, 0, check, 0, reported, 0);
    return combine08(f, range, check, jointRand, jrOff + 1);
  }

  decode(agg: Uint32Array): number[] {
    return Array.from({ length: this.length }, (_, i) => toCount(this.field, agg, i));
  }
}

/** VDAF-20 MultihotCountVec: a boolean vector with at most max_weight true entries. */
export class MultihotCountVecCircuit extends BaseCircuit<readonly (boolean | number)[], number[]> {
  readonly gadgets: Gadget[];
  readonly calls: number[];
  readonly measLen: number;
  readonly outputLen: number;
  readonly jointRandLen: number;
  readonly evalOutputLen = 2;
  private readonly bitsForWeight: number;
  private readonly weights: Uint32Array;

  constructor(f: Field, readonly length: number, readonly maxWeight: number, readonly chunk: number) {
    super(f);
    if (!(length > 0 && chunk > 0 && maxWeight > 0 && maxWeight <= length)) throw new RangeError('MultihotCountVec: invalid parameters');
    this.bitsForWeight = bitLength(BigInt(maxWeight));
    this.measLen = length + this.bitsForWeight;
    this.outputLen = length;
    this.gadgets = [new ParallelSum(f, new Mul(), chunk)];
    this.calls = [Math.ceil(this.measLen / chunk)];
    this.jointRandLen = this.calls[0]!;
    this.weights = bitWeights(f, this.bitsForWeight, rangeCheckedLastWeight(BigInt(maxWeight)));
  }

  encode(m: readonly (boolean | number)[]): Uint32Array {
    if (!Array.isArray(m) || m.length !== this.length) throw new MeasurementError(`measurement must have length ${this.length}`);
    const v = this.field.vec(this.measLen);
    let weight = 0n;
    m.forEach((x, i) => {
      const b = x === true || x === 1 ? 1 : x === false || x === 0 ? 0 : -1;
      if (b < 0) throw new MeasurementError(`entry ${i} must be a boolean`);
      this.field.setU32(v, i, b);
      weight += BigInt(b);
    });
    encodeRangeChecked(this.field, v, this.length, weight, BigInt(this.maxWeight));
    return v;
  }

  eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, numShares: number, rec: Recorder): Uint32Array {
    const f = this.field;
    const inv = sharesInverse(f, numShares);
    const range = parallelSumRangeCheck(f, meas, this.measLen, this.chunk, this.calls[0]!, jointRand, jrOff, true, inv, rec);
    const out = f.vec(2);
    f.copy(out, 0, range, 0);
    sumElements(f, meas, 0, this.length, out, 1);
    const reported = f.vec(1);
    dot(f, meas, this.length, this.weights, this.bitsForWeight, reported, 0);
    f.sub(out, 1, out, 1, reported, 0);
    return out;
  }

  decode(agg: Uint32Array): number[] {
    return Array.from({ length: this.length }, (_, i) => toCount(this.field, agg, i));
  }
}
