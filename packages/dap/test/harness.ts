// Test harness: a leader and a helper on loopback with fast tunables, and a task provisioned on both.
import { startAggregator, newTask, DapStore, type NewTaskOptions, type RunningAggregator, type StoreOptions } from '../src/index.js';
import type { AggregatorTunables } from '../src/aggregator/index.js';

export const FAST: Partial<AggregatorTunables> = { jobCreatorIntervalMs: 50, maxJobDelayMs: 50, pollIdleMs: 20, retryBaseMs: 100, retryMaxMs: 500, leaseMs: 5000 };

/**
 * How far (seconds) the harness aggregators' clock runs ahead of real time. The leader holds a time-interval
 * collection until its interval has ended, so tests that upload "now" and collect `currentInterval(p)` need that
 * interval to have ended for the aggregators: this is longer than the longest precision they use (600 s). Reports
 * uploaded "now" are this old for the aggregators, well within the shortest report_expiry_age these tests give
 * (an hour).
 */
export const CLOCK_AHEAD = 900;

/** The harness aggregators' clock (seconds). */
export const aheadClock = (): number => Math.floor(Date.now() / 1000) + CLOCK_AHEAD;

export interface Pair {
  leader: RunningAggregator;
  helper: RunningAggregator;
  close(): Promise<void>;
}

export async function startPair(opts: { leaderStore?: StoreOptions; helperStore?: StoreOptions; tunables?: Partial<AggregatorTunables> } = {}): Promise<Pair> {
  const common = { tunables: { ...FAST, ...opts.tunables }, keyCheckIntervalMs: 0, clock: aheadClock };
  const helper = await startAggregator({ role: 'helper', store: await DapStore.open(opts.helperStore ?? { sqlite: ':memory:' }), ...common });
  const leader = await startAggregator({ role: 'leader', store: await DapStore.open(opts.leaderStore ?? { sqlite: ':memory:' }), ...common });
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

/**
 * A time-interval query covering the previous interval and the current one (real time), aligned to the precision:
 * it holds reports uploaded just before an interval boundary, and it has ended on the harness aggregators' clock
 * for precisions up to CLOCK_AHEAD.
 */
export function currentInterval(precision: number, now = Math.floor(Date.now() / 1000)) {
  if (precision > CLOCK_AHEAD) throw new Error(`currentInterval(${precision}) would not have ended for the harness aggregators (CLOCK_AHEAD ${CLOCK_AHEAD} s)`);
  const start = now - (now % precision) - precision;
  return { start, duration: 2 * precision };
}
