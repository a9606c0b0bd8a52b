// The exact DP samplers: moments against the distributions' own (within 5 standard errors of the estimator),
// the budgets' arithmetic, and noise on field vectors read back as signed integers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Field64, Field128, addNoiseToVector, centeredIntegers, cryptoUniform, discreteGaussianVariance, discreteLaplaceVariance, gaussianSigmaForZcdp,
  laplaceScaleFor, sampleDiscreteGaussian, sampleDiscreteLaplace, toRational, zcdpRhoFor, zcdpToEpsilon,
} from '../src/index.js';

const N = 20_000;

/** Sample mean and variance, with the standard errors of both estimators (the latter from the 4th moment). */
function moments(xs: number[]) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n;
  const m4 = xs.reduce((a, x) => a + (x - mean) ** 4, 0) / n;
  return { mean, variance: (m2 * n) / (n - 1), seMean: Math.sqrt(m2 / n), seVar: Math.sqrt((m4 - m2 * m2) / n) };
}

function checkMoments(xs: number[], variance: number, label: string): void {
  const m = moments(xs);
  assert.ok(Math.abs(m.mean) <= 5 * m.seMean, `${label}: mean ${m.mean} not within 5 SE (${m.seMean}) of 0`);
  assert.ok(Math.abs(m.variance - variance) <= 5 * m.seVar, `${label}: variance ${m.variance} not within 5 SE (${m.seVar}) of ${variance}`);
}

describe('discrete Laplace (CKS20 Algorithm 2)', () => {
  for (const scale of [0.5, 3, 12.25]) {
    it(`scale ${scale}: mean 0 and variance 2e^(-1/b)/(1-e^(-1/b))² over ${N} samples`, () => {
      const xs = Array.from({ length: N }, () => Number(sampleDiscreteLaplace(scale)));
      assert.ok(xs.every(Number.isInteger));
      checkMoments(xs, discreteLaplaceVariance(scale), `Laplace(${scale})`);
    });
  }

  it('P(0) matches (1 - e^(-1/b)) / (1 + e^(-1/b)) and the law is symmetric', () => {
    const scale = 2;
    const xs = Array.from({ length: N }, () => Number(sampleDiscreteLaplace(scale)));
    const q = Math.exp(-1 / scale);
    const p0 = (1 - q) / (1 + q);
    const zeros = xs.filter((x) => x === 0).length / N;
    assert.ok(Math.abs(zeros - p0) <= 5 * Math.sqrt((p0 * (1 - p0)) / N), `P(0) ${zeros} vs ${p0}`);
    const pos = xs.filter((x) => x > 0).length;
    const neg = xs.filter((x) => x < 0).length;
    assert.ok(Math.abs(pos - neg) <= 5 * Math.sqrt(pos + neg), `positive ${pos} vs negative ${neg}`);
  });

  it('scale 0 is no noise', () => {
    assert.equal(sampleDiscreteLaplace(0), 0n);
  });
});

describe('discrete Gaussian (CKS20 Algorithm 3)', () => {
  for (const sigma of [0.7, 4, 25.5]) {
    it(`sigma ${sigma}: mean 0 and the distribution's variance over ${N} samples`, () => {
      const xs = Array.from({ length: N }, () => Number(sampleDiscreteGaussian(sigma)));
      checkMoments(xs, discreteGaussianVariance(sigma), `Gaussian(${sigma})`);
    });
  }

  it('the variance is σ² once σ ≥ 1 (the sampler is not a Laplace in disguise)', () => {
    assert.ok(Math.abs(discreteGaussianVariance(4) - 16) < 1e-9);
    // Same σ², very different tails: the Gaussian's 4th moment is 3σ⁴, the Laplace's about 6σ⁴.
    const xs = Array.from({ length: N }, () => Number(sampleDiscreteGaussian(4)));
    const kurtosis = xs.reduce((a, x) => a + x ** 4, 0) / N / 16 ** 2;
    assert.ok(Math.abs(kurtosis - 3) < 0.35, `kurtosis ${kurtosis}`);
  });

  it('takes σ as an exact rational', () => {
    const xs = Array.from({ length: 5000 }, () => Number(sampleDiscreteGaussian({ num: 7n, den: 2n })));
    checkMoments(xs, discreteGaussianVariance(3.5), 'Gaussian(7/2)');
  });
});

describe('exact arithmetic and the random source', () => {
  it('toRational is the exact value of a double', () => {
    assert.deepEqual(toRational(0.75), { num: 3n, den: 4n });
    assert.deepEqual(toRational(0.1), { num: 3602879701896397n, den: 36028797018963968n });
    assert.throws(() => toRational(-1), /non-negative/);
    assert.throws(() => toRational(Number.NaN), /finite/);
  });

  it('cryptoUniform covers [0, n) evenly, also beyond 2^53', () => {
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[Number(cryptoUniform(7n))]++;
    for (const c of counts) assert.ok(Math.abs(c - 1000) < 5 * Math.sqrt(1000), `counts ${counts}`);
    const big = 3n ** 80n;
    for (let i = 0; i < 100; i++) {
      const x = cryptoUniform(big);
      assert.ok(x >= 0n && x < big);
    }
  });
});

describe('budgets', () => {
  it('Laplace scale Δ₁/ε; Gaussian σ = Δ₂/√(2ρ)', () => {
    assert.equal(laplaceScaleFor(2, 0.5), 4);
    assert.ok(Math.abs(gaussianSigmaForZcdp(Math.SQRT2, 0.5) - Math.SQRT2) < 1e-12);
  });

  it('the ρ for (ε, δ) gives back ε through the zCDP → (ε, δ) conversion', () => {
    for (const [eps, delta] of [[1, 1e-6], [0.1, 1e-9], [4, 1e-5]]) {
      const rho = zcdpRhoFor(eps, delta);
      assert.ok(Math.abs(zcdpToEpsilon(rho, delta) - eps) < 1e-9, `eps ${eps}`);
    }
    assert.throws(() => zcdpRhoFor(1, 0), /delta/);
  });
});

describe('noise on field vectors', () => {
  for (const field of [Field64, Field128]) {
    it(`${field.name}: negative noise wraps mod p and reads back as a signed integer`, () => {
      const values = [0n, 5n, 1000n];
      const data = field.vec(values.length);
      values.forEach((v, i) => field.setBig(data, i, v));
      const noised = data.slice();
      addNoiseToVector(field, noised, { mechanism: 'discrete-gaussian', parameter: toRational(50) });
      const back = centeredIntegers(field, noised);
      const diffs = back.map((x, i) => Number(x - values[i]));
      assert.ok(diffs.every((d) => Math.abs(d) < 50 * 8), `noise ${diffs}`);
      assert.ok(diffs.some((d) => d !== 0), 'noise was added');
      // Many vectors: some element must have gone below zero, which only a centred reading shows.
      let negative = false;
      for (let k = 0; k < 50 && !negative; k++) {
        const z = field.vec(1);
        addNoiseToVector(field, z, { mechanism: 'discrete-laplace', parameter: toRational(3) });
        negative = centeredIntegers(field, z)[0] < 0n;
        if (negative) assert.ok(field.toBig(z, 0) > field.modulus / 2n);
      }
      assert.ok(negative);
    });
  }
});
