// Test harness: a leader and a helper on loopback with fast tunables, and a task provisioned on both.
import { startAggregator, newTask, DapStore, type NewTaskOptions, type RunningAggregator, type StoreOptions } from '../src/index.js';
import type { AggregatorTunables } from '../src/aggregator/index.js';

export const FAST: Partial<AggregatorTunables> = { jobCreatorIntervalMs: 50, maxJobDelayMs: 50, pollIdleMs: 20, retryBaseMs: 100, retryMaxMs: 500, leaseMs: 5000 };

export interface Pair {
  leader: RunningAggregator;
  helper: RunningAggregator;
  close(): Promise<void>;
}

export async function startPair(opts: { leaderStore?: StoreOptions; helperStore?: StoreOptions; tunables?: Partial<AggregatorTunables> } = {}): Promise<Pair> {
  const helper = await startAggregator({ role: 'helper', store: await DapStore.open(opts.helperStore ?? { sqlite: ':memory:' }), tunables: { ...FAST, ...opts.tunables }, keyCheckIntervalMs: 0 });
  const leader = await startAggregator({ role: 'leader', store: await DapStore.open(opts.leaderStore ?? { sqlite: ':memory:' }), tunables: { ...FAST, ...opts.tunables }, keyCheckIntervalMs: 0 });
  return {
    leader,
    helper,
    async close() {
      await leader.close();
      await helper.close();
      await leader.ctx.store.close();
      await helper.ctx.store.close();
    },
  };
}

export async function provision(pair: Pair, o: Omit<NewTaskOptions, 'leaderUrl' | 'helperUrl'>) {
  const t = await newTask({ ...o, leaderUrl: pair.leader.url, helperUrl: pair.helper.url });
  await pair.leader.ctx.putTask(t.leader);
  await pair.helper.ctx.putTask(t.helper);
  return t;
}

/** A time-interval query covering the last hour and the next one, aligned to the precision. */
export function currentInterval(precision: number, now = Math.floor(Date.now() / 1000)) {
  const start = now - (now % precision) - precision;
  return { start, duration: 3 * precision };
}
