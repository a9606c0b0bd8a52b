// The garbage collector: for every task of this aggregator with a report_expiry_age, deletes reports, aggregation
// jobs, batch buckets, collection artifacts and the helper's replay guard once they are older than that age, in
// bounded rounds (store/gc.ts). Runs in the aggregator process by default, or on its own; several copies may run
// against one database, since every deletion is idempotent.
import { GcStore, emptyCounts, type GcCounts } from '../store/gc.js';
import type { AggregatorContext } from './context.js';

export class GarbageCollector {
  private readonly gc: GcStore;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Ends the pause between passes, so stop() does not wait out gcIntervalMs. */
  private wake: (() => void) | null = null;

  constructor(private readonly agg: AggregatorContext) {
    this.gc = new GcStore(agg.store.db);
  }

  /**
   * One pass over all tasks. Each task gets rounds of at most `gcBatchLimit` rows per table until a round finds
   * less than that (the backlog is gone) or `gcMaxRounds` rounds ran (the next pass continues).
   */
  async runOnce(): Promise<GcCounts> {
    const { gcBatchLimit: limit, gcMaxRounds } = this.agg.tunables;
    const total = emptyCounts();
    const now = this.agg.clock();
    for (const row of await this.agg.store.listTasks()) {
      if (row.role !== this.agg.role) continue;
      const task = await this.agg.task(row.task_id);
      if (!task?.def.reportExpiryAge) continue;
      const cutoff = { taskId: task.idB64, cutoff: now - task.def.reportExpiryAge, timePrecision: task.def.timePrecision };
      for (let round = 0; round < gcMaxRounds; round++) {
        const n = await this.gc.round(cutoff, limit);
        for (const k of Object.keys(total) as (keyof GcCounts)[]) total[k] += n[k];
        if (Object.values(n).every((v) => v < limit)) break;
      }
    }
    return total;
  }

  start(): void {
    if (this.running || this.agg.tunables.gcIntervalMs <= 0) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.runOnce();
        } catch (e) {
          if (this.running) console.error(`dap ${this.agg.role}: garbage collector:`, (e as Error).message);
        }
        if (!this.running) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.agg.tunables.gcIntervalMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }
}
