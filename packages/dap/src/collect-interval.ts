// Which time-interval batch a collection asks for. Collecting closes a batch for good (a second collection is
// refused, later reports for it are dropped), so the default takes only intervals that have already ended.
import { TaskError } from './task.js';

/** Seconds since the epoch as RFC 3339 UTC, without fractional seconds (DAP times are whole seconds). */
export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A time given as epoch seconds or as an RFC 3339 date-time with an offset. */
export function parseTime(s: string, flag: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const ms = RFC3339.test(s) ? Date.parse(s.replace(' ', 'T')) : NaN;
  if (Number.isNaN(ms)) throw new TaskError(`${flag} ${s}: write epoch seconds (1767225600) or RFC 3339 (2026-01-01T00:00:00Z)`);
  if (ms % 1000) throw new TaskError(`${flag} ${s}: DAP times are whole seconds`);
  return ms / 1000;
}

export interface CollectIntervalRequest {
  /** Now, in seconds since the epoch. */
  now: number;
  timePrecision: number;
  start?: string;
  end?: string;
  /** Seconds. */
  duration?: string;
  /** Where the previous collections of this collector ended (seconds), if known: the default continues there. */
  collectedUntil?: number;
}

export interface CollectIntervalChoice {
  start: number;
  duration: number;
  /** One line saying which interval is collected and why. */
  note: string;
  /** Set when an explicit interval reaches into the interval that is still filling. */
  warning?: string;
}

const DAY = 86_400;

/**
 * The batch interval to collect. Without times: the *complete* intervals (ending where the current, still filling
 * interval begins) since `collectedUntil`, or the last 24 hours of them (at least one) when that is unknown; so
 * successive default collections tile time, and none overlaps another (which the aggregators would refuse).
 * `start` alone runs to that same point; `end` alone goes back 24 hours. Times must fall on multiples of the
 * task's time precision, as the aggregators require.
 */
export function chooseCollectInterval(r: CollectIntervalRequest): CollectIntervalChoice {
  const p = r.timePrecision;
  const filling = r.now - (r.now % p);
  const span = p * Math.max(1, Math.floor(DAY / p));
  if (r.end !== undefined && r.duration !== undefined) throw new TaskError('give --end or --duration, not both');
  let duration: number | undefined;
  if (r.duration !== undefined) {
    if (!/^\d+$/.test(r.duration) || Number(r.duration) === 0) throw new TaskError(`--duration ${r.duration}: a positive number of seconds`);
    duration = Number(r.duration);
  }
  let start = r.start !== undefined ? parseTime(r.start, '--start') : undefined;
  let end = r.end !== undefined ? parseTime(r.end, '--end') : undefined;
  if (start !== undefined && duration !== undefined) end = start + duration;
  const continuing = start === undefined && end === undefined && duration === undefined && r.collectedUntil !== undefined;
  if (continuing && r.collectedUntil !== undefined) {
    if (r.collectedUntil >= filling) throw new TaskError(`everything up to ${formatTime(r.collectedUntil)} is collected; the next interval is collectable from ${formatTime(r.collectedUntil + p)}`);
    start = r.collectedUntil;
  }
  if (start === undefined) {
    end ??= filling;
    start = end - (duration ?? span);
  }
  end ??= filling;
  for (const [flag, t] of [['--start', start], ['--end', end]] as const) {
    if (t % p) throw new TaskError(`${flag} ${formatTime(t)} is not a multiple of the task's time precision (${p} s); nearest: ${formatTime(t - (t % p))} or ${formatTime(t - (t % p) + p)}`);
  }
  if (end <= start) {
    if (r.end === undefined && r.duration === undefined) {
      throw new TaskError(`the interval from ${formatTime(start)} has not ended yet: it is collectable from ${formatTime(start + p)}, or give --end`);
    }
    throw new TaskError(`--end ${formatTime(end)} is not after --start ${formatTime(start)}`);
  }
  const n = (end - start) / p;
  const note = `collecting ${formatTime(start)} to ${formatTime(end)} (${n} interval${n === 1 ? '' : 's'} of ${p} s${continuing ? ', from where the last collection ended' : ''}); the current interval fills until ${formatTime(filling + p)}`;
  const warning =
    end > filling
      ? `warning: the interval reaches past ${formatTime(filling)} into one that has not ended; the leader holds the collection until ${formatTime(end)} (plus the task's collection grace)`
      : undefined;
  return { start, duration: end - start, note, warning };
}
