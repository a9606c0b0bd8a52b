// The `rateLimits` section of the CA's configuration. Parsing fills in every default, so the limiter gets complete
// limits in milliseconds and never consults DEFAULT_LIMITS itself.
import { z } from 'zod';
import { durationSchema } from '../../config/duration.js';
import type { Limit } from './gcra.js';
import { DEFAULT_LIMITS, LIMIT_NAMES, type LimitName } from './limits.js';

/** Where the `Link: rel="help"` of a rate-limit problem points unless the configuration says otherwise. */
export const DEFAULT_DOCS_URL = 'https://github.com/cobble/cobble/blob/main/docs/rate-limits.md';

export const DEFAULT_REDIS_PREFIX = 'cobble:ratelimits:';

/** A period: a duration as everywhere in the configuration ("30m", "3h", "7d" or seconds), longer than zero. */
const periodSchema = durationSchema.refine((ms) => ms > 0, 'a period must be longer than zero');

const positiveInt = z.number().int().positive();

/** A change to one limit; what it leaves out keeps its default, and burst follows count unless given. */
const limitChangeSchema = z.object({ count: positiveInt.optional(), period: periodSchema.optional(), burst: positiveInt.optional() }).strict();

const overrideSchema = z
  .object({
    limit: z.enum(LIMIT_NAMES),
    /** The bucket key, as the key helpers in limits.ts make it: "example.com", an account id, an address. */
    key: z.string().min(1),
    count: positiveInt,
    /** Defaults to the limit's period. */
    period: periodSchema.optional(),
    /** Defaults to count. */
    burst: positiveInt.optional(),
    /** Why this key gets a different limit (who asked, which ticket): overrides are reviewed by people. */
    comment: z.string().min(1),
  })
  .strict();

const storeSchema = z.union([
  z.literal('memory'),
  z
    .object({
      redis: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0'),
      prefix: z.string().min(1).default(DEFAULT_REDIS_PREFIX),
    })
    .strict(),
]);

export interface RateLimitOverride extends Limit {
  limit: LimitName;
  key: string;
  comment: string;
}

export interface RateLimitsConfig {
  enabled: boolean;
  /** 'memory' for one front end; Redis when several front ends must share buckets. */
  store: 'memory' | { redis: string; prefix: string };
  /** The rate-limit documentation, linked from every rateLimited problem. */
  docs: string;
  limits: Record<LimitName, Limit>;
  overrides: RateLimitOverride[];
}

export const rateLimitsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    store: storeSchema.default('memory'),
    docs: z.url({ protocol: /^https?$/ }).default(DEFAULT_DOCS_URL),
    limits: z.object(Object.fromEntries(LIMIT_NAMES.map((name) => [name, limitChangeSchema.optional()])) as Record<LimitName, z.ZodOptional<typeof limitChangeSchema>>).strict().default({}),
    overrides: z.array(overrideSchema).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.overrides.forEach((override, index) => {
      const id = `${override.limit} ${override.key}`;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['overrides', index], message: `a second override for ${id}` });
      seen.add(id);
    });
  })
  .transform((config): RateLimitsConfig => {
    const limits = {} as Record<LimitName, Limit>;
    for (const name of LIMIT_NAMES) {
      const change = config.limits[name] ?? {};
      const count = change.count ?? DEFAULT_LIMITS[name].count;
      limits[name] = { count, periodMs: change.period ?? DEFAULT_LIMITS[name].periodMs, burst: change.burst ?? count };
    }
    const overrides = config.overrides.map(({ limit, key, count, period, burst, comment }) => ({
      limit,
      key,
      count,
      periodMs: period ?? limits[limit].periodMs,
      burst: burst ?? count,
      comment,
    }));
    return { enabled: config.enabled, store: config.store, docs: config.docs, limits, overrides };
  });
