import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DapClient, DapCollector } from '../src/index.js';
import { currentInterval, provision, startPair } from './harness.js';

test('DAP-09 Count end to end on SQLite: our client uploads, our collector collects the exact sum', async () => {
  const pair = await startPair();
  try {
    const t = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 5, timePrecision: 300 });
    const client = new DapClient(t.client);
    const values = [1, 0, 1, 1, 0, 1, 1];
    const s = await client.upload(values);
    assert.equal(s.uploaded, values.length);
    const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 20000 });
    assert.equal(r.reportCount, values.length);
    assert.equal(r.aggregate, 5);
  } finally {
    await pair.close();
  }
});
