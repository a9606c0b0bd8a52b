import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DapClient, DapCollector } from '../src/index.js';
import { currentInterval, provision, startPair } from './harness.js';
import { matrix } from './matrix.js';

matrix('SQLite (one file per aggregator)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-dap-'));
  return { leader: { sqlite: join(dir, 'leader.sqlite') }, helper: { sqlite: join(dir, 'helper.sqlite') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

test('DAP-09 Count with several uploads in flight, jobs split across drivers', async () => {
  const pair = await startPair({ tunables: { maxJobSize: 7, drivers: 3 } });
  try {
    const t = await provision(pair, { version: 'dap-09', vdaf: { type: 'Prio3Count' }, minBatchSize: 40, timePrecision: 300 });
    const values = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const s = await new DapClient(t.client).upload(values, { concurrency: 16 });
    assert.equal(s.uploaded, 60);
    const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30000 });
    assert.equal(r.reportCount, 60);
    assert.equal(r.aggregate, 40);
    const stats = await pair.leader.ctx.store.stats(t.client.taskId);
    assert.ok((stats.jobs.finished ?? 0) >= 9, `expected ≥ 9 jobs of ≤ 7 reports, got ${JSON.stringify(stats.jobs)}`);
  } finally {
    await pair.close();
  }
});
