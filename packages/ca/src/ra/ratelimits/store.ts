// Where bucket TATs live. A store only keeps TATs and applies one batch atomically; what a TAT means is gcra.ts's.
import { spendDecision, refundDecision, type Limit } from './gcra.js';

/** One bucket in a batch. */
export interface BucketOp {
  /** The store key, "<limit>:<bucket key>" (a Redis store prefixes it). */
  key: string;
  limit: Limit;
  cost: number;
  /** A denial of this bucket denies the whole batch. */
  decides: boolean;
  /** The bucket is debited when the batch goes through (and the cost fits). */
  debits: boolean;
}

export interface Store {
  /** The TATs of `keys` at `now`; undefined for a full bucket. */
  get(keys: string[], now: number): Promise<(number | undefined)[]>;
  /**
   * All or nothing: unless a deciding op is denied at `now`, debits every debiting op whose cost fits. Returns the
   * TATs as they were before, from which the caller computes each decision with gcra.ts.
   */
  spend(ops: BucketOp[], now: number): Promise<(number | undefined)[]>;
  /** Gives each op's cost back; returns the TATs as they were before. */
  refund(ops: BucketOp[], now: number): Promise<(number | undefined)[]>;
  close(): Promise<void>;
}

/**
 * Buckets in this process's memory: for a single front end and for development. Bounded: a bucket whose TAT has
 * passed is full again, the same as no entry, so those go first; when live buckets alone exceed the bound the
 * least recently written go, which forgets their debits (fails open for them) rather than growing without limit
 * under a flood of new keys.
 */
export class MemoryStore implements Store {
  private readonly tats = new Map<string, number>();

  constructor(private readonly maxBuckets = 100_000) {}

  get size(): number {
    return this.tats.size;
  }

  async get(keys: string[], now: number): Promise<(number | undefined)[]> {
    return keys.map((key) => this.read(key, now));
  }

  async spend(ops: BucketOp[], now: number): Promise<(number | undefined)[]> {
    const before = ops.map((op) => this.read(op.key, now));
    const decisions = ops.map((op, i) => spendDecision(op.limit, before[i], op.cost, now));
    if (ops.some((op, i) => op.decides && !decisions[i]!.allowed)) return before;
    ops.forEach((op, i) => {
      if (op.debits && decisions[i]!.allowed) this.write(op.key, decisions[i]!.newTat, now);
    });
    return before;
  }

  async refund(ops: BucketOp[], now: number): Promise<(number | undefined)[]> {
    const before = ops.map((op) => this.read(op.key, now));
    ops.forEach((op, i) => this.write(op.key, refundDecision(op.limit, before[i], op.cost, now).newTat, now));
    return before;
  }

  async close(): Promise<void> {
    this.tats.clear();
  }

  private read(key: string, now: number): number | undefined {
    const tat = this.tats.get(key);
    if (tat === undefined || tat > now) return tat;
    this.tats.delete(key);
    return undefined;
  }

  private write(key: string, tat: number | undefined, now: number): void {
    // Deleted first so that Map order is write order, oldest first.
    this.tats.delete(key);
    if (tat === undefined || tat <= now) return;
    if (this.tats.size >= this.maxBuckets) this.evict(now);
    this.tats.set(key, tat);
  }

  private evict(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
    if (this.tats.size < this.maxBuckets) return;
    // Down to 90% so that a full map of live buckets is not swept again on every write.
    const target = Math.floor(this.maxBuckets * 0.9);
    for (const key of this.tats.keys()) {
      if (this.tats.size < target) break;
      this.tats.delete(key);
    }
  }
}
