// Time as a dependency (as Boulder's jmhodges/clock): CAA recheck windows, rate-limit buckets, authorization reuse and
// profile validity caps are all decided against `clock.now()`, so tests can move time instead of sleeping.
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests. */
export class FakeClock implements Clock {
  constructor(private current = Date.now()) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward (or back, with a negative amount) by `ms`. */
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
