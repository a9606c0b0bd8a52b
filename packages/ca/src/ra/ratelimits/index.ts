// Rate limits (GCRA buckets, in memory or in Redis), as Boulder's ratelimits package: the RA's entry point.
export { emissionIntervalMs, refundDecision, spendDecision, type Decision, type Limit } from './gcra.js';
export {
  DEFAULT_LIMITS,
  LIMIT_NAMES,
  accountIdentifierKey,
  accountKey,
  fqdnSetKey,
  ipKey,
  ipv6RangeKey,
  registeredDomainKey,
  registeredDomainKeys,
  type LimitName,
} from './limits.js';
export { DEFAULT_DOCS_URL, DEFAULT_REDIS_PREFIX, rateLimitsConfigSchema, type RateLimitOverride, type RateLimitsConfig } from './config.js';
export { MemoryStore, type BucketOp, type Store } from './store.js';
export { RedisStore, type RedisStoreOptions } from './redis.js';
export {
  certificateTransactions,
  failedValidationTransaction,
  newAccountTransactions,
  newOrderTransactions,
  type Transaction,
} from './transactions.js';
export { RateLimiter, goDuration, type RateLimiterOptions } from './limiter.js';
