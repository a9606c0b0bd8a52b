// The leader's background work as separate drivers, as Janus splits it: the aggregation-job creator, the
// aggregation-job driver and the collection-job driver (the report writer is the HTTP front end, the garbage
// collector has its own loop). They run together in `cobble dap serve` or each in its own `cobble dap run <driver>`
// process against one PostgreSQL database; they share work only through the database, under leases, so any of
// them can be killed and restarted (or run twice) without losing or double-counting a report.
import { randomUUID } from 'node:crypto';
import type { Leader } from '../leader.js';

export interface Driver {
  readonly kind: string;
  start(): void;
  /** Stops taking new work and waits for the work in hand. */
  stop(): Promise<void>;
}

/**
 * Names this process in the lease tokens it writes (`<pid>-<random>/<uuid>`), so an operator (or a test) can tell
 * from `lease_token` which process holds a job.
 */
export const PROCESS_TAG = `${process.pid}-${randomUUID().slice(0, 8)}`;
export const newLeaseToken = (): string => `${PROCESS_TAG}/${randomUUID()}`;

/** Runs `step` on `workers` concurrent loops; a loop pauses `idleMs()` after a step that found no work or failed. */
export class PollingDriver implements Driver {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(readonly kind: string, private readonly step: () => Promise<boolean>, private readonly idleMs: () => number, private readonly workers = 1) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.workers; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers) wake();
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        worked = await this.step();
      } catch (e) {
        if (this.running) console.error(`dap leader: ${this.kind}:`, (e as Error).message);
      }
      if (!worked && this.running) await this.pause(this.idleMs());
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}

/** Groups waiting reports into aggregation jobs every `jobCreatorIntervalMs`. */
export function jobCreatorDriver(leader: Leader): Driver {
  return new PollingDriver('job-creator', async () => {
    await leader.createJobs();
    return false;
  }, () => leader.agg.tunables.jobCreatorIntervalMs);
}

/** Takes runnable jobs from `table` one at a time under a lease, on `workers` loops with a lease token each. */
function leasedJobDriver(leader: Leader, kind: string, table: 'aggregation_jobs' | 'collection_jobs', workers: number, drive: (job: { task_id: string; job_id: Buffer; lease_attempts: number }, token: string) => Promise<void>): Driver {
  const { store, tunables } = leader.agg;
  return new PollingDriver(kind, async () => {
    const token = newLeaseToken();
    const [job] = await store.acquire(table, 1, tunables.leaseMs, token, Date.now());
    if (!job) return false;
    await drive(job, token);
    return true;
  }, () => tunables.pollIdleMs, workers);
}

/** Drives aggregation jobs against the helper (`drivers` loops per process). */
export function aggregationJobDriver(leader: Leader): Driver {
  return leasedJobDriver(leader, 'aggregation-driver', 'aggregation_jobs', leader.agg.tunables.drivers, (job, token) => leader.driveAggregationJob(job, token));
}

/** Runs collection jobs: waits for their batch to be complete, asks the helper for its share, seals the leader's. */
export function collectionJobDriver(leader: Leader): Driver {
  return leasedJobDriver(leader, 'collection-driver', 'collection_jobs', 1, (job, token) => leader.driveCollectionJob(job, token));
}

/** Everything the leader runs in the background, started and stopped together (`cobble dap serve`, `workers: true`). */
export function leaderDrivers(leader: Leader): Driver[] {
  return [jobCreatorDriver(leader), aggregationJobDriver(leader), collectionJobDriver(leader)];
}
