// Our client and collector end to end for every Prio3 variant on DAP-09 and DAP-18 tasks, both batch modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DapClient, DapCollector, type DapVersion, type StoreOptions, type VdafConfig } from '../src/index.js';
import { currentInterval, provision, startPair, type Pair } from './harness.js';

interface Case {
  version: DapVersion;
  vdaf: VdafConfig;
  values: unknown[];
  expected: unknown;
  batchMode?: 'time-interval' | 'leader-selected';
}

export const CASES: Case[] = [
  { version: 'dap-09', vdaf: { type: 'Prio3Count' }, values: [1, 1, 0, 1], expected: 3 },
  { version: 'dap-09', vdaf: { type: 'Prio3Sum', bits: 8 }, values: [10, 255, 0, 7], expected: 272 },
  { version: 'dap-09', vdaf: { type: 'Prio3SumVec', length: 3, bits: 4, chunkLength: 2 }, values: [[1, 2, 3], [15, 15, 15], [0, 1, 0]], expected: [16, 18, 18] },
  { version: 'dap-09', vdaf: { type: 'Prio3Histogram', length: 5, chunkLength: 2 }, values: [0, 4, 4, 2], expected: [1, 0, 1, 0, 2] },
  { version: 'dap-09', vdaf: { type: 'Prio3Count' }, values: [1, 0, 1, 1, 1], expected: 4, batchMode: 'leader-selected' },
  { version: 'dap-18', vdaf: { type: 'Prio3Count' }, values: [1, 1, 0, 1], expected: 3 },
  { version: 'dap-18', vdaf: { type: 'Prio3Sum', maxMeasurement: 200 }, values: [10, 200, 0, 7], expected: 217 },
  { version: 'dap-18', vdaf: { type: 'Prio3SumVec', length: 3, bits: 4, chunkLength: 2 }, values: [[1, 2, 3], [15, 15, 15], [0, 1, 0]], expected: [16, 18, 18] },
  { version: 'dap-18', vdaf: { type: 'Prio3Histogram', length: 5, chunkLength: 2 }, values: [0, 4, 4, 2], expected: [1, 0, 1, 0, 2] },
  { version: 'dap-18', vdaf: { type: 'Prio3MultihotCountVec', length: 4, maxWeight: 2, chunkLength: 2 }, values: [[true, false, true, false], [false, false, false, true], [true, true, false, false]], expected: [2, 1, 1, 1] },
  { version: 'dap-18', vdaf: { type: 'Prio3Histogram', length: 3, chunkLength: 2 }, values: [0, 1, 1, 2, 2, 2], expected: [1, 2, 3], batchMode: 'leader-selected' },
];

export function matrix(label: string, stores: () => Promise<{ leader: StoreOptions; helper: StoreOptions; cleanup(): Promise<void> } | undefined>): void {
  test(`${label}: every Prio3 variant end to end on DAP-09 and DAP-18 tasks`, async (t) => {
    const s = await stores();
    if (!s) {
      t.skip('storage unavailable');
      return;
    }
    let pair: Pair | undefined;
    try {
      pair = await startPair({ leaderStore: s.leader, helperStore: s.helper });
      for (const c of CASES) {
        await t.test(`${c.version} ${c.vdaf.type}${c.batchMode === 'leader-selected' ? ' (leader-selected)' : ''}`, async () => {
          const task = await provision(pair!, { version: c.version, vdaf: c.vdaf, minBatchSize: c.values.length, timePrecision: 600, batchMode: c.batchMode });
          const up = await new DapClient(task.client).upload(c.values);
          assert.equal(up.uploaded, c.values.length);
          assert.deepEqual(up.rejected, []);
          const collector = new DapCollector(task.collector);
          const r = await collector.collect(c.batchMode === 'leader-selected' ? {} : { interval: currentInterval(600) }, { timeoutMs: 30000, pollMs: 100 });
          assert.equal(r.reportCount, c.values.length);
          assert.deepEqual(r.aggregate, c.expected);
          if (c.batchMode === 'leader-selected' && c.version === 'dap-09') assert.ok(r.batchId, 'DAP-09 names the batch it collected');
        });
      }
    } finally {
      await pair?.close();
      await s.cleanup();
    }
  });
}
