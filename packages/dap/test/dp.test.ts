// Differential privacy end to end: both aggregators noise their aggregate shares; over many collections the noise
// in the collected aggregate has the variance of two independent samples (2σ² for the discrete Gaussian), not one
// and not zero. With DP off the aggregate is exact. Invalid DP settings are refused naming task.dp.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { discreteGaussianVariance, discreteLaplaceVariance } from '@cobble/vdaf';
import { DapClient, DapCollector, TaskError, taskFromJson, taskToJson, type VdafConfig } from '../src/index.js';
import { noiseDistribution, parseDpSpec, type DpConfig } from '../src/dp.js';
import { provision, startPair, type Pair } from './harness.js';
import { cobbleBin } from './support/processes.js';

const P = 60;

/** Uploads `perBatch` reports into each of `batches` past intervals, collects each, returns the noise per entry. */
async function noiseSamples(pair: Pair, vdaf: VdafConfig, dp: DpConfig | undefined, batches: number, measure: (i: number) => unknown, truth: (ms: unknown[]) => number[]): Promise<number[]> {
  const task = await provision(pair, { version: 'dap-18', vdaf, minBatchSize: 2, timePrecision: P, dp });
  const client = new DapClient(task.client);
  const now = Math.floor(Date.now() / 1000);
  const base = now - (now % P) - (batches + 2) * P;
  const perBatch: unknown[][] = [];
  const reports = [];
  for (let b = 0; b < batches; b++) {
    const ms = [measure(2 * b), measure(2 * b + 1)];
    perBatch.push(ms);
    for (const m of ms) reports.push(await client.prepareReport(m, base + b * P + 7));
  }
  const up = await client.uploadReports(reports, { concurrency: 4, batchSize: 100 });
  assert.equal(up.uploaded, reports.length);
  const collector = new DapCollector(task.collector);
  const noise: number[] = [];
  for (let b = 0; b < batches; b++) {
    const r = await collector.collect({ interval: { start: base + b * P, duration: P } }, { timeoutMs: 30_000, pollMs: 20 });
    assert.equal(r.reportCount, 2);
    const got = (Array.isArray(r.aggregate) ? r.aggregate : [r.aggregate]) as number[];
    const want = truth(perBatch[b]);
    assert.equal(got.length, want.length);
    got.forEach((g, i) => noise.push(Number(g) - want[i]));
  }
  return noise;
}

function stats(xs: number[]) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const m2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n;
  const m4 = xs.reduce((a, x) => a + (x - mean) ** 4, 0) / n;
  return { mean, variance: (m2 * n) / (n - 1), seMean: Math.sqrt(m2 / n), seVar: Math.sqrt((m4 - m2 * m2) / n) };
}

const histogram = (length: number) => (ms: unknown[]) => Array.from({ length }, (_, k) => ms.filter((m) => m === k).length);

test('DP: discrete Gaussian on Histogram, discrete Laplace on SumVec; the collected noise has two aggregators\' variance; DP off is exact', async (t) => {
  const pair = await startPair();
  try {
    await t.test('Histogram(40), discrete Gaussian σ = 3 per aggregator: variance 2σ² over 30 collections', async () => {
      const noise = await noiseSamples(pair, { type: 'Prio3Histogram', length: 40, chunkLength: 7 }, { mechanism: 'discrete-gaussian', sigma: 3 }, 30, (i) => (i * 13) % 40, histogram(40));
      const s = stats(noise);
      const expected = 2 * discreteGaussianVariance(3);
      assert.ok(Math.abs(s.mean) <= 5 * s.seMean, `mean noise ${s.mean} (SE ${s.seMean})`);
      assert.ok(Math.abs(s.variance - expected) <= 5 * s.seVar, `variance ${s.variance} vs ${expected} (SE ${s.seVar})`);
      // One aggregator's noise alone (σ²) is far outside the tolerance: both added theirs.
      assert.ok(Math.abs(s.variance - expected / 2) > 5 * s.seVar, `variance ${s.variance} is not one aggregator's ${expected / 2}`);
      assert.ok(noise.some((x) => x < 0), 'negative noise reads back as negative numbers');
    });

    await t.test('SumVec(20, 2 bits), discrete Laplace at ε = 20 (scale Δ₁/ε = 60/20 = 3): variance 2·Var(Laplace(3)) over 30 collections', async () => {
      const vdaf: VdafConfig = { type: 'Prio3SumVec', length: 20, bits: 2, chunkLength: 5 };
      const dp: DpConfig = { mechanism: 'discrete-laplace', epsilon: 20 };
      const scale = noiseDistribution(vdaf, dp).parameter;
      assert.equal(Number(scale.num) / Number(scale.den), 3);
      const vec = (i: number) => Array.from({ length: 20 }, (_, k) => (i + k) % 4);
      const noise = await noiseSamples(pair, vdaf, dp, 30, vec, (ms) => Array.from({ length: 20 }, (_, k) => (ms as number[][]).reduce((a, m) => a + m[k], 0)));
      const s = stats(noise);
      const expected = 2 * discreteLaplaceVariance(3);
      assert.ok(Math.abs(s.mean) <= 5 * s.seMean, `mean noise ${s.mean} (SE ${s.seMean})`);
      assert.ok(Math.abs(s.variance - expected) <= 5 * s.seVar, `variance ${s.variance} vs ${expected} (SE ${s.seVar})`);
    });

    await t.test('Sum with an (ε, δ) budget is noised; DP off: every collection exact', async () => {
      const noised = await noiseSamples(pair, { type: 'Prio3Sum', maxMeasurement: 100 }, { mechanism: 'discrete-gaussian', epsilon: 1, delta: 1e-9 }, 3, (i) => i * 7, (ms) => [(ms as number[]).reduce((a, b) => a + b, 0)]);
      assert.ok(noised.some((x) => x !== 0), `an (ε, δ) = (1, 1e-9) Gaussian at sensitivity 100 (σ ≈ 600) moved the sum: ${noised}`);
      const exact = await noiseSamples(pair, { type: 'Prio3Histogram', length: 40, chunkLength: 7 }, undefined, 5, (i) => (i * 13) % 40, histogram(40));
      assert.ok(exact.every((x) => x === 0), `without DP the aggregate is exact (${exact.filter((x) => x !== 0).length} entries off)`);
    });
  } finally {
    await pair.close();
  }
});

test('DP settings are validated and round-trip through the task JSON', async () => {
  const { newTask } = await import('../src/index.js');
  const t = await newTask({ version: 'dap-18', leaderUrl: 'http://127.0.0.1:1/', helperUrl: 'http://127.0.0.1:2/', vdaf: { type: 'Prio3Histogram', length: 4, chunkLength: 2 }, dp: { mechanism: 'discrete-gaussian', epsilon: 1, delta: 1e-6 } });
  assert.deepEqual(taskFromJson(taskToJson(t.leader)).dp, { mechanism: 'discrete-gaussian', epsilon: 1, delta: 1e-6 });
  assert.deepEqual(t.collector.dp, t.leader.dp);
  const json = taskToJson(t.helper);
  assert.throws(() => taskFromJson({ ...json, vdaf: { type: 'Prio3Count' }, vdafVerifyKey: json.vdafVerifyKey }), (e: Error) => e instanceof TaskError && /^task\.dp: .*Prio3Count/.test(e.message));
  assert.throws(() => taskFromJson({ ...json, dp: { mechanism: 'discrete-gaussian', sigma: 2, epsilon: 1 } }), /task\.dp: give either sigma or epsilon/);
  assert.throws(() => taskFromJson({ ...json, dp: { mechanism: 'discrete-laplace' } }), /task\.dp: give either scale or epsilon/);
  assert.throws(() => taskFromJson({ ...json, dp: { mechanism: 'uniform' } }), /task\.dp/);
  // σ for (ε, δ) = (1, 1e-6) at l2 sensitivity √2 (Histogram): Δ₂ / √(2ρ) with ρ = (√(ln 1e6 + 1) - √(ln 1e6))².
  const rho = (Math.sqrt(Math.log(1e6) + 1) - Math.sqrt(Math.log(1e6))) ** 2;
  const sigma = noiseDistribution({ type: 'Prio3Histogram', length: 4, chunkLength: 2 }, { mechanism: 'discrete-gaussian', epsilon: 1, delta: 1e-6 }).parameter;
  assert.ok(Math.abs(Number(sigma.num) / Number(sigma.den) - Math.SQRT2 / Math.sqrt(2 * rho)) < 1e-9);
});

test('--dp specs: short forms and JSON; errors list the forms', () => {
  assert.deepEqual(parseDpSpec('gaussian:epsilon=1,delta=1e-9'), { mechanism: 'discrete-gaussian', epsilon: 1, delta: 1e-9 });
  assert.deepEqual(parseDpSpec('Laplace:scale=4'), { mechanism: 'discrete-laplace', scale: 4 });
  assert.deepEqual(parseDpSpec('{"mechanism":"discrete-gaussian","sigma":3}'), { mechanism: 'discrete-gaussian', sigma: 3 });
  assert.throws(() => parseDpSpec('uniform:scale=1'), /unknown mechanism 'uniform'.*gaussian:sigma=S/);
  assert.throws(() => parseDpSpec('laplace:sigma=1'), /laplace:scale=B/);
  assert.throws(() => parseDpSpec('gaussian:sigma=x'), /'sigma=x' is not KEY=NUMBER/);
});

test('cobble dap task create --dp: the task and the collector parameters carry it; a VDAF without DP is refused naming --dp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-dap-dp-'));
  try {
    for (const role of ['leader', 'helper']) writeFileSync(join(dir, `${role}.yaml`), `role: ${role}\nstorage: { sqlite: ${role}.sqlite }\n`);
    const args = ['dap', 'task', 'create', '--version', 'dap-18', '--leader', 'http://127.0.0.1:1/', '--helper', 'http://127.0.0.1:2/', '--leader-config', join(dir, 'leader.yaml'), '--helper-config', join(dir, 'helper.yaml'), '--out', dir];
    const ok = spawnSync(process.execPath, [cobbleBin, ...args, '--vdaf', 'histogram:4', '--dp', 'laplace:epsilon=0.5'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const collector = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.collector.json'))!), 'utf8'));
    assert.deepEqual(collector.dp, { mechanism: 'discrete-laplace', epsilon: 0.5 });
    const bad = spawnSync(process.execPath, [cobbleBin, ...args, '--vdaf', 'count', '--dp', 'gaussian:sigma=2'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    // Named as the flag or as the task key, depending on which check refuses it first.
    assert.match(bad.stderr, /(--dp gaussian:sigma=2|task\.dp): differential privacy is implemented for Prio3Sum, Prio3SumVec and Prio3Histogram, not Prio3Count/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
