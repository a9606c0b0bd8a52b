// @cobble/dap: DAP (draft-ietf-ppm-dap-09 and -18) aggregators, client and collector.
export { startAggregator, type AggregatorOptions, type RunningAggregator, DEFAULT_TUNABLES, type AggregatorTunables, DapProblem, Keyring, DEFAULT_ROTATION, type KeyRotationPolicy } from './aggregator/index.js';
export { DapStore, type StoreOptions } from './store/index.js';
export { DapClient, DapUploadError, type UploadSummary } from './client.js';
export { DapCollector, DapCollectError, type CollectionResult } from './collector.js';
export { newTask, type ClientParams, type CollectorParams, type NewTaskOptions } from './params.js';
export { parseVdafSpec, collectorHpkeConfigFrom, VDAF_SPEC_FORMS } from './provision.js';
export { chooseCollectInterval, formatTime, parseTime, type CollectIntervalChoice, type CollectIntervalRequest } from './collect-interval.js';
export { taskFromJson, taskToJson, TaskError, type TaskDefinition, type TaskJson, type Role } from './task.js';
export type { VdafConfig } from './vdaf.js';
export { b64url, fromB64url } from './codec.js';
export type { DapVersion } from './messages/index.js';
export { startDapDemo, type DapDemo } from './demo.js';
export { runDriver, DRIVER_KINDS, type DriverKind, type RunningDriver } from './aggregator/drivers/run.js';
export { ConfigError, loadDapConfigFile, parseDapConfig, type DapServeConfig } from './config.js';
export { Keyring as HpkeKeyring } from './aggregator/keys.js';
export { GarbageCollector } from './aggregator/gc.js';
export { GcStore, type GcCounts } from './store/gc.js';
export { KeyError } from './aggregator/keys.js';
