// GCRA (generic cell rate algorithm) as Boulder's `ratelimits` package runs it: a bucket is nothing but its
// theoretical arrival time (TAT), so a store keeps one integer per bucket key and an absent key is a full bucket.

/** A limit: `count` requests per `periodMs`, of which up to `burst` may be made at once. */
export interface Limit {
  count: number;
  periodMs: number;
  burst: number;
}

export interface Decision {
  allowed: boolean;
  /** Requests of cost 1 the bucket still holds after this decision. */
  remaining: number;
  /** How long until the request would be allowed; 0 when it is. */
  retryAfterMs: number;
  /** How long until the bucket is full again (after the debit, when allowed). */
  resetAfterMs: number;
  /** The TAT the bucket has after this decision; undefined when it is full (nothing to store). */
  newTat: number | undefined;
}

/**
 * The time one request adds to the TAT. Whole milliseconds (rounded down, as Boulder rounds nanoseconds) so that
 * every TAT is an integer both here and in the Redis Lua script, which must agree with this file to the unit.
 */
export function emissionIntervalMs(limit: Limit): number {
  return Math.max(1, Math.floor(limit.periodMs / limit.count));
}

/**
 * Whether a request of `cost` fits the bucket whose TAT is `tat` (undefined: full) at `now`. Allowed when
 * `now >= max(TAT, now) + cost×interval − burst×interval`, so a full bucket takes `burst` requests at once and then
 * one more per interval; when allowed the TAT becomes `max(TAT, now) + cost×interval`.
 */
export function spendDecision(limit: Limit, tat: number | undefined, cost: number, now: number): Decision {
  const interval = emissionIntervalMs(limit);
  const start = Math.max(tat ?? now, now);
  const newTat = start + cost * interval;
  const difference = now - (newTat - limit.burst * interval);
  if (difference < 0) {
    return { allowed: false, remaining: 0, retryAfterMs: -difference, resetAfterMs: start - now, newTat: tat !== undefined && tat > now ? tat : undefined };
  }
  return { allowed: true, remaining: Math.floor(difference / interval), retryAfterMs: 0, resetAfterMs: newTat - now, newTat };
}

/** Gives `cost` back to a bucket (a request that was spent but did not happen); a full bucket stays full. */
export function refundDecision(limit: Limit, tat: number | undefined, cost: number, now: number): Decision {
  const interval = emissionIntervalMs(limit);
  if (tat === undefined || tat <= now) {
    return { allowed: true, remaining: limit.burst, retryAfterMs: 0, resetAfterMs: 0, newTat: undefined };
  }
  const newTat = Math.max(tat - cost * interval, now);
  const remaining = Math.floor((now - (newTat - limit.burst * interval)) / interval);
  return { allowed: true, remaining, retryAfterMs: 0, resetAfterMs: newTat - now, newTat: newTat > now ? newTat : undefined };
}
