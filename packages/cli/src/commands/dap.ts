// `cobble dap ...`: run a DAP aggregator, provision tasks, upload measurements, collect aggregates.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  ConfigError, DapClient, DapCollector, DapCollectError, DapStore, DapUploadError, HpkeKeyring, KeyError, TaskError, VDAF_SPEC_FORMS, chooseCollectInterval, DRIVER_KINDS, runDriver, type DriverKind, DP_SPEC_FORMS, DpError, noiseDistribution, parseDpSpec,
  applyTaskUpdate, collectorHpkeConfigFrom, formatTime, updateTaskDefinition, UPDATABLE_TASK_FIELDS, loadDapConfigFile, newTask, parseDapConfig, parseTime, parseVdafSpec, startAggregator, taskFromJson, taskToJson,
  type ClientParams, type CollectorParams, type DapServeConfig,
} from '@cobble/dap';
import { CliError } from '../errors.js';

export const summary = 'DAP aggregators, client and collector: `cobble dap serve|run|task|upload|collect|keys`';

const usage = `usage:
  cobble dap serve --role leader|helper [--config FILE] [--port N]
      Runs a DAP aggregator (DAP-09 and DAP-18, chosen per task). Default storage: data/dap-<role>.sqlite.
  cobble dap run ${DRIVER_KINDS.join('|')} --config FILE [--role leader|helper]
      Runs one part of the leader as its own process (as Janus does): the report writer (the HTTP API, no
      background work), the aggregation-job creator, the aggregation-job driver, the collection-job driver, or
      the garbage collector (either role; the role comes from the config or --role). Run several against one
      PostgreSQL database (storage: { postgres: URL }); leases share the work.
  cobble dap task create --leader URL --helper URL --vdaf SPEC [--version dap-09|dap-18] [--min-batch-size N]
        [--time-precision SECONDS] [--batch-mode time-interval|leader-selected] [--max-batch-size N] [--expires TIME]
        [--collector-hpke-config FILE|BASE64URL] [--dp DP] [--report-expiry-age SECONDS] [--collection-grace SECONDS]
        [--max-batch-query-count N (dap-09)]
        [--leader-config FILE --helper-config FILE | --leader-admin URL --helper-admin URL --admin-token TOKEN]
        [--out DIR]
      Creates a task on both aggregators and prints what the client and the collector need. With
      --collector-hpke-config (an encoded HpkeConfig: base64url, a file of it, or an earlier collector JSON) the
      collector keeps its own private key and the collector parameters carry none. The leader holds a time-interval
      collection until its interval has ended plus --collection-grace (late reports; default: the leader's
      tunables.collectionGraceSeconds, else 0).
      SPEC: ${VDAF_SPEC_FORMS.join('\n            | ')}
      DP (differential privacy noise each aggregator adds; Sum, SumVec, Histogram): ${DP_SPEC_FORMS.join(' | ')}
  cobble dap task update TASK_ID [--expires TIME|none] [--report-expiry-age SECONDS|none] [--tolerable-clock-skew SECONDS]
        [--collection-grace SECONDS|none]
        [--leader-config FILE --helper-config FILE | --leader-admin URL --helper-admin URL --admin-token TOKEN]
      Changes a task in place on both aggregators. Only ${UPDATABLE_TASK_FIELDS.join(', ')} can change (--expires only
      on dap-09); everything else is bound into reports or the collector's privacy (docs/dap.md, "task update").
  cobble dap upload --params CLIENT.json [--time TIME] VALUE...
      Uploads one report per VALUE (JSON: 1, true, 3, [1,2,3]).
  cobble dap collect --params COLLECTOR.json [--start TIME] [--end TIME | --duration SECONDS]
        [--hpke-private-key FILE|BASE64URL] [--timeout SECONDS]
      Collects a batch and prints the aggregate. Default: the intervals that have ended since the last collection
      (recorded as collectedUntil in COLLECTOR.json), or the last 24 hours of them; never the current one, which is
      still filling (a collected batch is closed for good). Says on stderr which.
  TIME: epoch seconds or RFC 3339 (2026-01-01T00:00:00Z).
  cobble dap keys list|add|activate ID|retire ID|rotate [--config FILE] [--role leader|helper]
      The aggregator's HPKE keys: list them (the current one is advertised first), add a pending key, make a key
      current (the previous one expires but still decrypts), retire a key (its reports get outdatedConfig and
      clients refetch), or run one step of the scheduled rotation (pending → active → expired → deleted).`;

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

async function runOne(args: string[]): Promise<number> {
  const [kind, ...rest] = args;
  if (!(DRIVER_KINDS as readonly string[]).includes(kind ?? '')) throw new CliError(`cobble dap run: expected one of ${DRIVER_KINDS.join(', ')}, not '${kind ?? ''}'\n\n${usage}`, 2);
  const { values } = parse(rest, { config: { type: 'string', short: 'c' }, port: { type: 'string' }, role: { type: 'string' } });
  const cfg = loadConfig(values.config as string | undefined, (values.role as string | undefined) ?? (kind === 'gc' ? undefined : 'leader'));
  if (values.port !== undefined) cfg.options.port = Number(values.port);
  let driver;
  try {
    driver = await runDriver(kind as DriverKind, cfg.options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new CliError(`cannot listen on ${cfg.options.host}:${cfg.options.port} (${code}); set listen.port in ${cfg.source} or pass --port`);
    throw err;
  }
  // Tests and operators match this line: the pid names the process in lease tokens (`<pid>-…/…`).
  console.log(driver.url ? `DAP ${cfg.role} ${kind} (pid ${process.pid}) listening on ${driver.url}` : `DAP ${cfg.role} ${kind} (pid ${process.pid}) running`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await driver.close();
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
    'admin-token': { type: 'string' }, out: { type: 'string' }, 'collector-hpke-config': { type: 'string' }, dp: { type: 'string' },
    'report-expiry-age': { type: 'string' }, 'collection-grace': { type: 'string' }, 'max-batch-query-count': { type: 'string' },
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
    const hpke = v['collector-hpke-config'];
    const dp = v.dp === undefined ? undefined : parseDpSpec(v.dp);
    t = await newTask({
      version, leaderUrl: v.leader, helperUrl: v.helper, vdaf: parseVdafSpec(v.vdaf, version), batchMode, minBatchSize: int(v['min-batch-size'], '--min-batch-size'),
      maxBatchSize: int(v['max-batch-size'], '--max-batch-size'), timePrecision: int(v['time-precision'], '--time-precision'),
      reportExpiryAge: int(v['report-expiry-age'], '--report-expiry-age'), maxBatchQueryCount: int(v['max-batch-query-count'], '--max-batch-query-count'),
      collectionGraceSeconds: v['collection-grace'] === '0' ? 0 : int(v['collection-grace'], '--collection-grace'),
      taskEnd: v.expires === undefined ? undefined : parseTime(v.expires, '--expires'),
      collectorHpkeConfig: hpke === undefined ? undefined : collectorHpkeConfigFrom(fileOrValue(hpke), `--collector-hpke-config ${hpke}`), dp,
    });
    taskFromJson(taskToJson(t.leader)); // the checks the aggregators apply (e.g. --max-batch-query-count is dap-09 only)
    if (dp) {
      try {
        noiseDistribution(t.leader.vdaf, dp);
      } catch (e) {
        throw new CliError(`--dp ${v.dp}: ${(e as Error).message}`, 2);
      }
    }
  } catch (e) {
    if (e instanceof TaskError || e instanceof DpError) throw new CliError(e.message, 2);
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
  console.log(`\ncollector parameters (secret: ${t.collector.collectorHpkePrivateKey ? 'HPKE private key and ' : ''}bearer token):`);
  console.log(JSON.stringify(t.collector, null, 2));
  if (!t.collector.collectorHpkePrivateKey) console.log('\nthe collector keeps its own HPKE private key: add it as collectorHpkePrivateKey or pass `cobble dap collect --hpke-private-key`');
  if (v.out) console.log(`\nwritten to ${join(v.out, `${t.client.taskId}.client.json`)} and ${join(v.out, `${t.client.taskId}.collector.json`)}`);
  return 0;
}

async function patchViaApi(base: string, token: string, taskId: string, patch: unknown): Promise<void> {
  const url = `${base.replace(/\/+$/, '')}/admin/tasks/${taskId}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(patch) });
  } catch (e) {
    throw new CliError(`cannot reach the provisioning API at ${url} (${(e as Error).message})`);
  }
  if (!res.ok) throw new CliError(`${url} refused the update (${res.status}): ${await res.text()}`);
}

async function taskUpdate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    expires: { type: 'string' }, 'report-expiry-age': { type: 'string' }, 'tolerable-clock-skew': { type: 'string' }, 'collection-grace': { type: 'string' },
    'leader-config': { type: 'string' }, 'helper-config': { type: 'string' }, 'leader-admin': { type: 'string' }, 'helper-admin': { type: 'string' }, 'admin-token': { type: 'string' },
  });
  const v = values as Record<string, string | undefined>;
  const [taskId] = positionals;
  if (positionals.length !== 1) throw new CliError(`give one task ID: cobble dap task update TASK_ID ...\n\n${usage}`, 2);
  const seconds = (s: string, flag: string, min: number): number | null => {
    if (s === 'none') return null;
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < min) throw new CliError(`${flag} must be ${min ? 'a positive' : 'a'} number of seconds or none, not ${s}`, 2);
    return n;
  };
  const patch: Record<string, number | null> = {};
  try {
    if (v.expires !== undefined) patch.taskEnd = v.expires === 'none' ? null : parseTime(v.expires, '--expires');
  } catch (e) {
    if (e instanceof TaskError) throw new CliError(e.message, 2);
    throw e;
  }
  if (v['report-expiry-age'] !== undefined) patch.reportExpiryAge = seconds(v['report-expiry-age'], '--report-expiry-age', 1);
  if (v['tolerable-clock-skew'] !== undefined) {
    const n = seconds(v['tolerable-clock-skew'], '--tolerable-clock-skew', 0);
    if (n === null) throw new CliError('--tolerable-clock-skew takes a number of seconds', 2);
    patch.tolerableClockSkew = n;
  }
  if (v['collection-grace'] !== undefined) patch.collectionGraceSeconds = seconds(v['collection-grace'], '--collection-grace', 0);
  if (!Object.keys(patch).length) throw new CliError(`nothing to change: give --expires, --report-expiry-age, --tolerable-clock-skew or --collection-grace\n\n${usage}`, 2);
  if (v['leader-admin'] || v['helper-admin']) {
    if (!v['leader-admin'] || !v['helper-admin'] || !v['admin-token']) throw new CliError('--leader-admin, --helper-admin and --admin-token go together', 2);
    // The helper first: if it refuses, the leader (which clients talk to) is unchanged.
    await patchViaApi(v['helper-admin'], v['admin-token'], taskId, patch);
    await patchViaApi(v['leader-admin'], v['admin-token'], taskId, patch);
  } else {
    // Both checked before either is written, so a refused change leaves the two aggregators in agreement.
    const writes: (() => Promise<void>)[] = [];
    const stores: DapStore[] = [];
    try {
      for (const [role, file] of [['helper', v['helper-config']], ['leader', v['leader-config']]] as const) {
        const cfg = loadConfig(file, role);
        const store = await DapStore.open(cfg.options.store as { sqlite?: string; postgres?: string });
        stores.push(store);
        const row = await store.getTask(taskId);
        if (!row || row.role !== role) throw new CliError(`task ${taskId} is not in the ${role} store (${cfg.source}); check the task ID and --${role}-config`);
        let next;
        try {
          next = applyTaskUpdate(taskFromJson(JSON.parse(row.definition)), patch);
        } catch (e) {
          if (e instanceof TaskError) throw new CliError(e.message, 2);
          throw e;
        }
        writes.push(async () => void (await updateTaskDefinition(store.db, taskId, role, JSON.stringify(taskToJson(next)))));
      }
      for (const w of writes) await w();
    } finally {
      for (const s of stores) await s.close();
    }
  }
  console.log(`task ${taskId} updated on the helper and the leader: ${Object.entries(patch).map(([k, x]) => `${k} = ${x === null ? 'unset' : x}`).join(', ')}`);
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
    const s = await new DapClient(params).upload(measurements, { time: values.time ? parseTime(values.time, '--time') : undefined });
    console.log(`uploaded ${s.uploaded} report(s)${s.rejected.length ? `, rejected ${s.rejected.length}: ${s.rejected.map((r) => `${r.reportId} ${r.error}`).join(', ')}` : ''}`);
    return s.rejected.length ? 1 : 0;
  } catch (e) {
    if (e instanceof DapUploadError || e instanceof RangeError || e instanceof TaskError) throw new CliError(e.message);
    if ((e as Error).message?.includes('fetch failed')) throw new CliError(`cannot reach the aggregators at ${params.leaderUrl} / ${params.helperUrl}`);
    throw e;
  }
}

/** A flag naming a file or holding the value itself: a path that exists wins. */
function fileOrValue(arg: string): string | Uint8Array {
  return existsSync(arg) ? new Uint8Array(readFileSync(arg)) : arg;
}

/**
 * Remembers in the collector parameters where collections have reached, so the next default collection starts
 * there: nothing is collected twice (the aggregators would refuse the overlap) and no ended interval is skipped.
 * Only a collection that joins on (or none was recorded) moves the mark, so a gap before a later one stays
 * collectable. The file is rewritten as read, never with a key given on the command line.
 */
function recordCollected(file: string, interval: { start: number; duration: number }, until: number | undefined): void {
  const end = interval.start + interval.duration;
  if (until !== undefined && (interval.start > until || end <= until)) return;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  raw.collectedUntil = formatTime(end);
  writeFileSync(file, JSON.stringify(raw, null, 2) + '\n', { mode: 0o600 });
  console.error(`recorded collectedUntil ${formatTime(end)} in ${file}: the next default collection starts there`);
}

async function collect(args: string[]): Promise<number> {
  const { values } = parse(args, {
    params: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, duration: { type: 'string' }, timeout: { type: 'string' }, 'hpke-private-key': { type: 'string' },
  });
  const paramsFile = values.params as string | undefined;
  const params = readParams<CollectorParams>(paramsFile, '--params');
  const key = values['hpke-private-key'];
  if (key) {
    const k = fileOrValue(key);
    params.collectorHpkePrivateKey = (typeof k === 'string' ? k : new TextDecoder().decode(k)).trim();
  }
  let interval;
  let collectedUntil: number | undefined;
  if (params.batchMode === 'time-interval') {
    let choice;
    try {
      collectedUntil = params.collectedUntil === undefined ? undefined : parseTime(params.collectedUntil, `${paramsFile}: collectedUntil`);
      choice = chooseCollectInterval({ now: Math.floor(Date.now() / 1000), timePrecision: params.timePrecision, start: values.start, end: values.end, duration: values.duration, collectedUntil });
    } catch (e) {
      if (e instanceof TaskError) throw new CliError(e.message, 2);
      throw e;
    }
    // stderr: stdout stays one JSON document.
    console.error(choice.note);
    if (choice.warning) console.error(choice.warning);
    interval = { start: choice.start, duration: choice.duration };
  } else {
    if (values.start || values.end || values.duration) throw new CliError('a leader-selected task has no batch interval: drop --start/--end/--duration', 2);
    console.error("collecting the leader's current batch");
  }
  try {
    const r = await new DapCollector(params).collect({ interval }, { timeoutMs: Number(values.timeout ?? 120) * 1000 });
    // One format for every time printed: RFC 3339 start and end, and the length in seconds.
    const span = (i: { start: number; duration: number }) => ({ start: formatTime(i.start), end: formatTime(i.start + i.duration), durationSeconds: i.duration });
    // `interval` is the leader's: the span of the reports in the batch; `batchInterval` is what was asked for.
    console.log(JSON.stringify({ aggregate: r.aggregate, reportCount: r.reportCount, interval: span(r.interval), batchInterval: interval && span(interval), batchId: r.batchId }, null, 2));
    if (interval && paramsFile) recordCollected(paramsFile, interval, collectedUntil);
    return 0;
  } catch (e) {
    if (e instanceof DapCollectError) throw new CliError(e.message);
    if ((e as Error).message?.includes('fetch failed')) throw new CliError(`cannot reach the leader at ${params.leaderUrl}`);
    throw e;
  }
}

const KEY_ACTIONS = 'list, add, activate ID, retire ID or rotate';

async function keys(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parse(rest, { config: { type: 'string', short: 'c' }, role: { type: 'string' } });
  const configId = (): number => {
    const id = Number(positionals[0]);
    if (positionals.length !== 1 || !Number.isInteger(id) || id < 0 || id > 255) throw new CliError(`cobble dap keys ${action} takes one config ID (0-255, as \`cobble dap keys list\` shows), not '${positionals.join(' ')}'`, 2);
    return id;
  };
  if (!['list', 'add', 'activate', 'retire', 'rotate'].includes(action ?? '')) throw new CliError(`unknown keys action '${action ?? ''}'; use ${KEY_ACTIONS}`, 2);
  const id = action === 'activate' || action === 'retire' ? configId() : undefined;
  const cfg = loadConfig(values.config as string | undefined, (values.role as string | undefined) ?? 'leader');
  const store = await DapStore.open(cfg.options.store as { sqlite?: string; postgres?: string });
  // Running aggregators pick changes up when they next reload their keys (keyRotation.checkIntervalSeconds).
  const reload = `running ${cfg.role}s apply it within keyRotation.checkIntervalSeconds (${cfg.source})`;
  try {
    const ring = new HpkeKeyring(store);
    await ring.load();
    if (action === 'rotate') {
      const actions = await ring.rotate({ pendingMs: 3_600_000, activeMs: 28 * 86_400_000, expiredMs: 7 * 86_400_000, ...cfg.options.rotation });
      console.log(actions.length ? actions.join('\n') : 'nothing to do');
    } else if (action === 'add') {
      const c = await ring.add();
      console.log(`added HPKE key ${c.id} (pending: it decrypts but is not advertised); make it current with \`cobble dap keys activate ${c.id}\`; ${reload}`);
    } else if (action === 'activate') {
      const expired = await ring.activate(id!);
      console.log(`HPKE key ${id} is current${expired.length ? `; ${expired.join(', ')} expired (still decrypt until retired)` : ''}; ${reload}`);
    } else if (action === 'retire') {
      await ring.retire(id!);
      console.log(`retired HPKE key ${id}: reports sealed to it are refused with outdatedConfig and clients refetch; ${reload}`);
    } else {
      const current = ring.advertised()[0]?.id;
      for (const k of ring.list().sort((a, b) => a.configId - b.configId)) {
        console.log(`${String(k.configId).padStart(3)}  ${k.state.padEnd(8)} since ${new Date(k.since).toISOString()}${k.configId === current ? '  (current)' : ''}`);
      }
    }
  } catch (e) {
    if (e instanceof KeyError) throw new CliError(`${e.message} (store of ${cfg.source})`);
    throw e;
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
    case 'run':
      return runOne(rest);
    case 'task':
      if (rest[0] === 'update') return taskUpdate(rest.slice(1));
      if (rest[0] !== 'create') throw new CliError(`unknown task action '${rest[0] ?? ''}'; use \`cobble dap task create\` or \`cobble dap task update\``, 2);
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
