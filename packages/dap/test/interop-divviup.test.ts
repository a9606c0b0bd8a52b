// Interop: the independent DAP-09 client @divviup/dap (0.9.1) uploads to our leader/helper; our collector
// must recover exactly the aggregate of what was uploaded.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import Task from '@divviup/dap';
import { DapCollector, type VdafConfig } from '../src/index.js';
import { currentInterval, provision, startPair, type Pair } from './harness.js';

let pair: Pair;
before(async () => {
  pair = await startPair();
});
after(async () => {
  await pair.close();
});

const cases: { name: string; vdaf: VdafConfig; spec: any; values: any[]; expected: unknown }[] = [
  { name: 'Count', vdaf: { type: 'Prio3Count' }, spec: { type: 'count' }, values: [true, false, true, true, false, true], expected: 4 },
  { name: 'Sum', vdaf: { type: 'Prio3Sum', bits: 8 }, spec: { type: 'sum', bits: 8 }, values: [3, 250, 0, 17, 42, 100], expected: 412 },
  { name: 'Histogram', vdaf: { type: 'Prio3Histogram', length: 4, chunkLength: 2 }, spec: { type: 'histogram', length: 4, chunkLength: 2 }, values: [0, 3, 3, 1, 3, 2], expected: [1, 1, 1, 3] },
  {
    name: 'SumVec', vdaf: { type: 'Prio3SumVec', length: 3, bits: 4, chunkLength: 2 }, spec: { type: 'sumVec', length: 3, bits: 4, chunkLength: 2 },
    values: [[1, 2, 3], [15, 0, 1], [0, 0, 0], [4, 4, 4], [1, 1, 1], [2, 3, 5]], expected: [23, 10, 14],
  },
];

for (const c of cases) {
  test(`@divviup/dap uploads Prio3${c.name} reports (DAP-09); our collector gets the true aggregate`, async () => {
    const t = await provision(pair, { version: 'dap-09', vdaf: c.vdaf, minBatchSize: c.values.length, timePrecision: 300 });
    const task = new Task({ ...c.spec, id: t.client.taskId, leader: pair.leader.url, helper: pair.helper.url, timePrecisionSeconds: 300 });
    for (const v of c.values) await task.sendMeasurement(v);
    const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
    assert.equal(r.reportCount, c.values.length);
    assert.deepEqual(r.aggregate, c.expected);
  });
}

test('a report replayed through @divviup/dap is rejected with reportRejected and a taskid', async () => {
  const t = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 1, timePrecision: 300 });
  const task = new Task({ type: 'count', id: t.client.taskId, leader: pair.leader.url, helper: pair.helper.url, timePrecisionSeconds: 300 });
  const report = await task.generateReport(true);
  await task.sendReport(report);
  await assert.rejects(task.sendReport(report), (e: any) => {
    assert.equal(e.name === 'DAPError' || e.constructor?.name === 'DAPError', true, String(e));
    assert.equal(e.shortType, 'reportRejected');
    assert.equal(e.taskId.toString(), t.client.taskId);
    return true;
  });
  const res = await fetch(`${pair.leader.url}tasks/${t.client.taskId}/reports`, { method: 'PUT', headers: { 'content-type': 'application/dap-report' }, body: report.encode() });
  assert.equal(res.status, 400);
  const problem = (await res.json()) as { type: string; taskid: string };
  assert.equal(problem.type, 'urn:ietf:params:ppm:dap:error:reportRejected');
  assert.equal(problem.taskid, t.client.taskId);
  const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
  assert.equal(r.reportCount, 1, 'the replay is not counted');
});
