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
export { AdminError, CA_REVOCATION_REASONS, CaAdmin, normalizeSerial, type IncidentSelection, type IncidentSpec, type Progress, type RevokeOutcome } from './admin/index.js';
export { openCaAdmin, spkiSha256OfPem } from './admin/open.js';
export { signAllCrls } from './admin/crl.js';
export { systemClock, type Clock } from './core/clock.js';
export type { TestCaaRecord, TestDnsRecords, TestMode } from './testmode/index.js';
