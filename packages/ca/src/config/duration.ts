// Durations in the configuration: a number of seconds, or one number with one unit ("90s", "30m", "7h", "30d"), as
// operators write them in Boulder's and Pebble's configs. Parsed to milliseconds.
import { z } from 'zod';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const durationSchema = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(/^(0|[1-9][0-9]*)[smhd]$/, 'expected a duration such as "30m", "7h" or "90d", or a number of seconds'),
  ])
  .transform((value) => (typeof value === 'number' ? value * 1000 : Number(value.slice(0, -1)) * UNIT_MS[value.slice(-1) as keyof typeof UNIT_MS]));

/** "90d", "7h", "160h": the shortest exact spelling of a millisecond duration, for messages. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', UNIT_MS.d], ['h', UNIT_MS.h], ['m', UNIT_MS.m]] as const) if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}
