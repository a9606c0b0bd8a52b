// The version-neutral model of DAP messages. Times and durations are always POSIX seconds here; the DAP-18
// codec converts to and from units of the task's time_precision at the wire boundary.

export type DapVersion = 'dap-09' | 'dap-18';

export interface HpkeConfig {
  id: number;
  kemId: number;
  kdfId: number;
  aeadId: number;
  publicKey: Uint8Array;
}

export interface HpkeCiphertext {
  configId: number;
  enc: Uint8Array;
  payload: Uint8Array;
}

export interface Extension {
  type: number;
  data: Uint8Array;
}

export interface Interval {
  start: number;
  duration: number;
}

export interface ReportMetadata {
  reportId: Uint8Array;
  time: number;
  publicExtensions: Extension[];
}

export interface Report {
  metadata: ReportMetadata;
  publicShare: Uint8Array;
  leaderShare: HpkeCiphertext;
  helperShare: HpkeCiphertext;
}

export interface PlaintextInputShare {
  extensions: Extension[];
  payload: Uint8Array;
}

export interface ReportShare {
  metadata: ReportMetadata;
  publicShare: Uint8Array;
  encryptedInputShare: HpkeCiphertext;
}

export interface PrepareInit {
  reportShare: ReportShare;
  payload: Uint8Array;
}

export const BATCH_MODE_TIME_INTERVAL = 1;
export const BATCH_MODE_LEADER_SELECTED = 2; // "fixed_size" in DAP-09

export interface AggregationJobInitReq {
  aggParam: Uint8Array;
  /** The task's batch mode; with leader-selected, the batch the job's reports belong to. */
  batchMode: number;
  batchId?: Uint8Array;
  /** DAP-18 only. */
  verificationKeyId: number;
  prepareInits: PrepareInit[];
}

/** Per-report errors, by name; the two drafts number them differently. */
export type ReportError =
  | 'batch_collected'
  | 'report_replayed'
  | 'report_dropped'
  | 'hpke_unknown_config_id'
  | 'hpke_decrypt_error'
  | 'vdaf_error'
  | 'batch_saturated'
  | 'task_expired'
  | 'invalid_message'
  | 'report_too_early'
  | 'task_not_started'
  | 'outdated_config';

export type PrepareResp =
  | { reportId: Uint8Array; kind: 'continue'; payload: Uint8Array }
  | { reportId: Uint8Array; kind: 'finished' }
  | { reportId: Uint8Array; kind: 'reject'; error: ReportError };

export interface PrepareContinue {
  reportId: Uint8Array;
  payload: Uint8Array;
}

export interface AggregationJobContinueReq {
  step: number;
  prepareContinues: PrepareContinue[];
}

/** A collector's query. For leader-selected batches `batchId` is absent for "current"/"next" batch. */
export type Query = { batchMode: 1; interval: Interval } | { batchMode: 2; batchId?: Uint8Array };

export type BatchSelector = { batchMode: 1; interval: Interval } | { batchMode: 2; batchId: Uint8Array };

export interface CollectionReq {
  query: Query;
  aggParam: Uint8Array;
  extensions: Extension[];
}

export interface Collection {
  /** DAP-09 echoes the partial batch selector (the batch ID for fixed-size tasks). */
  batchId?: Uint8Array;
  reportCount: number;
  interval: Interval;
  leaderShare: HpkeCiphertext;
  helperShare: HpkeCiphertext;
}

export interface AggregateShareReq {
  /** DAP-18 only: the collector's request, verbatim (it is bound into the aggregate share AAD). */
  collectionReqBytes?: Uint8Array;
  batchSelector: BatchSelector;
  aggParam: Uint8Array;
  reportCount: number;
  checksum: Uint8Array;
}

/** Ping-pong messages of VDAF (same encoding in VDAF-08 and VDAF-20). */
export type PingPong =
  | { type: 'initialize'; prepShare: Uint8Array }
  | { type: 'continue'; prepMsg: Uint8Array; prepShare: Uint8Array }
  | { type: 'finish'; prepMsg: Uint8Array };
