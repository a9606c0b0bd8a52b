// The rate limiter the RA calls: resolves each transaction's limit (overrides first), runs the batch on the store and
// turns a denial into a rateLimited problem.
import { AcmeProblem } from '../../core/index.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { RateLimitsConfig } from './config.js';
import { spendDecision, type Decision, type Limit } from './gcra.js';
import { LIMIT_NAMES, type LimitName } from './limits.js';
import { RedisStore } from './redis.js';
import { MemoryStore, type BucketOp, type Store } from './store.js';
import type { Transaction } from './transactions.js';

export interface RateLimiterOptions {
  clock?: Clock;
  /** Defaults to the store the configuration names. */
  store?: Store;
  /** A store that failed; the request was allowed. The server logs it. */
  onStoreError?: (error: unknown) => void;
}

export class RateLimiter {
  private readonly clock: Clock;
  private readonly store: Store;
  private readonly overrides: Map<string, Limit>;
  private readonly onStoreError: (error: unknown) => void;

  constructor(
    private readonly config: RateLimitsConfig,
    options: RateLimiterOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.onStoreError = options.onStoreError ?? (() => {});
    this.store = options.store ?? createStore(config, this.onStoreError);
    this.overrides = new Map(config.overrides.map((o) => [bucketId(o.limit, o.key), { count: o.count, periodMs: o.periodMs, burst: o.burst }]));
  }

  /** The limit that applies to one bucket: its override, or the limit's configured value. */
  limitFor(name: LimitName, key: string): Limit {
    return this.overrides.get(bucketId(name, key)) ?? this.config.limits[name];
  }

  /** Read-only: throws the rateLimited problem if spending these would be denied now. */
  async check(txns: Transaction[]): Promise<void> {
    const ops = this.ops(txns).filter((op) => op.decides);
    if (!this.config.enabled || ops.length === 0) return;
    const now = this.clock.now();
    const tats = await this.guard(() => this.store.get(ops.map((op) => op.key), now));
    if (tats) this.throwIfDenied(ops, tats, now);
  }

  /** All or nothing: throws the rateLimited problem if any would be denied, and otherwise debits every bucket. */
  async spend(txns: Transaction[]): Promise<void> {
    const ops = this.ops(txns);
    if (!this.config.enabled || ops.length === 0) return;
    const now = this.clock.now();
    const tats = await this.guard(() => this.store.spend(ops, now));
    if (tats) this.throwIfDenied(ops, tats, now);
  }

  /** Gives back what `spend` took (an order that failed); check-only transactions are skipped. */
  async refund(txns: Transaction[]): Promise<void> {
    const ops = this.ops(txns).filter((op) => op.debits);
    if (!this.config.enabled || ops.length === 0) return;
    const now = this.clock.now();
    await this.guard(() => this.store.refund(ops, now));
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /**
   * Fails open: a store that cannot answer lets the request through and is reported. The limits protect the CA from
   * abuse over hours and days; refusing every order while Redis is away would turn a cache outage into an issuance
   * outage. Boulder's ratelimits does the same.
   */
  private async guard<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      this.onStoreError(error);
      return undefined;
    }
  }

  private ops(txns: Transaction[]): BucketOp[] {
    const seen = new Set<string>();
    return txns.map((txn) => {
      if (!LIMIT_NAMES.includes(txn.limit)) throw new TypeError(`unknown rate limit "${txn.limit}"`);
      const key = bucketId(txn.limit, txn.key);
      // Two transactions on one bucket would each be judged against the same TAT and the second write would win.
      if (seen.has(key)) throw new TypeError(`rate limit bucket ${key} appears twice in one batch`);
      seen.add(key);
      const limit = this.limitFor(txn.limit, txn.key);
      const cost = txn.cost ?? 1;
      // A cost above the burst could never be allowed, whatever the bucket holds.
      if (!Number.isInteger(cost) || cost < 1 || cost > limit.burst) {
        throw new TypeError(`rate limit ${txn.limit}: cost ${cost} must be a whole number from 1 to the burst (${limit.burst})`);
      }
      return { key, limit, cost, decides: txn.mode !== 'spend-only', debits: txn.mode !== 'check-only' };
    });
  }

  /** When several buckets deny, the problem names the one that lets the client back in last. */
  private throwIfDenied(ops: BucketOp[], tats: (number | undefined)[], now: number): void {
    let worst: { op: BucketOp; decision: Decision } | undefined;
    ops.forEach((op, i) => {
      if (!op.decides) return;
      const decision = spendDecision(op.limit, tats[i], op.cost, now);
      if (!decision.allowed && (!worst || decision.retryAfterMs > worst.decision.retryAfterMs)) worst = { op, decision };
    });
    if (worst) throw this.problem(worst.op, worst.decision, now);
  }

  private problem(op: BucketOp, decision: Decision, now: number): AcmeProblem {
    const separator = op.key.indexOf(':');
    const name = op.key.slice(0, separator) as LimitName;
    const key = op.key.slice(separator + 1);
    const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
    const retryAt = new Date(Math.ceil((now + decision.retryAfterMs) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const what = describe(name, key, op.limit);
    const docs = `${this.config.docs}#${name.toLowerCase()}`;
    const problem = new AcmeProblem('rateLimited', `${what} in the last ${goDuration(op.limit.periodMs)}, retry after ${retryAt}: see ${docs}`);
    problem.headers = { 'Retry-After': String(retryAfterSeconds), Link: `<${docs}>;rel="help"` };
    return problem;
  }
}

function createStore(config: RateLimitsConfig, onError: (error: unknown) => void): Store {
  if (config.store === 'memory') return new MemoryStore();
  const store = new RedisStore({ url: config.store.redis, prefix: config.store.prefix, onError });
  // Not awaited: until Redis answers, requests fail open like during any other outage.
  store.connect().catch(onError);
  return store;
}

function bucketId(name: LimitName, key: string): string {
  return `${name}:${key}`;
}

function describe(name: LimitName, key: string, limit: Limit): string {
  switch (name) {
    case 'certificatesPerDomain':
      return `too many certificates (${limit.count}) already issued for "${key}"`;
    case 'certificatesPerFqdnSet':
      return `too many certificates (${limit.count}) already issued for this exact set of identifiers (set ${key})`;
    case 'failedAuthorizationsPerIdentifier': {
      const [account, identifier] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
      return `too many failed authorizations (${limit.count}) for "${identifier}" by account ${account}`;
    }
    case 'newAccountsPerIp':
      return `too many new accounts (${limit.count}) from "${key}"`;
    case 'newAccountsPerIpv6Range':
      return `too many new accounts (${limit.count}) from the IPv6 range "${key}"`;
    case 'newOrdersPerAccount':
      return `too many new orders (${limit.count}) from account ${key}`;
  }
}

/** A duration as Go prints it ("168h0m0s", "1h30m0s", "45s"), as Boulder's messages show periods. */
export function goDuration(ms: number): string {
  if (ms < 1000) return ms === 0 ? '0s' : `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${(ms % 60_000) / 1000}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}
