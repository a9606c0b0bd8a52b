// Differential privacy, opt-in per task (VDAF-20 Security Considerations; Janus/libprio's aggregator-side noise):
// each aggregator adds independent discrete Gaussian or discrete Laplace noise to its aggregate share of Prio3Sum,
// Prio3SumVec and Prio3Histogram, calibrated to the VDAF's sensitivity, so the aggregate is differentially private
// as long as one aggregator is honest. The collector reads the noised sum as signed integers (noise can push a
// count below zero). Browser-safe: no `node:` import (the collector uses it).
import { z } from 'zod';
import {
  addNoiseToVector, centeredIntegers, gaussianSigmaForZcdp, laplaceScaleFor, toRational, zcdpRhoFor, type NoiseDistribution,
} from '@cobble/vdaf';
import { sumMax, type Prio3, type VdafConfig } from './vdaf.js';

/** An invalid DP setting; the message names the key (`dp.…`) or the --dp spec. */
export class DpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DpError';
  }
}

export const dpSchema = z.discriminatedUnion('mechanism', [
  z.object({
    mechanism: z.literal('discrete-gaussian'),
    /** σ of each aggregator's noise, given directly ... */
    sigma: z.number().positive().optional(),
    /** ... or from a budget: ε alone is ρ = ε²/2 zero-concentrated DP (libprio's ZCdpBudget); ε with δ is (ε, δ)-DP. */
    epsilon: z.number().positive().optional(),
    delta: z.number().gt(0).lt(1).optional(),
  }).strict(),
  z.object({
    mechanism: z.literal('discrete-laplace'),
    /** The scale b of each aggregator's noise (P ∝ exp(-|x|/b)), or ε of pure ε-DP. */
    scale: z.number().positive().optional(),
    epsilon: z.number().positive().optional(),
  }).strict(),
]);
export type DpConfig = z.infer<typeof dpSchema>;

/** l1 and l2 sensitivity of the aggregate when one measurement is replaced by another (substitution neighbours). */
export function sensitivity(vdaf: VdafConfig): { l1: number; l2: number } {
  switch (vdaf.type) {
    case 'Prio3Histogram':
      return { l1: 2, l2: Math.SQRT2 };
    case 'Prio3SumVec': {
      const max = 2 ** vdaf.bits - 1;
      return { l1: max * vdaf.length, l2: max * Math.sqrt(vdaf.length) };
    }
    case 'Prio3Sum': {
      const max = sumMax(vdaf);
      return { l1: max, l2: max };
    }
    default:
      throw new DpError(`differential privacy is implemented for Prio3Sum, Prio3SumVec and Prio3Histogram, not ${vdaf.type}`);
  }
}

/** The noise each aggregator adds, or an error naming the `dp` key at fault. */
export function noiseDistribution(vdaf: VdafConfig, dp: DpConfig): NoiseDistribution {
  const s = sensitivity(vdaf);
  if (dp.mechanism === 'discrete-gaussian') {
    if ((dp.sigma === undefined) === (dp.epsilon === undefined)) throw new DpError('dp: give either sigma or epsilon (with an optional delta)');
    if (dp.delta !== undefined && dp.epsilon === undefined) throw new DpError('dp.delta: goes with epsilon');
    const sigma = dp.sigma ?? gaussianSigmaForZcdp(s.l2, dp.delta === undefined ? dp.epsilon! ** 2 / 2 : zcdpRhoFor(dp.epsilon!, dp.delta));
    return { mechanism: 'discrete-gaussian', parameter: toRational(sigma, 'dp.sigma') };
  }
  if ((dp.scale === undefined) === (dp.epsilon === undefined)) throw new DpError('dp: give either scale or epsilon');
  return { mechanism: 'discrete-laplace', parameter: toRational(dp.scale ?? laplaceScaleFor(s.l1, dp.epsilon!), 'dp.scale') };
}

/** An aggregator's encoded aggregate share with its noise added (a fresh sample on every call). */
export function noisedAggregateShare(vdaf: Prio3, cfg: VdafConfig, dp: DpConfig, encoded: Uint8Array): Uint8Array {
  const share = vdaf.decodeAggregateShare(encoded);
  const data = share.data.slice();
  addNoiseToVector(vdaf.field, data, noiseDistribution(cfg, dp));
  return vdaf.encodeAggregateShare({ data });
}

/** The collector's result of a noised task: the summed shares as signed integers (a number for Sum, else a list). */
export function unshardNoised(vdaf: Prio3, cfg: VdafConfig, shares: Uint8Array[]): number | bigint | (number | bigint)[] {
  const agg = vdaf.aggregate(shares.map((s) => vdaf.decodeAggregateShare(s)));
  const values = centeredIntegers(vdaf.field, agg.data).map((x) => (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x));
  return cfg.type === 'Prio3Sum' ? values[0] : values;
}

export const DP_SPEC_FORMS = ['gaussian:sigma=S', 'gaussian:epsilon=E', 'gaussian:epsilon=E,delta=D', 'laplace:scale=B', 'laplace:epsilon=E', "'{\"mechanism\":\"discrete-gaussian\",\"sigma\":3}'"];

/** `cobble dap task create --dp SPEC`: `gaussian:epsilon=1,delta=1e-9`, `laplace:scale=4`, or the task JSON's object. */
export function parseDpSpec(spec: string): DpConfig {
  const fail = (why: string): never => {
    throw new DpError(`--dp ${spec}: ${why}; use one of ${DP_SPEC_FORMS.join(', ')}`);
  };
  let input: unknown;
  if (spec.trim().startsWith('{')) {
    try {
      input = JSON.parse(spec);
    } catch (e) {
      fail(`not valid JSON (${(e as Error).message})`);
    }
  } else {
    const [name, params = ''] = spec.split(':', 2);
    const mechanism = { gaussian: 'discrete-gaussian', 'discrete-gaussian': 'discrete-gaussian', laplace: 'discrete-laplace', 'discrete-laplace': 'discrete-laplace' }[name.toLowerCase()];
    if (!mechanism) fail(`unknown mechanism '${name}'`);
    const o: Record<string, unknown> = { mechanism };
    for (const kv of params.split(',').filter(Boolean)) {
      const [k, v] = kv.split('=');
      if (v === undefined || !Number.isFinite(Number(v))) fail(`'${kv}' is not KEY=NUMBER`);
      o[k] = Number(v);
    }
    input = o;
  }
  const r = dpSchema.safeParse(input);
  if (!r.success) fail(`${r.error.issues[0].path.join('.') || 'mechanism'}: ${r.error.issues[0].message}`);
  return r.data!;
}
