// `cobble dap ...`: run a DAP aggregator, provision tasks, upload measurements, collect aggregates.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  ConfigError, DapClient, DapCollector, DapCollectError, DapStore, DapUploadError, HpkeKeyring, TaskError, loadDapConfigFile, newTask, parseDapConfig,
  startAggregator, taskToJson, type ClientParams, type CollectorParams, type DapServeConfig, type VdafConfig,
} from '@cobble/dap';
import { CliError } from '../errors.js';

export const summary = 'DAP aggregators, client and collector: `cobble dap serve|task|upload|collect|keys`';

const usage = `usage:
  cobble dap serve --role leader|helper [--config FILE] [--port N]
      Runs a DAP aggregator (DAP-09 and DAP-18, chosen per task). Default storage: data/dap-<role>.sqlite.
  cobble dap task create --leader URL --helper URL --vdaf SPEC [--version dap-09|dap-18] [--min-batch-size N]
        [--time-precision SECONDS] [--batch-mode time-interval|leader-selected] [--max-batch-size N] [--expires EPOCH]
        [--leader-config FILE --helper-config FILE | --leader-admin URL --helper-admin URL --admin-token TOKEN]
        [--out DIR]
      Creates a task on both aggregators and prints what the client and the collector need.
      SPEC: count | sum:BITS | sum:max=N | histogram:LENGTH[:CHUNK] | sumvec:LENGTH:BITS[:CHUNK] | multihot:LENGTH:MAXWEIGHT[:CHUNK]
  cobble dap upload --params CLIENT.json [--time EPOCH] VALUE...
      Uploads one report per VALUE (JSON: 1, true, 3, [1,2,3]).
  cobble dap collect --params COLLECTOR.json [--start EPOCH --duration SECONDS] [--timeout SECONDS]
      Collects a batch (default: the last 24 hours) and prints the aggregate.
  cobble dap keys list|rotate [--config FILE] [--role leader|helper]
      Shows or advances the HPKE key lifecycle (pending → active → expired).`;

function parse(args: string[], options: ParseArgsConfig['options']): { values: Record<string, string | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: r.values as Record<string, string | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
}

function loadConfig(file: string | undefined, role: string | undefined): DapServeConfig {
  try {
    return file ? loadDapConfigFile(file, role) : parseDapConfig({}, '(defaults)', role);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

function readParams<T>(file: string | undefined, flag: string): T {
  if (!file) throw new CliError(`${flag} FILE is required (the JSON printed by \`cobble dap task create\`)`, 2);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new CliError(`${file}: cannot read task parameters (${(e as Error).message}); pass the file written by \`cobble dap task create --out DIR\``);
  }
}

export function parseVdafSpec(spec: string, version: string): VdafConfig {
  const [kind, ...rest] = spec.split(':');
  const num = (s: string | undefined, what: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`--vdaf ${spec}: ${what} must be a positive integer`, 2);
    return n;
  };
  const chunk = (len: number, s?: string) => (s ? num(s, 'CHUNK') : Math.max(1, Math.round(Math.sqrt(len))));
  switch (kind) {
    case 'count':
      return { type: 'Prio3Count' };
    case 'sum':
      if (rest[0]?.startsWith('max=')) return { type: 'Prio3Sum', maxMeasurement: num(rest[0].slice(4), 'max') };
      return version === 'dap-18' ? { type: 'Prio3Sum', maxMeasurement: 2 ** num(rest[0] ?? '8', 'BITS') - 1 } : { type: 'Prio3Sum', bits: num(rest[0] ?? '8', 'BITS') };
    case 'histogram': {
      const length = num(rest[0], 'LENGTH');
      return { type: 'Prio3Histogram', length, chunkLength: chunk(length, rest[1]) };
    }
    case 'sumvec': {
      const length = num(rest[0], 'LENGTH');
      return { type: 'Prio3SumVec', length, bits: num(rest[1], 'BITS'), chunkLength: chunk(length * num(rest[1], 'BITS'), rest[2]) };
    }
    case 'multihot': {
      const length = num(rest[0], 'LENGTH');
      return { type: 'Prio3MultihotCountVec', length, maxWeight: num(rest[1], 'MAXWEIGHT'), chunkLength: chunk(length, rest[2]) };
    }
    default:
      throw new CliError(`--vdaf ${spec}: unknown VDAF; use count, sum:BITS, sum:max=N, histogram:LENGTH, sumvec:LENGTH:BITS or multihot:LENGTH:MAXWEIGHT`, 2);
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, { role: { type: 'string' }, config: { type: 'string', short: 'c' }, port: { type: 'string' } });
  const cfg = loadConfig(values.config as string | undefined, values.role as string | undefined);
  if (values.port !== undefined) cfg.options.port = Number(values.port);
  let agg;
  try {
    agg = await startAggregator(cfg.options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new CliError(`cannot listen on ${cfg.options.host}:${cfg.options.port} (${code}); set listen.port in ${cfg.source} or pass --port`);
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  console.log(`DAP ${cfg.role} listening on ${agg.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await agg.close();
  return 0;
}

async function provisionViaApi(base: string, token: string, body: unknown): Promise<void> {
  const url = base.replace(/\/+$/, '') + '/admin/tasks';
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  } catch (e) {
    throw new CliError(`cannot reach the provisioning API at ${url} (${(e as Error).message})`);
  }
  if (!res.ok) throw new CliError(`${url} refused the task (${res.status}): ${await res.text()}`);
}

async function taskCreate(args: string[]): Promise<number> {
  const { values } = parse(args, {
    leader: { type: 'string' }, helper: { type: 'string' }, vdaf: { type: 'string' }, version: { type: 'string' }, 'min-batch-size': { type: 'string' },
    'time-precision': { type: 'string' }, 'batch-mode': { type: 'string' }, 'max-batch-size': { type: 'string' }, expires: { type: 'string' },
    'leader-config': { type: 'string' }, 'helper-config': { type: 'string' }, 'leader-admin': { type: 'string' }, 'helper-admin': { type: 'string' },
    'admin-token': { type: 'string' }, out: { type: 'string' },
  });
  const v = values as Record<string, string | undefined>;
  if (!v.leader || !v.helper || !v.vdaf) throw new CliError(`--leader, --helper and --vdaf are required\n\n${usage}`, 2);
  const version = (v.version ?? 'dap-09') as 'dap-09' | 'dap-18';
  if (version !== 'dap-09' && version !== 'dap-18') throw new CliError(`--version must be dap-09 or dap-18, not ${v.version}`, 2);
  const batchMode = (v['batch-mode'] ?? 'time-interval') as 'time-interval' | 'leader-selected';
  if (batchMode !== 'time-interval' && batchMode !== 'leader-selected') throw new CliError('--batch-mode must be time-interval or leader-selected', 2);
  const int = (s: string | undefined, flag: string) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive integer`, 2);
    return n;
  };
  let t;
  try {
    t = await newTask({
      version, leaderUrl: v.leader, helperUrl: v.helper, vdaf: parseVdafSpec(v.vdaf, version), batchMode, minBatchSize: int(v['min-batch-size'], '--min-batch-size'),
      maxBatchSize: int(v['max-batch-size'], '--max-batch-size'), timePrecision: int(v['time-precision'], '--time-precision'), taskEnd: int(v.expires, '--expires'),
    });
  } catch (e) {
    if (e instanceof TaskError) throw new CliError(e.message, 2);
    throw e;
  }
  if (v['leader-admin'] || v['helper-admin']) {
    if (!v['leader-admin'] || !v['helper-admin'] || !v['admin-token']) throw new CliError('--leader-admin, --helper-admin and --admin-token go together', 2);
    await provisionViaApi(v['leader-admin'], v['admin-token'], taskToJson(t.leader));
    await provisionViaApi(v['helper-admin'], v['admin-token'], taskToJson(t.helper));
  } else {
    for (const [role, file, def] of [['leader', v['leader-config'], t.leader], ['helper', v['helper-config'], t.helper]] as const) {
      const cfg = loadConfig(file, role);
      const store = await DapStore.open(cfg.options.store as { sqlite?: string; postgres?: string });
      try {
        const r = await store.putTask({ taskId: t.client.taskId, role, version, definition: JSON.stringify(taskToJson(def)), at: Date.now() });
        if (r === 'conflict') throw new CliError(`task ${t.client.taskId} already exists in the ${role} store`);
      } finally {
        await store.close();
      }
    }
  }
  if (v.out) {
    mkdirSync(v.out, { recursive: true });
    writeFileSync(join(v.out, `${t.client.taskId}.client.json`), JSON.stringify(t.client, null, 2) + '\n');
    writeFileSync(join(v.out, `${t.client.taskId}.collector.json`), JSON.stringify(t.collector, null, 2) + '\n', { mode: 0o600 });
  }
  console.log(`task ${t.client.taskId} (${version}, ${t.client.vdaf.type}) created on the leader and the helper`);
  console.log('\nclient parameters (give these to clients):');
  console.log(JSON.stringify(t.client, null, 2));
  console.log('\ncollector parameters (secret: HPKE private key and bearer token):');
  console.log(JSON.stringify(t.collector, null, 2));
  if (v.out) console.log(`\nwritten to ${join(v.out, `${t.client.taskId}.client.json`)} and ${join(v.out, `${t.client.taskId}.collector.json`)}`);
  return 0;
}

async function upload(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { params: { type: 'string' }, time: { type: 'string' } });
  const params = readParams<ClientParams>(values.params as string | undefined, '--params');
  if (!positionals.length) throw new CliError('give at least one measurement, e.g. `cobble dap upload --params task.client.json 1 0 1`', 2);
  const measurements = positionals.map((p) => {
    try {
      return JSON.parse(p);
    } catch {
      throw new CliError(`measurement '${p}' is not JSON (write 1, true, 3 or [1,2,3])`, 2);
    }
  });
  try {
    const s = await new DapClient(params).upload(measurements, { time: values.time ? Number(values.time) : undefined });
    console.log(`uploaded ${s.uploaded} report(s)${s.rejected.length ? `, rejected ${s.rejected.length}: ${s.rejected.map((r) => `${r.reportId} ${r.error}`).join(', ')}` : ''}`);
    return s.rejected.length ? 1 : 0;
  } catch (e) {
    if (e instanceof DapUploadError || e instanceof RangeError) throw new CliError(e.message);
    if ((e as Error).message?.includes('fetch failed')) throw new CliError(`cannot reach the aggregators at ${params.leaderUrl} / ${params.helperUrl}`);
    throw e;
  }
}

async function collect(args: string[]): Promise<number> {
  const { values } = parse(args, { params: { type: 'string' }, start: { type: 'string' }, duration: { type: 'string' }, timeout: { type: 'string' } });
  const params = readParams<CollectorParams>(values.params as string | undefined, '--params');
  const p = params.timePrecision;
  const now = Math.floor(Date.now() / 1000);
  let interval;
  if (params.batchMode === 'time-interval') {
    const start = values.start ? Number(values.start) : now - 86400 - ((now - 86400) % p);
    const end = values.duration ? start + Number(values.duration) : now - (now % p) + p;
    interval = { start, duration: end - start };
  }
  try {
    const r = await new DapCollector(params).collect({ interval }, { timeoutMs: (Number(values.timeout ?? 120)) * 1000 });
    console.log(JSON.stringify({ aggregate: r.aggregate, reportCount: r.reportCount, interval: { start: new Date(r.interval.start * 1000).toISOString(), durationSeconds: r.interval.duration }, batchId: r.batchId }, null, 2));
    return 0;
  } catch (e) {
    if (e instanceof DapCollectError) throw new CliError(e.message);
    if ((e as Error).message?.includes('fetch failed')) throw new CliError(`cannot reach the leader at ${params.leaderUrl}`);
    throw e;
  }
}

async function keys(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parse(rest, { config: { type: 'string', short: 'c' }, role: { type: 'string' } });
  const cfg = loadConfig(values.config as string | undefined, (values.role as string | undefined) ?? 'leader');
  const store = await DapStore.open(cfg.options.store as { sqlite?: string; postgres?: string });
  try {
    const ring = new HpkeKeyring(store);
    if (action === 'rotate') {
      const actions = await ring.rotate({ pendingMs: 3_600_000, activeMs: 28 * 86_400_000, expiredMs: 7 * 86_400_000, ...cfg.options.rotation });
      console.log(actions.length ? actions.join('\n') : 'nothing to do');
    } else if (action === 'list') {
      await ring.load();
      for (const k of ring.list()) console.log(`${String(k.configId).padStart(3)}  ${k.state.padEnd(8)} since ${new Date(k.since).toISOString()}`);
    } else throw new CliError(`unknown keys action '${action ?? ''}'; use list or rotate`, 2);
  } finally {
    await store.close();
  }
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(usage);
    return sub ? 0 : 2;
  }
  switch (sub) {
    case 'serve':
      return serve(rest);
    case 'task':
      if (rest[0] !== 'create') throw new CliError(`unknown task action '${rest[0] ?? ''}'; use \`cobble dap task create\``, 2);
      return taskCreate(rest.slice(1));
    case 'upload':
      return upload(rest);
    case 'collect':
      return collect(rest);
    case 'keys':
      return keys(rest);
    default:
      throw new CliError(`unknown subcommand '${sub}'\n\n${usage}`, 2);
  }
}
