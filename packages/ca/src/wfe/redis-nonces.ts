// Nonces shared by every front end through Redis (see ./nonces.ts for why this design). Issuing is one SET with the
// nonce's lifetime as TTL; redeeming is one DEL, which answers 1 to exactly one caller across all front ends, so a
// nonce is accepted once whichever front end sees it first, and an expired one is simply gone.
//
// Unlike the rate limiter, this store fails closed: a nonce that cannot be checked is not accepted (the WFE answers
// serverInternal, which clients retry), because accepting it would let a replayed request through.
import type { Redis } from 'ioredis';
import { failFastRedis } from '../core/redis.js';
import { isNonceShaped, newNonce, type NonceStore } from './nonces.js';

export interface RedisNonceStoreOptions {
  /** redis://127.0.0.1:6379/0 */
  url: string;
  /** Put before every key, so several CAs (or test runs) can share one Redis. */
  prefix: string;
  lifetimeMs: number;
  /** A command that takes longer fails instead of holding the ACME request. */
  commandTimeoutMs?: number;
  /** Connection errors, reported while ioredis reconnects in the background. */
  onError?: (error: Error) => void;
}

export class RedisNonceStore implements NonceStore {
  readonly client: Redis;
  private readonly prefix: string;
  private readonly lifetimeMs: number;

  constructor(options: RedisNonceStoreOptions) {
    this.prefix = options.prefix;
    this.lifetimeMs = options.lifetimeMs;
    // Fails closed: a command that fails refuses the request (serverInternal) rather than accept an unchecked nonce.
    this.client = failFastRedis(options.url, options);
  }

  /** Connects; rejects when Redis cannot be reached (ioredis keeps trying in the background). */
  async connect(): Promise<void> {
    await this.client.connect();
  }

  async issue(): Promise<string> {
    const nonce = newNonce();
    await this.client.set(this.prefix + nonce, '1', 'PX', this.lifetimeMs);
    return nonce;
  }

  async redeem(nonce: string): Promise<boolean> {
    // Anything that is not a nonce we could have issued is refused without a round trip (and never becomes a key).
    if (!isNonceShaped(nonce)) return false;
    return (await this.client.del(this.prefix + nonce)) === 1;
  }

  async close(): Promise<void> {
    // quit() waits for Redis to answer; when it is not connected there is nothing to wait for.
    if (this.client.status === 'ready') await this.client.quit();
    else this.client.disconnect();
  }
}
