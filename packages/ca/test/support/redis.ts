// The machine's Redis (127.0.0.1:6379) for the tests of the Redis rate-limit store. Reachable: the tests run. Not
// reachable: they are skipped with a visible line, except under CI=true, where that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.COBBLE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

async function unreachable(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    await probe.quit();
    return undefined;
  } catch (error) {
    probe.disconnect();
    return `Redis at ${REDIS_URL} is unreachable (${(error as Error).message})`;
  }
}

/**
 * `false` when Redis answers; otherwise the skip reason for `describe(..., { skip })` — after registering a failing
 * test when CI=true and printing the skip otherwise.
 */
export async function redisSkip(what: string): Promise<string | false> {
  const down = await unreachable();
  if (!down) return false;
  if (process.env.CI === 'true') test('Redis is reachable (CI=true)', () => assert.fail(`${down}: CI must run ${what}`));
  else console.log(`# SKIPPING ${what}: ${down}; with CI=true they fail instead`);
  return `${down} (skipped; fails under CI=true)`;
}
