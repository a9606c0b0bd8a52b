// One driver as a process of its own (`cobble dap run <driver>`): the report writer is the HTTP front end
// without background work; the others open the store, load the HPKE keys and run one driver until closed. The
// garbage collector serves either role; the rest are the leader's.
import { DapStore } from '../../store/index.js';
import { startAggregator, type AggregatorOptions } from '../index.js';
import { AggregatorContext, DEFAULT_TUNABLES } from '../context.js';
import { GarbageCollector } from '../gc.js';
import { Leader } from '../leader.js';
import { aggregationJobDriver, collectionJobDriver, jobCreatorDriver, type Driver } from './index.js';

export const DRIVER_KINDS = ['report-writer', 'job-creator', 'aggregation-driver', 'collection-driver', 'gc'] as const;
export type DriverKind = (typeof DRIVER_KINDS)[number];

export interface RunningDriver {
  kind: DriverKind;
  /** The report writer's URL. */
  url?: string;
  close(): Promise<void>;
}

export async function runDriver(kind: DriverKind, opts: AggregatorOptions): Promise<RunningDriver> {
  if (opts.role !== 'leader' && kind !== 'gc') throw new Error(`${kind} is a leader driver; the helper has none (it answers the leader synchronously)`);
  if (kind === 'report-writer') {
    const agg = await startAggregator({ ...opts, workers: false });
    return { kind, url: agg.url, close: () => agg.close() };
  }
  const store = opts.store instanceof DapStore ? opts.store : await DapStore.open(opts.store);
  const ownsStore = !(opts.store instanceof DapStore);
  const ctx = new AggregatorContext(store, opts.role, { ...DEFAULT_TUNABLES, ...opts.tunables }, opts.clock);
  // Keys are created and rotated by the report writer; a new key is pending (decrypts, not advertised) for
  // pendingMs, far longer than this reload interval, so the driver holds it before any client encrypts to it.
  await ctx.keyring.load();
  const keyInterval = opts.keyCheckIntervalMs || 60_000;
  const keyTimer = setInterval(() => void ctx.keyring.load().catch((e) => console.error(`dap ${kind}: reloading HPKE keys:`, (e as Error).message)), keyInterval);
  keyTimer.unref();
  const make: Record<Exclude<DriverKind, 'report-writer'>, () => Driver> = {
    'job-creator': () => jobCreatorDriver(new Leader(ctx)),
    'aggregation-driver': () => aggregationJobDriver(new Leader(ctx)),
    'collection-driver': () => collectionJobDriver(new Leader(ctx)),
    gc: () => Object.assign(new GarbageCollector(ctx), { kind: 'gc' }),
  };
  const driver = make[kind]();
  driver.start();
  return {
    kind,
    async close() {
      clearInterval(keyTimer);
      await driver.stop();
      if (ownsStore) await store.close();
    },
  };
}
