// Anti-replay nonces (RFC 8555 §6.5): every nonce a front end hands out is accepted once, then never again.
//
// One front end keeps them in memory (the default): a restart forgets outstanding nonces, which clients handle by
// retrying on badNonce. Several front ends behind a load balancer need a nonce issued by one to be accepted by the
// next, exactly once, whichever that is: the Redis store (./redis-nonces.ts) keeps each outstanding nonce as a key
// with a TTL, and redeeming is one DEL, which Redis answers 1 to exactly one caller.
//
// Boulder's alternative, nonces any front end can verify without a shared write (an encrypted counter with a prefix
// naming the nonce service that issued it), still needs that service's memory to refuse the second use; it saves the
// write at issue time but routes every redemption to the issuer's process. With one Redis the front ends already share
// for rate limits, the shared store is simpler and stays exactly-once when any front end dies.
import { z } from 'zod';
import { randomPooled } from '../core/index.js';
import type { Clock } from '../core/clock.js';
import { durationSchema } from '../config/duration.js';
import { RedisNonceStore } from './redis-nonces.js';

export const DEFAULT_NONCE_PREFIX = 'cobble:nonces:';

/** 16 random bytes in base64url: what every store issues, and the only shape worth a lookup. */
const NONCE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

export const noncesConfigSchema = z.strictObject({
  /** 'memory' for one front end; Redis when several front ends must accept each other's nonces. */
  store: z
    .union([
      z.literal('memory'),
      z.strictObject({
        redis: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0'),
        prefix: z.string().min(1).default(DEFAULT_NONCE_PREFIX),
      }),
    ])
    .default('memory'),
  /** How long an unused nonce stays valid. Clients use theirs within seconds; the bound keeps the store small. */
  lifetime: durationSchema.refine((ms) => ms >= 1000, 'a nonce lifetime must be at least one second').prefault('30m'),
});

export type NoncesConfig = z.infer<typeof noncesConfigSchema>;

export interface NonceStore {
  issue(): Promise<string>;
  /** True once per issued, unexpired nonce; false for anything else. Rejects when the store cannot answer. */
  redeem(nonce: string): Promise<boolean>;
  close(): Promise<void>;
}

export function newNonce(): string {
  return randomPooled(16).toString('base64url');
}

export function isNonceShaped(nonce: string): boolean {
  return NONCE_SHAPE.test(nonce);
}

/** One process's nonces. Bounded: past `capacity` the oldest are forgotten first. */
export class MemoryNonceStore implements NonceStore {
  /** nonce → issue time. A Map iterates in insertion order, so the first entry is the oldest. */
  private readonly valid = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly lifetimeMs: number,
    private readonly capacity = 100_000,
  ) {}

  async issue(): Promise<string> {
    const nonce = newNonce();
    this.valid.set(nonce, this.clock.now());
    if (this.valid.size > this.capacity) this.valid.delete(this.valid.keys().next().value as string);
    return nonce;
  }

  async redeem(nonce: string): Promise<boolean> {
    const issuedAt = this.valid.get(nonce);
    if (issuedAt === undefined) return false;
    this.valid.delete(nonce);
    return this.clock.now() - issuedAt <= this.lifetimeMs;
  }

  async close(): Promise<void> {
    this.valid.clear();
  }
}

/** The store the configuration names; a Redis store has made its first connection attempt (failures go to onError). */
export async function openNonceStore(config: NoncesConfig, options: { clock: Clock; onError: (error: Error) => void }): Promise<NonceStore> {
  if (config.store === 'memory') return new MemoryNonceStore(options.clock, config.lifetime);
  const store = new RedisNonceStore({ url: config.store.redis, prefix: config.store.prefix, lifetimeMs: config.lifetime, onError: options.onError });
  // Not fatal: ioredis keeps reconnecting, and until it succeeds POSTs get serverInternal (retried by clients).
  await store.connect().catch(options.onError);
  return store;
}
