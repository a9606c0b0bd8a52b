export * from './types.js';
export * from './common.js';
export type { DapCodec, MessageName, WireContext } from './codec.js';
export { dap09 } from './dap09.js';
export { dap18, encodeTaskConfiguration, UnsupportedExtension, type TaskConfiguration18 } from './dap18.js';
import type { DapCodec } from './codec.js';
import type { DapVersion } from './types.js';
import { dap09 } from './dap09.js';
import { dap18 } from './dap18.js';

export const codecFor = (v: DapVersion): DapCodec => (v === 'dap-09' ? dap09 : dap18);
