// The browser-safe face of @cobble/dap: client, collector and task parameters, with no node: imports of its own
// (WebCrypto, fetch and Uint8Array only). Bundle this entry point for web pages.
export { DapClient, DapUploadError, type UploadSummary } from './client.js';
export { DapCollector, DapCollectError, type CollectionResult } from './collector.js';
export type { ClientParams, CollectorParams } from './params.js';
export { b64url, fromB64url } from './codec.js';
