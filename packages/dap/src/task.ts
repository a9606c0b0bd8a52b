// A DAP task as each aggregator stores it, its JSON form (provisioning API, CLI, database) and the derived wire
// context (DAP-18 TaskConfiguration bytes).
import { z } from 'zod';
import { b64url, fromB64url, utf8 } from './codec.js';
import { decodeHpkeConfig, encodeHpkeConfig, encodeTaskConfiguration, type DapVersion, type HpkeConfig, type WireContext } from './messages/index.js';
import { vdafConfigEncoding, vdafFor, type VdafConfig } from './vdaf.js';
import { dpSchema, noiseDistribution, type DpConfig } from './dp.js';

export type Role = 'leader' | 'helper';

export interface TaskDefinition {
  taskId: Uint8Array;
  version: DapVersion;
  role: Role;
  leaderUrl: string;
  helperUrl: string;
  vdaf: VdafConfig;
  /** 1 time-interval, 2 leader-selected ("fixed size" in DAP-09). */
  batchMode: 1 | 2;
  minBatchSize: number;
  /** DAP-09 fixed-size only. */
  maxBatchSize?: number;
  timePrecision: number;
  /** Reports before this time (seconds) are refused (DAP-18 task_interval start). */
  taskStart?: number;
  /** Reports at or after this time are refused: DAP-09 task_expiration, DAP-18 task_interval end. */
  taskEnd?: number;
  /** DAP-18 task_info. */
  taskInfo: Uint8Array;
  vdafVerifyKey: Uint8Array;
  /** Bearer token the leader presents to the helper. */
  aggregatorAuthToken: string;
  /** Leader only: bearer token the collector presents. */
  collectorAuthToken?: string;
  collectorHpkeConfig: HpkeConfig;
  /** Differential privacy: the noise each aggregator adds to its aggregate share (docs/dap.md); unset = exact. */
  dp?: DpConfig;
  /** Leeway for clients' clocks (seconds) before a report is "too early". */
  tolerableClockSkew: number;
  /** Reports older than this (seconds) are refused as too late and garbage-collected; unset = no limit. */
  reportExpiryAge?: number;
  /**
   * Leader, time-interval: a collection is held until every interval of its batch has ended plus this many seconds,
   * so reports uploaded up to then are counted. Unset: the aggregator's tunables.collectionGraceSeconds, else 0.
   */
  collectionGraceSeconds?: number;
  /** DAP-09 max_batch_query_count: how many collection jobs may query one batch (unset = 1). */
  maxBatchQueryCount?: number;
}

const b64 = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be unpadded base64url');
const vdafSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Prio3Count') }),
  z.object({ type: z.literal('Prio3Sum'), bits: z.number().int().min(1).max(64).optional(), maxMeasurement: z.number().int().positive().optional() }),
  z.object({ type: z.literal('Prio3SumVec'), length: z.number().int().positive(), bits: z.number().int().min(1).max(64), chunkLength: z.number().int().positive() }),
  z.object({ type: z.literal('Prio3Histogram'), length: z.number().int().positive(), chunkLength: z.number().int().positive() }),
  z.object({ type: z.literal('Prio3MultihotCountVec'), length: z.number().int().positive(), maxWeight: z.number().int().positive(), chunkLength: z.number().int().positive() }),
]);

export const taskJsonSchema = z.object({
  taskId: b64,
  version: z.enum(['dap-09', 'dap-18']),
  role: z.enum(['leader', 'helper']),
  leaderUrl: z.string().url(),
  helperUrl: z.string().url(),
  vdaf: vdafSchema,
  batchMode: z.enum(['time-interval', 'leader-selected']),
  minBatchSize: z.number().int().positive(),
  maxBatchSize: z.number().int().positive().optional(),
  timePrecision: z.number().int().positive(),
  taskStart: z.number().int().nonnegative().optional(),
  taskEnd: z.number().int().positive().optional(),
  taskInfo: b64.optional(),
  vdafVerifyKey: b64,
  aggregatorAuthToken: z.string().min(16),
  collectorAuthToken: z.string().min(16).optional(),
  collectorHpkeConfig: b64,
  tolerableClockSkew: z.number().int().nonnegative().default(300),
  dp: dpSchema.optional(),
  reportExpiryAge: z.number().int().positive().optional(),
  collectionGraceSeconds: z.number().int().nonnegative().optional(),
  maxBatchQueryCount: z.number().int().positive().optional(),
});
export type TaskJson = z.input<typeof taskJsonSchema>;

export function taskToJson(t: TaskDefinition): TaskJson {
  return {
    taskId: b64url(t.taskId), version: t.version, role: t.role, leaderUrl: t.leaderUrl, helperUrl: t.helperUrl, vdaf: t.vdaf,
    batchMode: t.batchMode === 1 ? 'time-interval' : 'leader-selected', minBatchSize: t.minBatchSize, maxBatchSize: t.maxBatchSize,
    timePrecision: t.timePrecision, taskStart: t.taskStart, taskEnd: t.taskEnd, taskInfo: b64url(t.taskInfo), vdafVerifyKey: b64url(t.vdafVerifyKey),
    aggregatorAuthToken: t.aggregatorAuthToken, collectorAuthToken: t.collectorAuthToken, collectorHpkeConfig: b64url(encodeHpkeConfig(t.collectorHpkeConfig)),
    dp: t.dp, tolerableClockSkew: t.tolerableClockSkew, reportExpiryAge: t.reportExpiryAge, collectionGraceSeconds: t.collectionGraceSeconds,
    maxBatchQueryCount: t.maxBatchQueryCount,
  };
}

/** Parses and validates a task; errors name the offending key. */
export function taskFromJson(input: unknown): TaskDefinition {
  const r = taskJsonSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new TaskError(`task.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const j = r.data;
  const t: TaskDefinition = {
    taskId: fromB64url(j.taskId), version: j.version, role: j.role, leaderUrl: j.leaderUrl, helperUrl: j.helperUrl, vdaf: j.vdaf as VdafConfig,
    batchMode: j.batchMode === 'time-interval' ? 1 : 2, minBatchSize: j.minBatchSize, maxBatchSize: j.maxBatchSize, timePrecision: j.timePrecision,
    taskStart: j.taskStart, taskEnd: j.taskEnd, taskInfo: j.taskInfo ? fromB64url(j.taskInfo) : utf8('cobble'), vdafVerifyKey: fromB64url(j.vdafVerifyKey),
    aggregatorAuthToken: j.aggregatorAuthToken, collectorAuthToken: j.collectorAuthToken, collectorHpkeConfig: decodeHpkeConfig(fromB64url(j.collectorHpkeConfig)),
    dp: j.dp, tolerableClockSkew: j.tolerableClockSkew, reportExpiryAge: j.reportExpiryAge, collectionGraceSeconds: j.collectionGraceSeconds,
    maxBatchQueryCount: j.maxBatchQueryCount,
  };
  if (t.taskId.length !== 32) throw new TaskError('task.taskId: must be 32 bytes (43 base64url characters)');
  if (t.role === 'leader' && !t.collectorAuthToken) throw new TaskError('task.collectorAuthToken: required for the leader role');
  if (t.version === 'dap-09' && t.vdaf.type === 'Prio3MultihotCountVec') throw new TaskError('task.vdaf.type: Prio3MultihotCountVec needs version dap-18');
  if (t.version === 'dap-18' && t.vdaf.type === 'Prio3Sum' && t.vdaf.maxMeasurement === undefined && t.vdaf.bits === undefined) throw new TaskError('task.vdaf.maxMeasurement: required');
  if (t.version === 'dap-18' && t.taskStart !== undefined && t.taskStart % t.timePrecision) throw new TaskError('task.taskStart: must be a multiple of timePrecision');
  // DAP-18 dropped max_batch_query_count: a batch is collected once.
  if (t.version === 'dap-18' && (t.maxBatchQueryCount ?? 1) !== 1) throw new TaskError('task.maxBatchQueryCount: DAP-18 collects a batch once; only dap-09 tasks take more');
  if (t.dp) {
    try {
      noiseDistribution(t.vdaf, t.dp);
    } catch (e) {
      const msg = (e as Error).message;
      throw new TaskError(`task.${msg.startsWith('dp') ? msg : `dp: ${msg}`}`);
    }
  }
  try {
    const v = vdafFor(t.version, t.vdaf);
    if (t.vdafVerifyKey.length !== v.verifyKeySize) throw new TaskError(`task.vdafVerifyKey: must be ${v.verifyKeySize} bytes for ${t.version}`);
  } catch (e) {
    if (e instanceof TaskError) throw e;
    throw new TaskError(`task.vdaf: ${(e as Error).message}`);
  }
  return t;
}

export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}

/** The DAP-18 TaskConfiguration of a task (what clients, aggregators and the collector must agree on). */
export function taskConfiguration(t: Pick<TaskDefinition, 'taskInfo' | 'leaderUrl' | 'helperUrl' | 'timePrecision' | 'minBatchSize' | 'batchMode' | 'vdaf' | 'taskStart' | 'taskEnd' | 'version'>): Uint8Array {
  const v = vdafFor(t.version, t.vdaf);
  return encodeTaskConfiguration({
    taskInfo: t.taskInfo, leaderUrl: t.leaderUrl, helperUrl: t.helperUrl, timePrecision: t.timePrecision, minBatchSize: t.minBatchSize,
    batchMode: t.batchMode, vdafType: v.algorithmId, vdafConfig: vdafConfigEncoding(t.vdaf),
    taskInterval: t.taskStart !== undefined && t.taskEnd !== undefined ? { start: t.taskStart, duration: t.taskEnd - t.taskStart } : undefined,
  });
}

export function wireContext(t: TaskDefinition): WireContext {
  return { taskId: t.taskId, timePrecision: t.timePrecision, taskConfig: t.version === 'dap-18' ? taskConfiguration(t) : undefined };
}

/**
 * The fields `task update` may change, and why only these: anything bound into what clients, the collector and
 * the other aggregator computed (the DAP-18 TaskConfiguration is HPKE AAD; the VDAF, verify key, time precision and
 * batch mode shape every share) would break reports in flight, and lowering min_batch_size or raising
 * max_batch_query_count would weaken the privacy the collector was promised. What remains is each aggregator's own
 * policy and, on DAP-09, the task's expiration (Janus' task PATCH changes only that). `null` unsets a field.
 */
const taskUpdateSchema = z.object({
  taskEnd: z.number().int().positive().nullable(),
  reportExpiryAge: z.number().int().positive().nullable(),
  tolerableClockSkew: z.number().int().nonnegative(),
  collectionGraceSeconds: z.number().int().nonnegative().nullable(),
}).partial().strict();
export type TaskUpdate = z.input<typeof taskUpdateSchema>;
export const UPDATABLE_TASK_FIELDS = Object.keys(taskUpdateSchema.shape);

/** The task with `patch` applied; errors name the key and, for fields that cannot change, say why. */
export function applyTaskUpdate(t: TaskDefinition, patch: unknown): TaskDefinition {
  const r = taskUpdateSchema.safeParse(patch);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      throw new TaskError(`task.${issue.keys[0]}: cannot be changed in place (only ${UPDATABLE_TASK_FIELDS.join(', ')}); create a new task for it`);
    }
    throw new TaskError(`task.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const u = r.data;
  if ('taskEnd' in u && t.version === 'dap-18') {
    throw new TaskError('task.taskEnd: on DAP-18 the task end is part of the TaskConfiguration that clients seal reports to; create a new task');
  }
  const next: TaskDefinition = { ...t };
  if ('taskEnd' in u) next.taskEnd = u.taskEnd ?? undefined;
  if ('reportExpiryAge' in u) next.reportExpiryAge = u.reportExpiryAge ?? undefined;
  if (u.tolerableClockSkew !== undefined) next.tolerableClockSkew = u.tolerableClockSkew;
  if ('collectionGraceSeconds' in u) next.collectionGraceSeconds = u.collectionGraceSeconds ?? undefined;
  if (next.taskEnd !== undefined && next.taskStart !== undefined && next.taskEnd <= next.taskStart) throw new TaskError('task.taskEnd: must be after taskStart');
  return next;
}
