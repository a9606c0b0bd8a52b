// The one way the CA connects to Redis (rate limits, nonces): a client whose commands fail at once while Redis is
// away, instead of queueing behind ioredis' reconnection and holding the ACME request; each caller decides what a
// failed command means (the limiter fails open, the nonce store closed).
import { Redis } from 'ioredis';

export interface FailFastRedisOptions {
  /** A command that takes longer fails instead of holding the ACME request. */
  commandTimeoutMs?: number;
  /** Connection errors, reported while ioredis reconnects in the background. */
  onError?: (error: Error) => void;
}

/** A client that is not connected yet: `connect()` it, which rejects when Redis cannot be reached. */
export function failFastRedis(url: string, options: FailFastRedisOptions): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 1000,
  });
  client.on('error', (error: Error) => options.onError?.(error));
  return client;
}
