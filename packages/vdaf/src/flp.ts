// The FLP of BBCGGI19 as specified by VDAF-08 ("FlpGeneric") and VDAF-20 ("FlpBBCGGI19").
// The two generations share circuits, wire layout and evaluation points; they differ in how the proof
// carries each gadget polynomial (VDAF-08: monomial coefficients; VDAF-20: values at the n-th roots of
// unity) and in the circuit output (VDAF-20 circuits may output a vector, reduced with query randomness).
import type { Field } from './field.js';
import type { Generation } from './xof.js';

export function nextPowerOf2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A sub-circuit whose multiplications the proof covers. */
export interface Gadget {
  readonly arity: number;
  readonly degree: number;
  /** out[oi] = G(inp[base][at], ..., inp[base + arity - 1][at]). */
  eval(f: Field, inp: readonly Uint32Array[], base: number, at: number, out: Uint32Array, oi: number): void;
}

export class Mul implements Gadget {
  readonly arity = 2;
  readonly degree = 2;
  eval(f: Field, inp: readonly Uint32Array[], base: number, at: number, out: Uint32Array, oi: number): void {
    f.mul(out, oi, inp[base]!, at, inp[base + 1]!, at);
  }
}

/** p(x) for a fixed polynomial p (coefficients lowest degree first). */
export class PolyEval implements Gadget {
  readonly arity = 1;
  readonly degree: number;
  private readonly coeffs: Uint32Array;
  private readonly acc: Uint32Array;

  constructor(f: Field, coeffs: readonly (number | bigint)[]) {
    let len = coeffs.length;
    while (len > 0 && BigInt(coeffs[len - 1]!) === 0n) len--;
    if (len === 0) throw new RangeError('PolyEval: zero polynomial');
    this.degree = len - 1;
    this.coeffs = f.vec(len);
    for (let i = 0; i < len; i++) f.setBig(this.coeffs, i, BigInt(coeffs[i]!));
    this.acc = f.vec(1);
  }

  eval(f: Field, inp: readonly Uint32Array[], base: number, at: number, out: Uint32Array, oi: number): void {
    const x = inp[base]!;
    const acc = this.acc;
    f.copy(acc, 0, this.coeffs, this.degree);
    for (let i = this.degree - 1; i >= 0; i--) {
      f.mul(acc, 0, acc, 0, x, at);
      f.add(acc, 0, acc, 0, this.coeffs, i);
    }
    f.copy(out, oi, acc, 0);
  }
}

/** Sum of `count` copies of a sub-circuit over consecutive input groups. */
export class ParallelSum implements Gadget {
  readonly arity: number;
  readonly degree: number;
  private readonly tmp: Uint32Array;
  private readonly acc: Uint32Array;

  constructor(f: Field, private readonly inner: Gadget, readonly count: number) {
    this.arity = inner.arity * count;
    this.degree = inner.degree;
    this.tmp = f.vec(1);
    this.acc = f.vec(1);
  }

  eval(f: Field, inp: readonly Uint32Array[], base: number, at: number, out: Uint32Array, oi: number): void {
    const acc = this.acc;
    acc.fill(0);
    const a = this.inner.arity;
    for (let i = 0; i < this.count; i++) {
      this.inner.eval(f, inp, base + i * a, at, this.tmp, 0);
      f.add(acc, 0, acc, 0, this.tmp, 0);
    }
    f.copy(out, oi, acc, 0);
  }
}

/**
 * Records gadget inputs: wires[g][j] holds the values of wire j of gadget g at evaluation points
 * (index 0 = wire seed, index k = k-th call), and supplies gadget outputs.
 */
export interface Recorder {
  readonly wires: Uint32Array[][];
  output(g: number, k: number, out: Uint32Array, oi: number): void;
}

export interface Circuit<M, R> {
  readonly field: Field;
  readonly gadgets: readonly Gadget[];
  readonly calls: readonly number[];
  readonly measLen: number;
  readonly outputLen: number;
  readonly jointRandLen: number;
  /** Length of the circuit output (always 1 for VDAF-08 circuits). */
  readonly evalOutputLen: number;
  encode(measurement: M): Uint32Array;
  truncate(meas: Uint32Array): Uint32Array;
  decode(agg: Uint32Array, numMeasurements: number): R;
  /** Evaluate on (a share of) the measurement; jointRand is read from index jrOff. */
  eval(meas: Uint32Array, jointRand: Uint32Array, jrOff: number, numShares: number, rec: Recorder): Uint32Array;
}

export class FlpError extends Error {}

/** The prover evaluates the gadgets themselves. */
class ProveRecorder implements Recorder {
  constructor(
    private readonly f: Field,
    private readonly gadgets: readonly Gadget[],
    readonly wires: Uint32Array[][],
  ) {}
  output(g: number, k: number, out: Uint32Array, oi: number): void {
    this.gadgets[g]!.eval(this.f, this.wires[g]!, 0, k, out, oi);
  }
}

/** The verifier reads gadget outputs off the (shares of the) gadget polynomials: outputs[g][k]. */
class QueryRecorder implements Recorder {
  constructor(
    private readonly f: Field,
    private readonly outputs: readonly Uint32Array[],
    readonly wires: Uint32Array[][],
  ) {}
  output(g: number, k: number, out: Uint32Array, oi: number): void {
    this.f.copy(out, oi, this.outputs[g]!, k);
  }
}

interface GadgetShape {
  readonly p: number; // wire polynomial length
  readonly len: number; // gadget polynomial length in the proof
  readonly n: number; // evaluation domain of the gadget polynomial
}

/** Scratch element for hot loops. */
const TMP = new Uint32Array(4);
const TMP2 = new Uint32Array(4);

/**
 * Evaluation at x of every polynomial given by values at the n-th roots of unity, as a weighted sum:
 * weight_i = (-1)^(n-1)/n * w^i * prod_{m != i} (w^m - x). Same result as interpolating and evaluating.
 */
export function lagrangeWeights(f: Field, n: number, x: Uint32Array, xi: number): Uint32Array {
  const roots = f.ntt(n).roots;
  const d = f.vec(n);
  for (let m = 0; m < n; m++) f.sub(d, m, roots, m, x, xi);
  const weights = f.vec(n);
  // prefix products into weights, then multiply by suffix products
  f.setU32(weights, 0, 1);
  for (let i = 1; i < n; i++) f.mul(weights, i, weights, i - 1, d, i - 1);
  const suffix = TMP2;
  f.setU32(suffix, 0, 1);
  for (let i = n - 1; i >= 0; i--) {
    f.mul(weights, i, weights, i, suffix, 0);
    f.mul(weights, i, weights, i, roots, i);
    f.mul(suffix, 0, suffix, 0, d, i);
  }
  const factor = f.ntt(n).lagrangeFactor;
  for (let i = 0; i < n; i++) f.mul(weights, i, weights, i, factor, 0);
  return weights;
}

/** sum_i a[aOff + i] * b[i] for i < n, into out[oi]. */
export function dot(f: Field, a: Uint32Array, aOff: number, b: Uint32Array, n: number, out: Uint32Array, oi: number): void {
  f.dot(a, aOff, b, 0, n, out, oi);
}

export class Flp<M, R> {
  readonly field: Field;
  readonly proveRandLen: number;
  readonly queryRandLen: number;
  readonly jointRandLen: number;
  readonly measLen: number;
  readonly outputLen: number;
  readonly proofLen: number;
  readonly verifierLen: number;
  private readonly shapes: GadgetShape[];
  /** Per-instance scratch (the FLP is synchronous and not re-entrant). */
  private readonly scratch: Uint32Array;
  private readonly decideInputs: Uint32Array[][];
  private readonly wires: Uint32Array[][];
  private readonly ext: (Uint32Array[] | undefined)[] = [];
  private odd: Uint32Array | undefined;

  constructor(readonly generation: Generation, readonly circuit: Circuit<M, R>) {
    const f = circuit.field;
    this.field = f;
    this.shapes = circuit.gadgets.map((g, i) => {
      const p = nextPowerOf2(1 + circuit.calls[i]!);
      const len = g.degree * (p - 1) + 1;
      return { p, len, n: nextPowerOf2(len) };
    });
    this.proveRandLen = circuit.gadgets.reduce((s, g) => s + g.arity, 0);
    this.queryRandLen = circuit.gadgets.length + (generation !== 'draft-08' && circuit.evalOutputLen > 1 ? circuit.evalOutputLen : 0);
    this.jointRandLen = circuit.jointRandLen;
    this.measLen = circuit.measLen;
    this.outputLen = circuit.outputLen;
    this.proofLen = circuit.gadgets.reduce((s, g, i) => s + g.arity + this.shapes[i]!.len, 0);
    this.verifierLen = 1 + circuit.gadgets.reduce((s, g) => s + g.arity + 1, 0);
    this.scratch = f.vec(1);
    this.decideInputs = circuit.gadgets.map((g) => Array.from({ length: g.arity }, () => f.vec(1)));
    this.wires = circuit.gadgets.map((g, i) => Array.from({ length: g.arity }, () => f.vec(this.shapes[i]!.p)));
  }

  /**
   * Wire values with the seeds (read from seeds[seedOff...], skipping `stride` gadget polynomials) at index 0.
   * The arrays are allocated once per FLP and reused: circuits write exactly indices 1..calls on every
   * evaluation, so the zero padding above them never changes.
   */
  private newWires(seeds: Uint32Array, seedOff: number, stride = 0): Uint32Array[][] {
    const f = this.field;
    const wires = this.wires;
    let s = seedOff;
    for (let i = 0; i < wires.length; i++) {
      const gw = wires[i]!;
      for (let j = 0; j < gw.length; j++) f.copy(gw[j]!, 0, seeds, s++);
      s += stride * this.shapes[i]!.len;
    }
    return wires;
  }

  /** Per-gadget buffers for the extended wire polynomials (n values per wire, one backing store), reused. */
  private extBuffers(gi: number): Uint32Array[] {
    let e = this.ext[gi];
    if (e === undefined) {
      const { n } = this.shapes[gi]!;
      const w = this.field.words;
      const all = this.field.vec(n * this.circuit.gadgets[gi]!.arity);
      e = Array.from({ length: this.circuit.gadgets[gi]!.arity }, (_, j) => all.subarray(j * n * w, (j + 1) * n * w));
      this.ext[gi] = e;
    }
    return e;
  }

  private oddScratch(p: number): Uint32Array {
    if (this.odd === undefined || this.odd.length < p * this.field.words) this.odd = this.field.vec(p);
    return this.odd.subarray(0, p * this.field.words);
  }

  /** Proof for an encoded measurement; randomness vectors are read from the given offsets. */
  prove(meas: Uint32Array, proveRand: Uint32Array, prOff: number, jointRand: Uint32Array, jrOff: number, out: Uint32Array, outOff: number): void {
    const f = this.field;
    const c = this.circuit;
    const wires = this.newWires(proveRand, prOff);
    c.eval(meas, jointRand, jrOff, 1, new ProveRecorder(f, c.gadgets, wires));
    let pos = outOff;
    for (let gi = 0; gi < c.gadgets.length; gi++) {
      const g = c.gadgets[gi]!;
      const { p, len, n } = this.shapes[gi]!;
      // Extend each wire polynomial from values at the p-th roots to values at the n-th roots.
      const ext = this.extBuffers(gi);
      for (let j = 0; j < g.arity; j++) {
        f.copy(out, pos++, wires[gi]![j]!, 0);
        extendWire(f, wires[gi]![j]!, p, n, ext[j]!, this.oddScratch(p));
      }
      const values = f.vec(n);
      for (let i = 0; i < n; i++) g.eval(f, ext, 0, i, values, i);
      if (this.generation === 'draft-08') f.transform(values, n, true);
      out.set(values.subarray(0, len * f.words), pos * f.words);
      pos += len;
    }
  }

  /** This aggregator's share of the verifier for one proof. */
  query(meas: Uint32Array, proof: Uint32Array, proofOff: number, queryRand: Uint32Array, qrOff: number, jointRand: Uint32Array, jrOff: number, numShares: number): Uint32Array {
    const f = this.field;
    const c = this.circuit;
    const wires = this.newWiresFromProof(proof, proofOff);
    // Gadget polynomial per gadget: values at the p-th roots (outputs) for k = 1..calls.
    const outputs: Uint32Array[] = [];
    const polys: Uint32Array[] = [];
    let pos = proofOff;
    for (let gi = 0; gi < c.gadgets.length; gi++) {
      const g = c.gadgets[gi]!;
      const { p, len, n } = this.shapes[gi]!;
      pos += g.arity;
      const poly = proof.subarray(pos * f.words, (pos + len) * f.words);
      pos += len;
      if (this.generation === 'draft-08') {
        // Fold coefficients modulo x^p - 1, then evaluate at the p-th roots.
        const folded = f.vec(p);
        for (let i = 0; i < len; i++) f.add(folded, i % p, folded, i % p, poly, i);
        f.transform(folded, p, false);
        outputs.push(folded);
        polys.push(poly);
      } else {
        const values = extendToPowerOf2(f, poly, len, n);
        const step = n / p;
        const outs = f.vec(p);
        for (let k = 0; k < p; k++) f.copy(outs, k, values, k * step);
        outputs.push(outs);
        polys.push(values);
      }
    }
    const out = c.eval(meas, jointRand, jrOff, numShares, new QueryRecorder(f, outputs, wires));
    const verifier = f.vec(this.verifierLen);
    let qr = qrOff;
    if (this.generation !== 'draft-08' && c.evalOutputLen > 1) {
      for (let i = 0; i < c.evalOutputLen; i++) {
        f.mul(TMP, 0, queryRand, qr++, out, i);
        f.add(verifier, 0, verifier, 0, TMP, 0);
      }
    } else {
      f.copy(verifier, 0, out, 0);
    }
    let v = 1;
    for (let gi = 0; gi < c.gadgets.length; gi++) {
      const g = c.gadgets[gi]!;
      const { p, len, n } = this.shapes[gi]!;
      const t = qr++;
      // Abort if t is a p-th root of unity: the verifier would leak a gadget output.
      const tp = this.scratch;
      f.copy(tp, 0, queryRand, t);
      for (let e = 1; e < p; e *= 2) f.mul(tp, 0, tp, 0, tp, 0);
      if (f.equal(tp, 0, f.one, 0)) throw new FlpError('query point is a root of unity');
      const wWeights = lagrangeWeights(f, p, queryRand, t);
      for (let j = 0; j < g.arity; j++) dot(f, wires[gi]![j]!, 0, wWeights, p, verifier, v++);
      if (this.generation === 'draft-08') {
        // Horner on the coefficients.
        const poly = polys[gi]!;
        const acc = this.scratch;
        acc.fill(0);
        for (let i = len - 1; i >= 0; i--) {
          f.mul(acc, 0, acc, 0, queryRand, t);
          f.add(acc, 0, acc, 0, poly, i);
        }
        f.copy(verifier, v++, acc, 0);
      } else {
        const gWeights = lagrangeWeights(f, n, queryRand, t);
        dot(f, polys[gi]!, 0, gWeights, n, verifier, v++);
      }
    }
    return verifier;
  }

  private newWiresFromProof(proof: Uint32Array, proofOff: number): Uint32Array[][] {
    // the proof holds, per gadget, the wire seeds followed by the gadget polynomial
    return this.newWires(proof, proofOff, 1);
  }

  decide(verifier: Uint32Array, off: number): boolean {
    const f = this.field;
    if (!f.isZero(verifier, off)) return false;
    let v = off + 1;
    const z = this.scratch;
    for (let gi = 0; gi < this.circuit.gadgets.length; gi++) {
      const g = this.circuit.gadgets[gi]!;
      // the gadget reads its inputs as inp[j][0]: one-element views into the verifier
      const inputs = this.decideInputs[gi]!;
      for (let j = 0; j < g.arity; j++) f.copy(inputs[j]!, 0, verifier, v + j);
      v += g.arity;
      g.eval(f, inputs, 0, 0, z, 0);
      if (!f.equal(z, 0, verifier, v)) return false;
      v++;
    }
    return true;
  }
}

/**
 * Values at the n-th roots of unity of the polynomial given by its values at the p-th roots. For n = 2p
 * (every degree-2 gadget) only the odd points are new: they are the NTT of the coefficients scaled by
 * powers of the 2p-th root, which costs two size-p transforms instead of a size-p and a size-2p one.
 * Writes into e (n elements); odd is scratch of p elements.
 */
function extendWire(f: Field, wire: Uint32Array, p: number, n: number, e: Uint32Array, odd: Uint32Array): void {
  if (n === 2 * p) {
    odd.set(wire.subarray(0, p * f.words));
    f.transform(odd, p, true);
    const roots = f.ntt(n).roots;
    for (let k = 1; k < p; k++) f.mul(odd, k, odd, k, roots, k);
    f.transform(odd, p, false);
    for (let i = 0; i < p; i++) {
      f.copy(e, 2 * i, wire, i);
      f.copy(e, 2 * i + 1, odd, i);
    }
    return;
  }
  e.fill(0);
  e.set(wire.subarray(0, p * f.words));
  f.transform(e, p, true);
  f.transform(e, n, false);
}

/**
 * Complete the values of a polynomial of degree < len, given at the first len of the n-th roots of
 * unity, to all n roots. With one missing value the top coefficient must vanish, which gives it in
 * closed form: v[n-1] = -w * sum_{j<n-1} v[j] w^j. More missing values use Lagrange interpolation.
 */
function extendToPowerOf2(f: Field, poly: Uint32Array, len: number, n: number): Uint32Array {
  const values = f.vec(n);
  values.set(poly.subarray(0, len * f.words));
  if (len === n) return values;
  const roots = f.ntt(n).roots;
  if (len === n - 1) {
    dot(f, values, 0, roots, n - 1, TMP, 0);
    f.mul(TMP, 0, TMP, 0, roots, 1);
    f.neg(values, n - 1, TMP, 0);
    return values;
  }
  // General case: Lagrange interpolation through the len known points.
  const num = f.vec(1);
  const den = f.vec(1);
  const diff = f.vec(1);
  const term = f.vec(1);
  for (let x = len; x < n; x++) {
    const acc = f.vec(1);
    for (let i = 0; i < len; i++) {
      f.setU32(num, 0, 1);
      f.setU32(den, 0, 1);
      for (let j = 0; j < len; j++) {
        if (j === i) continue;
        f.sub(diff, 0, roots, x, roots, j);
        f.mul(num, 0, num, 0, diff, 0);
        f.sub(diff, 0, roots, i, roots, j);
        f.mul(den, 0, den, 0, diff, 0);
      }
      f.inv(den, 0, den, 0);
      f.mul(term, 0, num, 0, den, 0);
      f.mul(term, 0, term, 0, values, i);
      f.add(acc, 0, acc, 0, term, 0);
    }
    f.copy(values, x, acc, 0);
  }
  return values;
}
