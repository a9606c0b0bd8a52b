// Rate limits as ACME clients meet them: a rateLimited problem (429) with Retry-After and a rel="help" link, limits
// that refill as a fake clock moves, and — with the Redis store — buckets shared by two CAs (two front ends).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { FakeClock } from '../src/core/clock.js';
import { issueViaHttp01, type HttpResponse } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';
import { REDIS_URL, redisSkip } from './support/redis.js';

const HOUR = 3_600_000;

function assertRateLimited(response: HttpResponse, limit: string): number {
  const problem = assertProblem(response, 'rateLimited', 429);
  const retryAfter = Number(response.header('retry-after'));
  assert.ok(retryAfter > 0, `Retry-After: ${response.header('retry-after')}`);
  assert.match(String(response.header('link')), new RegExp(`<[^>]*rate-limits\\.md#${limit.toLowerCase()}>;\\s*rel="help"`));
  assert.match(problem.detail, /retry after \d{4}-\d{2}-\d{2}T/);
  return retryAfter;
}

describe('in-process store', () => {
  let h: Harness;
  const clock = new FakeClock();
  after(async () => h?.close());

  test('new orders per account: the third in the window is refused, and allowed again once the bucket refills', async () => {
    h = await startHarness({
      start: { clock },
      rateLimits: {
        limits: { newOrdersPerAccount: { count: 2, period: '2h' }, certificatesPerFqdnSet: { count: 1, period: '7d' }, newAccountsPerIp: { count: 3, period: '3h' } },
      },
    });
    const client = await h.client();
    assert.equal((await client.register()).status, 201);
    assert.equal((await client.newOrder(['a.limits.example.com'])).status, 201);
    assert.equal((await client.newOrder(['b.limits.example.com'])).status, 201);
    const retryAfter = assertRateLimited(await client.newOrder(['c.limits.example.com']), 'newOrdersPerAccount');
    assert.ok(retryAfter <= 3600 && retryAfter > 3500, `one order refills in an hour: Retry-After ${retryAfter}`);
    clock.advance(HOUR);
    assert.equal((await client.newOrder(['c.limits.example.com'])).status, 201);
  });

  test('certificates per exact set of names: after one certificate, a new order for the same set is refused', async () => {
    clock.advance(4 * HOUR);
    const client = h.clients[0]!;
    await issueViaHttp01(client, h.responder, ['set.limits.example.com']);
    assertRateLimited(await client.newOrder(['set.limits.example.com']), 'certificatesPerFqdnSet');
    assert.equal((await client.newOrder(['set.limits.example.com', 'other.limits.example.com'])).status, 201, 'another set is not limited');
  });

  test('new accounts per IP address: the fourth from 127.0.0.1 is refused', async () => {
    // Five hours after the first account the bucket is full again: three more are allowed, the fourth is not.
    for (let i = 0; i < 3; i++) assert.equal((await (await h.client()).register()).status, 201);
    assertRateLimited(await (await h.client()).register(), 'newAccountsPerIp');
  });
});

describe('failed validations per identifier', () => {
  let h: Harness;
  after(async () => h?.close());

  test('after the allowed failures for a name, a new order for it is refused; other names are not', async () => {
    h = await startHarness({ rateLimits: { limits: { failedAuthorizationsPerIdentifier: { count: 1, period: '1h' } } } });
    const client = await h.client();
    await client.register();
    const order = (await client.newOrder(['fail.limits.example.com'])).json();
    const authz = (await client.post(order.authorizations[0], undefined)).json();
    // Nothing serves the token: the http-01 validation fails.
    await client.post(authz.challenges.find((c: { type: string }) => c.type === 'http-01').url, {});
    assert.equal((await client.poll(order.authorizations[0])).json().status, 'invalid');
    assertRateLimited(await client.newOrder(['fail.limits.example.com']), 'failedAuthorizationsPerIdentifier');
    assert.equal((await client.newOrder(['fine.limits.example.com'])).status, 201);
  });
});

const skipRedis = await redisSkip('the ACME rate-limit tests on Redis');

describe('Redis store shared by two CAs (two front ends)', { skip: skipRedis }, () => {
  const prefix = `cobble-test:ratelimits-acme:${randomUUID()}:`;
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
    const admin = new Redis(REDIS_URL);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  test('accounts made on either CA spend one bucket: the third, on the first CA, is refused', async () => {
    for (let i = 0; i < 2; i++) {
      harnesses.push(await startHarness({ rateLimits: { store: { redis: REDIS_URL, prefix }, limits: { newAccountsPerIp: { count: 2, period: '3h' } } } }));
    }
    const [first, second] = harnesses as [Harness, Harness];
    assert.equal((await (await first.client()).register()).status, 201);
    assert.equal((await (await second.client()).register()).status, 201);
    assertRateLimited(await (await first.client()).register(), 'newAccountsPerIp');
    const admin = new Redis(REDIS_URL);
    try {
      assert.equal((await admin.keys(`${prefix}*`)).length, 1, 'one bucket, in Redis, under the configured prefix');
    } finally {
      await admin.quit();
    }
  });
});
