// @cobble/ca: an ACME certificate authority (RFC 8555) in the line of Let's Encrypt's Boulder.
// Request flow: wfe (HTTP, JWS, nonces) → ra (decisions) → va (prove control) / issuer (sign) → sa (SQL).
export { caConfigSchema, ConfigError, loadCaConfigFile, parseCaConfig, readCaConfigFile, type CaConfig, type CaConfigInput, type IssuingKeyConfig } from './config/index.js';
export {
  loadVaRemoteConfigFile, startVaRemote, type VaRemoteConfig,
} from './config/perspectives.js';
export { startCa, type RunningCa, type StartOptions } from './server.js';
export { prepareDataDir } from './prepare.js';
export { AcmeProblem } from './core/index.js';
export { freePort } from './core/ports.js';
export { startClusterMetricsServer } from './core/metrics.js';
export type { TestCaaRecord, TestDnsRecords, TestMode } from './testmode/index.js';
