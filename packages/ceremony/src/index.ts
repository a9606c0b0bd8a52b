// @cobble/ceremony: `cobble ceremony --config FILE.yaml` (one YAML per ceremony) and the 2020 hierarchy demo.
export { CEREMONY_TYPES, CeremonyError, parseCeremonyConfig, type CeremonyConfig, type CeremonyType } from './config.js';
export { runCeremony, type CeremonyOptions, type CeremonyOutput, type CeremonyResult } from './run.js';
export { DEMO_CHECK_TIME, DEMO_CONFIG_DIR, DEMO_TOKENS, formatSizeTable, runDemo, verifyDemoOutputs, type DemoOptions, type DemoResult, type SizeRow, type VerifyResult } from './demo.js';
