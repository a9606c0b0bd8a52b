// What clients and collectors need to know about a task (printed by `cobble dap task create`), and the
// generation of a fresh task for both aggregators.
import { b64url, fromB64url, utf8 } from './codec.js';
import { decodeHpkeConfig, encodeHpkeConfig, codecFor, type DapVersion, type HpkeConfig, type WireContext } from './messages/index.js';
import { AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256 } from './hpke/suite.js';
import { generateKeyPairWeb } from './hpke/web.js';
import { taskConfiguration, type TaskDefinition } from './task.js';
import { vdafFor, type VdafConfig } from './vdaf.js';
import type { DpConfig } from './dp.js';

/** Public task parameters: everything a client needs. */
export interface ClientParams {
  taskId: string;
  version: DapVersion;
  leaderUrl: string;
  helperUrl: string;
  vdaf: VdafConfig;
  batchMode: 'time-interval' | 'leader-selected';
  minBatchSize: number;
  timePrecision: number;
  taskStart?: number;
  taskEnd?: number;
  taskInfo: string;
}

/**
 * The collector additionally holds its bearer token and HPKE key. The private key is absent when the task was
 * created with the collector's own HPKE config: the collector adds it (or passes it to `cobble dap collect`).
 */
export interface CollectorParams extends ClientParams {
  collectorAuthToken: string;
  collectorHpkeConfig: string;
  collectorHpkePrivateKey?: string;
  /** The task's differential privacy: the aggregate is noised and read as signed integers. */
  dp?: DpConfig;
  /** Where this collector's time-interval collections have reached (written by `cobble dap collect`). */
  collectedUntil?: string;
}

export function paramsWireContext(p: ClientParams): WireContext {
  const taskId = fromB64url(p.taskId);
  const cfg = {
    version: p.version, taskInfo: fromB64url(p.taskInfo), leaderUrl: p.leaderUrl, helperUrl: p.helperUrl, timePrecision: p.timePrecision,
    minBatchSize: p.minBatchSize, batchMode: (p.batchMode === 'time-interval' ? 1 : 2) as 1 | 2, vdaf: p.vdaf, taskStart: p.taskStart, taskEnd: p.taskEnd,
  };
  return { taskId, timePrecision: p.timePrecision, taskConfig: p.version === 'dap-18' ? taskConfiguration(cfg) : undefined };
}

export const paramsCodec = (p: ClientParams) => codecFor(p.version);
export const paramsVdaf = (p: ClientParams) => vdafFor(p.version, p.vdaf);

export interface NewTaskOptions {
  version: DapVersion;
  leaderUrl: string;
  helperUrl: string;
  vdaf: VdafConfig;
  batchMode?: 'time-interval' | 'leader-selected';
  minBatchSize?: number;
  maxBatchSize?: number;
  timePrecision?: number;
  taskStart?: number;
  taskEnd?: number;
  taskInfo?: string;
  tolerableClockSkew?: number;
  reportExpiryAge?: number;
  /** Leader: hold time-interval collections until interval end plus this many seconds (late reports). */
  collectionGraceSeconds?: number;
  /** DAP-09: collections allowed per batch (default 1). */
  maxBatchQueryCount?: number;
  /** Differential privacy noise added by each aggregator (Sum, SumVec, Histogram). */
  dp?: DpConfig;
  /** The collector's own HPKE config; without it a key pair is generated and its private key handed out. */
  collectorHpkeConfig?: HpkeConfig;
}

const randomToken = (): string => b64url(globalThis.crypto.getRandomValues(new Uint8Array(24)));

/** A fresh task: both aggregators' definitions, and what to hand the client and the collector. */
export async function newTask(o: NewTaskOptions): Promise<{ leader: TaskDefinition; helper: TaskDefinition; client: ClientParams; collector: CollectorParams }> {
  const taskId = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const vdaf = vdafFor(o.version, o.vdaf);
  const verifyKey = globalThis.crypto.getRandomValues(new Uint8Array(vdaf.verifyKeySize));
  const kp = o.collectorHpkeConfig ? undefined : await generateKeyPairWeb();
  const collectorHpkeConfig: HpkeConfig = o.collectorHpkeConfig ?? { id: 1, kemId: KEM_X25519_HKDF_SHA256, kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM, publicKey: kp!.publicKey };
  const base = {
    taskId, version: o.version, leaderUrl: o.leaderUrl, helperUrl: o.helperUrl, vdaf: o.vdaf, batchMode: (o.batchMode === 'leader-selected' ? 2 : 1) as 1 | 2,
    minBatchSize: o.minBatchSize ?? 100, maxBatchSize: o.maxBatchSize, timePrecision: o.timePrecision ?? 3600, taskStart: o.taskStart, taskEnd: o.taskEnd,
    taskInfo: utf8(o.taskInfo ?? 'cobble'), vdafVerifyKey: verifyKey, aggregatorAuthToken: randomToken(), collectorHpkeConfig,
    dp: o.dp, tolerableClockSkew: o.tolerableClockSkew ?? 300, reportExpiryAge: o.reportExpiryAge, collectionGraceSeconds: o.collectionGraceSeconds,
    maxBatchQueryCount: o.maxBatchQueryCount,
  };
  const collectorAuthToken = randomToken();
  const leader: TaskDefinition = { ...base, role: 'leader', collectorAuthToken };
  const helper: TaskDefinition = { ...base, role: 'helper' };
  const client: ClientParams = {
    taskId: b64url(taskId), version: o.version, leaderUrl: o.leaderUrl, helperUrl: o.helperUrl, vdaf: o.vdaf, batchMode: o.batchMode ?? 'time-interval',
    minBatchSize: base.minBatchSize, timePrecision: base.timePrecision, taskStart: o.taskStart, taskEnd: o.taskEnd, taskInfo: b64url(base.taskInfo),
  };
  const collector: CollectorParams = {
    ...client, collectorAuthToken, collectorHpkeConfig: b64url(encodeHpkeConfig(collectorHpkeConfig)), ...(kp ? { collectorHpkePrivateKey: b64url(kp.privateKey) } : {}),
    ...(o.dp ? { dp: o.dp } : {}),
  };
  return { leader, helper, client, collector };
}

export function collectorHpke(p: CollectorParams): { config: HpkeConfig; privateKey: Uint8Array } {
  if (!p.collectorHpkePrivateKey) {
    throw new TypeError('the collector parameters have no collectorHpkePrivateKey: add the base64url X25519 private key matching collectorHpkeConfig');
  }
  return { config: decodeHpkeConfig(fromB64url(p.collectorHpkeConfig)), privateKey: fromB64url(p.collectorHpkePrivateKey) };
}
