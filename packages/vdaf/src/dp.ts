// Differential privacy for aggregate shares: exact discrete Laplace and discrete Gaussian samplers (Canonne,
// Kamath, Steinke, "The Discrete Gaussian for Differential Privacy", 2020, Algorithms 1-3), the budgets that
// calibrate them, and noise added to a vector of field elements. Every step is integer or rational arithmetic on
// BigInt: floating-point samplers leak through their rounding (Mironov 2012), exact ones do not. Randomness is
// Web Crypto's CSPRNG, so this file has no `node:` import, like the rest of the library.
import type { Field } from './field.js';
import { randomBytes } from './random.js';

/** A non-negative rational number num/den (den > 0). */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** Uniform integer in [0, n): rejection sampling on whole bytes, so no modulo bias. */
export type UniformSource = (n: bigint) => bigint;

// CSPRNG bytes drawn in blocks: one getRandomValues call per 4 KiB instead of one per sample (each byte is used once).
const pool: { buf: Uint8Array; pos: number } = { buf: new Uint8Array(0), pos: 0 };
function poolBytes(n: number): Uint8Array {
  if (pool.pos + n > pool.buf.length) {
    pool.buf = randomBytes(Math.max(4096, n));
    pool.pos = 0;
  }
  const out = pool.buf.subarray(pool.pos, pool.pos + n);
  pool.pos += n;
  return out;
}

const TWO32 = 2 ** 32;

export const cryptoUniform: UniformSource = (n) => {
  if (n <= 0n) throw new RangeError('uniform range must be positive');
  if (n === 1n) return 0n;
  if (n <= 0xffffffffn) {
    // 32-bit path: reject the top partial copy of [0, n) so every residue is equally likely.
    const m = Number(n);
    const limit = TWO32 - (TWO32 % m);
    for (;;) {
      const b = poolBytes(4);
      const x = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
      if (x < limit) return BigInt(x % m);
    }
  }
  const bits = (n - 1n).toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    let x = 0n;
    for (const v of poolBytes(bytes)) x = (x << 8n) | BigInt(v);
    x &= mask;
    if (x < n) return x;
  }
};

const gcd = (a: bigint, b: bigint): bigint => {
  while (b) [a, b] = [b, a % b];
  return a;
};

function reduce(num: bigint, den: bigint): Rational {
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

/** The exact value of a finite non-negative double (every double is a dyadic rational), or a rational as is. */
export function toRational(x: number | Rational, name = 'value'): Rational {
  if (typeof x === 'object') {
    if (x.den <= 0n || x.num < 0n) throw new RangeError(`${name} must be a non-negative rational with a positive denominator`);
    return reduce(x.num, x.den);
  }
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`${name} must be a finite non-negative number, not ${x}`);
  let den = 1n;
  let v = x;
  while (!Number.isInteger(v)) {
    v *= 2;
    den *= 2n;
  }
  return reduce(BigInt(v), den);
}

/** Bernoulli(num/den), num ≤ den. */
function bernoulli(num: bigint, den: bigint, u: UniformSource): boolean {
  return u(den) < num;
}

/** Bernoulli(exp(-γ)) for γ = num/den in [0, 1] (CKS20 Algorithm 1, first branch). */
function bernoulliExpSmall(num: bigint, den: bigint, u: UniformSource): boolean {
  let k = 1n;
  while (bernoulli(num, den * k, u)) k++;
  return (k & 1n) === 1n;
}

/** Bernoulli(exp(-γ)) for any γ = num/den ≥ 0 (CKS20 Algorithm 1). */
function bernoulliExp(num: bigint, den: bigint, u: UniformSource): boolean {
  for (let i = num / den; i > 0n; i--) if (!bernoulliExpSmall(1n, 1n, u)) return false;
  return bernoulliExpSmall(num % den, den, u);
}

/**
 * Discrete Laplace: P(x) ∝ exp(-|x| / scale) on the integers (CKS20 Algorithm 2). `scale` is a rational s/t; a
 * geometric variable with parameter 1 - exp(-1/s) is divided by t, which gives the rate t/s.
 */
export function sampleDiscreteLaplace(scale: number | Rational, u: UniformSource = cryptoUniform): bigint {
  const { num: s, den: t } = toRational(scale, 'scale');
  if (s === 0n) return 0n;
  for (;;) {
    const negative = bernoulli(1n, 2n, u);
    let x: bigint;
    do x = u(s);
    while (!bernoulliExpSmall(x, s, u));
    let v = 0n;
    while (bernoulliExpSmall(1n, 1n, u)) v++;
    const y = (x + s * v) / t;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * Discrete Gaussian: P(x) ∝ exp(-x² / (2σ²)) on the integers (CKS20 Algorithm 3): a discrete Laplace proposal
 * with scale ⌊σ⌋+1, accepted with probability exp(-(|y| - σ²/t)² / (2σ²)). Its variance is at most σ² (and
 * within 10⁻¹² of σ² once σ ≥ 1).
 */
export function sampleDiscreteGaussian(sigma: number | Rational, u: UniformSource = cryptoUniform): bigint {
  const { num: a, den: b } = toRational(sigma, 'sigma');
  if (a === 0n) return 0n;
  const t = a / b + 1n;
  const a2 = a * a;
  const b2 = b * b;
  // γ = (|y| - σ²/t)² / (2σ²) = (|y|·t·b² - a²)² / (2·t²·b²·a²)
  const den = 2n * t * t * b2 * a2;
  for (;;) {
    const y = sampleDiscreteLaplace({ num: t, den: 1n }, u);
    const d = (y < 0n ? -y : y) * t * b2 - a2;
    if (bernoulliExp(d * d, den, u)) return y;
  }
}

export type DpMechanism = 'discrete-laplace' | 'discrete-gaussian';

/** A calibrated noise distribution: the mechanism and its parameter (Laplace scale or Gaussian σ). */
export interface NoiseDistribution {
  mechanism: DpMechanism;
  /** Laplace: the scale b (P ∝ exp(-|x|/b)); Gaussian: σ. */
  parameter: Rational;
}

export function sampleNoise(d: NoiseDistribution, u: UniformSource = cryptoUniform): bigint {
  return d.mechanism === 'discrete-laplace' ? sampleDiscreteLaplace(d.parameter, u) : sampleDiscreteGaussian(d.parameter, u);
}

/** Variance of the discrete Laplace with this scale: 2e^{-1/b} / (1 - e^{-1/b})². */
export function discreteLaplaceVariance(scale: number): number {
  const q = Math.exp(-1 / scale);
  return (2 * q) / (1 - q) ** 2;
}

/** Variance of the discrete Gaussian with parameter σ, summed over its support (not σ² exactly for small σ). */
export function discreteGaussianVariance(sigma: number): number {
  let z = 1;
  let m2 = 0;
  for (let x = 1; x <= Math.ceil(sigma * 40) + 10; x++) {
    const p = Math.exp(-(x * x) / (2 * sigma * sigma));
    z += 2 * p;
    m2 += 2 * x * x * p;
  }
  return m2 / z;
}

export function noiseVariance(d: NoiseDistribution): number {
  const p = Number(d.parameter.num) / Number(d.parameter.den);
  return d.mechanism === 'discrete-laplace' ? discreteLaplaceVariance(p) : discreteGaussianVariance(p);
}

// ---- budgets ----
// Laplace gives pure ε-DP with scale Δ₁/ε (l1 sensitivity Δ₁). The Gaussian with σ = Δ₂/ε gives ρ-zCDP with
// ρ = ε²/2 (CKS20 Theorem 4; l2 sensitivity Δ₂), as libprio's ZCdpDiscreteGaussian does; ρ-zCDP implies
// (ρ + 2·√(ρ·ln(1/δ)), δ)-DP for every δ > 0 (Bun and Steinke 2016, Proposition 1.3), which inverted gives the
// ρ, hence σ, for an (ε, δ) budget.

/** Discrete Laplace scale for pure ε-DP at l1 sensitivity Δ₁. */
export function laplaceScaleFor(l1Sensitivity: number, epsilon: number): number {
  if (!(epsilon > 0)) throw new RangeError('epsilon must be positive');
  return l1Sensitivity / epsilon;
}

/** Discrete Gaussian σ for ρ-zCDP at l2 sensitivity Δ₂: σ = Δ₂ / √(2ρ). */
export function gaussianSigmaForZcdp(l2Sensitivity: number, rho: number): number {
  if (!(rho > 0)) throw new RangeError('rho must be positive');
  return l2Sensitivity / Math.sqrt(2 * rho);
}

/** The largest ρ whose zCDP guarantee implies (ε, δ)-DP: ρ = (√(ln(1/δ) + ε) - √(ln(1/δ)))². */
export function zcdpRhoFor(epsilon: number, delta: number): number {
  if (!(epsilon > 0)) throw new RangeError('epsilon must be positive');
  if (!(delta > 0 && delta < 1)) throw new RangeError('delta must be in (0, 1)');
  const l = Math.log(1 / delta);
  return (Math.sqrt(l + epsilon) - Math.sqrt(l)) ** 2;
}

/** The ε of (ε, δ)-DP that ρ-zCDP implies. */
export function zcdpToEpsilon(rho: number, delta: number): number {
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

// ---- field vectors ----

/**
 * Adds independent noise to every element of a vector of field elements (an aggregate share), each sample reduced
 * mod p. Adding noise mod p and summing shares mod p equals noising the true aggregate and then reducing it, so the
 * guarantee holds as long as one aggregator adds its noise honestly.
 */
export function addNoiseToVector(field: Field, data: Uint32Array, d: NoiseDistribution, u: UniformSource = cryptoUniform): void {
  const n = data.length / field.words;
  for (let i = 0; i < n; i++) {
    const noise = sampleNoise(d, u);
    if (noise !== 0n) field.add(data, i, data, i, field.elem(noise), 0);
  }
}

/** Field elements read as signed integers in (-p/2, p/2]: how a collector reads a noised (possibly negative) aggregate. */
export function centeredIntegers(field: Field, data: Uint32Array): bigint[] {
  const n = data.length / field.words;
  const half = field.modulus / 2n;
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const x = field.toBig(data, i);
    out.push(x > half ? x - field.modulus : x);
  }
  return out;
}
