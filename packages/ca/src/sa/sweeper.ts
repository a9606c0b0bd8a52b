// No order or challenge stays in processing forever: a finalize that died with its front end (kill -9) or lost its
// database leaves the order processing, and this sweeper, run by every front end, completes it (certificate stored)
// or puts it back to ready (not stored) once it has been processing longer than any finalize takes. A validation
// that died the same way leaves its challenge processing, which would hold the authorization pending until it
// expires; the sweeper fails it (and the authorization) with serverInternal, so the client sees a clean failure and
// orders again. Front ends sweeping at the same time are harmless: each update is conditional on the state it read.
import type { Clock } from '../core/clock.js';
import type { StorageAuthority, SweepResult } from './index.js';

export interface SweeperOptions {
  /** An order processing longer than this is stuck. */
  timeoutMs: number;
  /** How often to look. */
  intervalMs: number;
  onSwept?: (result: SweepResult) => void;
  onError?: (err: unknown) => void;
}

export class ProcessingSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<SweepResult>;

  constructor(
    private readonly sa: StorageAuthority,
    private readonly clock: Clock,
    private readonly options: SweeperOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.options.onError?.(err));
    }, this.options.intervalMs);
    // A sweep is never a reason to keep the process alive.
    this.timer.unref();
  }

  /** One pass over every stuck order and challenge (in batches); a pass already running is joined, not doubled. */
  sweep(): Promise<SweepResult> {
    this.running ??= (async () => {
      const total: SweepResult = { released: [], completed: [], interrupted: [] };
      const cutoff = this.clock.now() - this.options.timeoutMs;
      for (;;) {
        const batch = await this.sa.sweepProcessing(cutoff);
        total.released.push(...batch.released);
        total.completed.push(...batch.completed);
        total.interrupted.push(...batch.interrupted);
        // A short batch was the last; a batch of only lost races would repeat forever.
        if (Math.max(batch.released.length + batch.completed.length, batch.interrupted.length) < 100) break;
      }
      if (total.released.length + total.completed.length + total.interrupted.length > 0) this.options.onSwept?.(total);
      return total;
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => {});
  }
}
