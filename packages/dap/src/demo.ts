// A leader and a helper on loopback with one demo task, for `cobble up` / `npm start`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAggregator, type RunningAggregator } from './aggregator/index.js';
import { newTask, type ClientParams, type CollectorParams } from './params.js';
import { DapStore } from './store/index.js';
import type { DapVersion } from './messages/index.js';

export interface DapDemo {
  leaderUrl: string;
  helperUrl: string;
  taskId: string;
  clientParamsFile: string;
  collectorParamsFile: string;
  printInstructions(): string;
  close(): Promise<void>;
}

export async function startDapDemo(opts: { dataDir: string; leaderPort?: number; helperPort?: number; version?: DapVersion; cli?: string }): Promise<DapDemo> {
  mkdirSync(opts.dataDir, { recursive: true });
  let helper: RunningAggregator | undefined;
  let leader: RunningAggregator | undefined;
  try {
    helper = await startAggregator({ role: 'helper', store: await DapStore.open({ sqlite: join(opts.dataDir, 'helper.sqlite') }), port: opts.helperPort ?? 0 });
    leader = await startAggregator({ role: 'leader', store: await DapStore.open({ sqlite: join(opts.dataDir, 'leader.sqlite') }), port: opts.leaderPort ?? 0 });
  } catch (e) {
    await helper?.close();
    throw e;
  }
  const t = await newTask({ version: opts.version ?? 'dap-09', leaderUrl: leader.url, helperUrl: helper.url, vdaf: { type: 'Prio3Count' }, minBatchSize: 10, timePrecision: 60 });
  await leader.ctx.putTask(t.leader);
  await helper.ctx.putTask(t.helper);
  const clientParamsFile = join(opts.dataDir, 'demo-client.json');
  const collectorParamsFile = join(opts.dataDir, 'demo-collector.json');
  writeFileSync(clientParamsFile, JSON.stringify(t.client satisfies ClientParams, null, 2) + '\n');
  writeFileSync(collectorParamsFile, JSON.stringify(t.collector satisfies CollectorParams, null, 2) + '\n', { mode: 0o600 });
  const cli = opts.cli ?? 'npx cobble';
  const l = leader;
  const h = helper;
  return {
    leaderUrl: l.url,
    helperUrl: h.url,
    taskId: t.client.taskId,
    clientParamsFile,
    collectorParamsFile,
    printInstructions: () =>
      [
        `DAP leader ${l.url} and helper ${h.url} (${t.client.version}, Prio3Count, min batch size 10)`,
        `  upload:  ${cli} dap upload --params ${clientParamsFile} 1 0 1 1 1 0 1 1 1 1 1`,
        `  collect: ${cli} dap collect --params ${collectorParamsFile}   (once the minute of the uploads has ended)`,
      ].join('\n'),
    async close() {
      await l.close();
      await h.close();
    },
  };
}
