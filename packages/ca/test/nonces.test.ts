// Nonce stores: accepted exactly once, within their lifetime, whichever front end (store instance) redeems them; the
// Redis store refuses to guess when Redis cannot answer.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { FakeClock, systemClock } from '../src/core/clock.js';
import { MemoryNonceStore, isNonceShaped, noncesConfigSchema, openNonceStore } from '../src/wfe/nonces.js';
import { RedisNonceStore } from '../src/wfe/redis-nonces.js';
import { parseCaConfig } from '../src/config/index.js';
import { REDIS_URL, redisSkip } from './support/redis.js';

describe('MemoryNonceStore', () => {
  test('a nonce is accepted once; an unknown one never', async () => {
    const store = new MemoryNonceStore(new FakeClock(), 60_000);
    const nonce = await store.issue();
    assert.ok(isNonceShaped(nonce), nonce);
    assert.equal(await store.redeem('AAAAAAAAAAAAAAAAAAAAAA'), false);
    assert.equal(await store.redeem(nonce), true);
    assert.equal(await store.redeem(nonce), false);
  });

  test('a nonce past its lifetime is refused', async () => {
    const clock = new FakeClock();
    const store = new MemoryNonceStore(clock, 60_000);
    const fresh = await store.issue();
    const stale = await store.issue();
    clock.advance(60_000);
    assert.equal(await store.redeem(fresh), true, 'exactly the lifetime is still valid');
    clock.advance(1);
    assert.equal(await store.redeem(stale), false);
  });

  test('past its capacity the oldest nonce is forgotten first', async () => {
    const store = new MemoryNonceStore(new FakeClock(), 60_000, 3);
    const issued = [await store.issue(), await store.issue(), await store.issue(), await store.issue()];
    assert.equal(await store.redeem(issued[0]!), false);
    for (const nonce of issued.slice(1)) assert.equal(await store.redeem(nonce), true);
  });

  test('two memory stores (two front ends) do not know each other\'s nonces: why several front ends need Redis', async () => {
    const a = new MemoryNonceStore(systemClock, 60_000);
    const b = new MemoryNonceStore(systemClock, 60_000);
    assert.equal(await b.redeem(await a.issue()), false);
  });
});

describe('nonces configuration', () => {
  test('defaults: memory, 30 minutes', () => {
    const config = parseCaConfig({});
    assert.equal(config.nonces.store, 'memory');
    assert.equal(config.nonces.lifetime, 30 * 60_000);
    assert.equal(config.cache.accounts, undefined, 'decided by the database: on for SQLite, off for MariaDB/PostgreSQL');
  });

  test('a Redis store with its default prefix; a bad URL names the key', () => {
    const config = noncesConfigSchema.parse({ store: { redis: 'redis://127.0.0.1:6379/0' }, lifetime: '5m' });
    assert.deepEqual(config.store, { redis: 'redis://127.0.0.1:6379/0', prefix: 'cobble:nonces:' });
    assert.equal(config.lifetime, 300_000);
    assert.throws(() => parseCaConfig({ nonces: { store: { redis: 'http://127.0.0.1' } } }, 'ca.yaml'), /ca\.yaml.*nonces\.store/s);
    assert.throws(() => parseCaConfig({ nonces: { lifetime: '0s' } }, 'ca.yaml'), /nonces\.lifetime/);
    assert.throws(() => parseCaConfig({ cache: { accounts: 'yes' } }, 'ca.yaml'), /cache\.accounts/);
  });
});

const skip = await redisSkip('the Redis nonce store tests');

describe('RedisNonceStore', { skip }, () => {
  const prefix = `cobble-test:nonces:${randomUUID()}:`;
  const stores: RedisNonceStore[] = [];
  const open = async (lifetimeMs = 60_000) => {
    const store = new RedisNonceStore({ url: REDIS_URL, prefix, lifetimeMs });
    await store.connect();
    stores.push(store);
    return store;
  };
  after(async () => {
    const admin = new Redis(REDIS_URL);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
    await Promise.all(stores.map((s) => s.close()));
  });

  test('a nonce issued by one front end is accepted by another, once', async () => {
    const [a, b] = [await open(), await open()];
    const nonce = await a.issue();
    assert.ok(isNonceShaped(nonce));
    assert.equal(await b.redeem(nonce), true);
    assert.equal(await a.redeem(nonce), false);
    assert.equal(await b.redeem(nonce), false);
  });

  test('of many front ends redeeming one nonce at the same moment, exactly one succeeds', async () => {
    const fronts = await Promise.all(Array.from({ length: 6 }, () => open()));
    for (let round = 0; round < 20; round++) {
      const nonce = await fronts[round % fronts.length]!.issue();
      const results = await Promise.all(fronts.flatMap((f) => [f.redeem(nonce), f.redeem(nonce)]));
      assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results.join(',')}`);
    }
  });

  test('the nonce expires with its lifetime (a Redis TTL)', async () => {
    const store = await open(1000);
    const nonce = await store.issue();
    const ttl = await store.client.pttl(prefix + nonce);
    assert.ok(ttl > 0 && ttl <= 1000, `TTL ${ttl} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await store.redeem(nonce), false);
  });

  test('what is not nonce-shaped never reaches Redis', async () => {
    const store = await open();
    const sent: string[][] = [];
    const monitor = new Redis(REDIS_URL);
    const watching = await monitor.monitor();
    watching.on('monitor', (_time: string, args: string[]) => sent.push(args));
    assert.equal(await store.redeem('*'), false);
    assert.equal(await store.redeem(`${'A'.repeat(22)}\r\nFLUSHALL`), false);
    const known = await store.issue();
    assert.equal(await store.redeem(known), true);
    // The DEL of the valid nonce arriving proves the monitor was listening before the refused ones.
    await new Promise((resolve) => setTimeout(resolve, 100));
    watching.disconnect();
    monitor.disconnect();
    const dels = sent.filter((args) => args[0]?.toLowerCase() === 'del' && args[1]?.startsWith(prefix));
    assert.deepEqual(dels.map((args) => args[1]), [prefix + known]);
  });

  test('when Redis cannot be reached, redeem and issue reject instead of guessing', async () => {
    const errors: Error[] = [];
    const unreachable = new RedisNonceStore({ url: 'redis://127.0.0.1:1/0', prefix, lifetimeMs: 60_000, onError: (e) => errors.push(e) });
    try {
      await assert.rejects(unreachable.connect());
      await assert.rejects(unreachable.redeem('A'.repeat(22)));
      await assert.rejects(unreachable.issue());
      assert.ok(errors.length > 0);
    } finally {
      await unreachable.close();
    }
  });

  test('openNonceStore opens the store the configuration names', async () => {
    const memory = await openNonceStore(noncesConfigSchema.parse({}), { clock: systemClock, onError: () => {} });
    assert.ok(memory instanceof MemoryNonceStore);
    const shared = await openNonceStore(noncesConfigSchema.parse({ store: { redis: REDIS_URL, prefix } }), { clock: systemClock, onError: assert.fail });
    try {
      assert.ok(shared instanceof RedisNonceStore);
      const other = await open();
      assert.equal(await other.redeem(await shared.issue()), true);
    } finally {
      await shared.close();
    }
  });
});
