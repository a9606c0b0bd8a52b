// Brings up one aggregator: storage, keys, HTTP API and (leader) the job creator and drivers.
import { DapStore, type StoreOptions } from '../store/index.js';
import type { Role } from '../task.js';
import { buildServer } from '../http/server.js';
import { AggregatorContext, DEFAULT_TUNABLES, type AggregatorTunables } from './context.js';
import { Helper } from './helper.js';
import { DEFAULT_ROTATION, type KeyRotationPolicy } from './keys.js';
import { Leader } from './leader.js';
import { GarbageCollector } from './gc.js';

export { AggregatorContext, DEFAULT_TUNABLES, type AggregatorTunables, type LoadedTask } from './context.js';
export { Keyring, DEFAULT_ROTATION, type KeyRotationPolicy } from './keys.js';
export { Leader } from './leader.js';
export { Helper } from './helper.js';
export { GarbageCollector } from './gc.js';
export { DapProblem, PeerProblem, type DapErrorType } from './problem.js';

export interface AggregatorOptions {
  role: Role;
  /** An open store, or where to open one. */
  store: DapStore | StoreOptions;
  host?: string;
  port?: number;
  /** Bearer token of the provisioning API (/admin/...); the API is off without one. */
  adminToken?: string;
  tunables?: Partial<AggregatorTunables>;
  rotation?: Partial<KeyRotationPolicy>;
  /** How often keys are rotated and reloaded (ms); 0 turns the rotator off. */
  keyCheckIntervalMs?: number;
  /** Run the leader's job creator and drivers, and either role's garbage collector, in this process (default true). */
  workers?: boolean;
  bodyLimit?: number;
  clock?: () => number;
}

export interface RunningAggregator {
  url: string;
  port: number;
  role: Role;
  ctx: AggregatorContext;
  leader?: Leader;
  helper?: Helper;
  gc: GarbageCollector;
  close(): Promise<void>;
}

export async function startAggregator(opts: AggregatorOptions): Promise<RunningAggregator> {
  const store = opts.store instanceof DapStore ? opts.store : await DapStore.open(opts.store);
  const ownsStore = !(opts.store instanceof DapStore);
  const tunables = { ...DEFAULT_TUNABLES, ...opts.tunables };
  const rotation = { ...DEFAULT_ROTATION, ...opts.rotation };
  const ctx = new AggregatorContext(store, opts.role, tunables, opts.clock);
  await ctx.keyring.ensureActive();
  const leader = opts.role === 'leader' ? new Leader(ctx) : undefined;
  const helper = opts.role === 'helper' ? new Helper(ctx) : undefined;
  const app = buildServer({ ctx, leader, helper, adminToken: opts.adminToken, rotation, bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024 });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  if (leader && opts.workers !== false) leader.start();
  const gc = new GarbageCollector(ctx);
  if (opts.workers !== false) gc.start();
  const keyInterval = opts.keyCheckIntervalMs ?? 60_000;
  const keyTimer = keyInterval > 0 ? setInterval(() => void ctx.keyring.rotate(rotation).catch((e) => console.error('dap: key rotation:', e.message)), keyInterval) : null;
  keyTimer?.unref();
  return {
    url: `http://${host}:${port}/`,
    port,
    role: opts.role,
    ctx,
    leader,
    helper,
    gc,
    async close() {
      if (keyTimer) clearInterval(keyTimer);
      await gc.stop();
      await leader?.stop();
      await app.close();
      if (ownsStore) await store.close();
    },
  };
}
