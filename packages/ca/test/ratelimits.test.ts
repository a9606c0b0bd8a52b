// Rate limits: the GCRA arithmetic, the bucket keys, the configuration, and one behavioural suite run against both
// stores — MemoryStore and RedisStore on the real Redis at 127.0.0.1:6379 — with time moved by a FakeClock.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { AcmeProblem } from '../src/core/index.js';
import { FakeClock } from '../src/core/clock.js';
import { REDIS_URL, redisSkip } from './support/redis.js';
import {
  DEFAULT_DOCS_URL,
  DEFAULT_LIMITS,
  MemoryStore,
  RateLimiter,
  RedisStore,
  accountIdentifierKey,
  certificateTransactions,
  emissionIntervalMs,
  failedValidationTransaction,
  fqdnSetKey,
  goDuration,
  ipKey,
  ipv6RangeKey,
  newAccountTransactions,
  newOrderTransactions,
  rateLimitsConfigSchema,
  refundDecision,
  registeredDomainKey,
  spendDecision,
  type Limit,
  type RateLimitsConfig,
  type Store,
  type Transaction,
} from '../src/ra/ratelimits/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const dns = (value: string) => ({ type: 'dns', value });
const ip = (value: string) => ({ type: 'ip', value });

/** Runs `run` and returns the rateLimited problem it must throw. */
async function denied(run: () => Promise<void>): Promise<AcmeProblem> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof AcmeProblem, `expected an AcmeProblem, got ${String(error)}`);
    assert.equal(error.type, 'urn:ietf:params:acme:error:rateLimited');
    assert.equal(error.status, 429);
    return error;
  }
  assert.fail('expected a rateLimited problem, but the request was allowed');
}

describe('GCRA', () => {
  const limit: Limit = { count: 10, periodMs: 10 * HOUR, burst: 10 };
  const now = 1_000_000_000;

  test('a fresh bucket allows burst requests at once, then one per emission interval', () => {
    assert.equal(emissionIntervalMs(limit), HOUR);
    let tat: number | undefined;
    for (let i = 1; i <= 10; i++) {
      const decision = spendDecision(limit, tat, 1, now);
      assert.equal(decision.allowed, true, `request ${i}`);
      assert.equal(decision.remaining, 10 - i);
      tat = decision.newTat;
    }
    const eleventh = spendDecision(limit, tat, 1, now);
    assert.deepEqual([eleventh.allowed, eleventh.retryAfterMs, eleventh.resetAfterMs], [false, HOUR, 10 * HOUR]);
    assert.equal(spendDecision(limit, tat, 1, now + HOUR - 1).allowed, false);
    assert.equal(spendDecision(limit, tat, 1, now + HOUR - 1).retryAfterMs, 1);
    const refilled = spendDecision(limit, tat, 1, now + HOUR);
    assert.deepEqual([refilled.allowed, refilled.remaining], [true, 0]);
  });

  test('a cost is several requests at once; a denied request leaves the TAT alone', () => {
    const first = spendDecision(limit, undefined, 7, now);
    assert.deepEqual([first.allowed, first.remaining, first.newTat], [true, 3, now + 7 * HOUR]);
    const second = spendDecision(limit, first.newTat, 4, now);
    assert.deepEqual([second.allowed, second.retryAfterMs, second.newTat], [false, HOUR, first.newTat]);
  });

  test('a refund moves the TAT back, never before now', () => {
    const spent = spendDecision(limit, undefined, 3, now).newTat;
    const refunded = refundDecision(limit, spent, 1, now);
    assert.deepEqual([refunded.newTat, refunded.remaining], [now + 2 * HOUR, 8]);
    assert.equal(refundDecision(limit, spent, 5, now).newTat, undefined, 'refunding more than was spent leaves a full bucket');
    assert.equal(refundDecision(limit, undefined, 1, now).remaining, 10, 'a full bucket stays full');
  });

  test('the emission interval is whole milliseconds, rounded down', () => {
    assert.equal(emissionIntervalMs({ count: 3, periodMs: 1000, burst: 3 }), 333);
    assert.equal(emissionIntervalMs(DEFAULT_LIMITS.certificatesPerDomain), 12_096_000);
  });
});

describe('bucket keys', () => {
  test('certificatesPerDomain counts the registered domain, an IPv4 address, an IPv6 /64', () => {
    assert.equal(registeredDomainKey(dns('www.example.co.uk')), 'example.co.uk');
    assert.equal(registeredDomainKey(dns('*.Foo.Example.COM.')), 'example.com');
    assert.equal(registeredDomainKey(dns('alice.github.io')), 'alice.github.io', 'private PSL suffixes count');
    assert.equal(registeredDomainKey(ip('192.0.2.7')), '192.0.2.7');
    assert.equal(registeredDomainKey(ip('2001:db8:1:2:3:4:5:6')), '2001:db8:1:2::/64');
    assert.equal(registeredDomainKey(ip('2001:DB8:1:2::ff')), '2001:db8:1:2::/64');
  });

  test('certificatesPerFqdnSet: the same set in any order or case, and only the same set', () => {
    const key = fqdnSetKey([dns('b.example.com'), dns('a.example.com')]);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(fqdnSetKey([dns('A.example.com'), dns('b.example.com'), dns('a.example.com')]), key);
    assert.notEqual(fqdnSetKey([dns('a.example.com')]), key);
    assert.notEqual(fqdnSetKey([dns('*.example.com')]), fqdnSetKey([dns('example.com')]));
  });

  test('new accounts: the address, and for IPv6 its /48 too', () => {
    assert.deepEqual(newAccountTransactions('192.0.2.1'), [{ limit: 'newAccountsPerIp', key: '192.0.2.1' }]);
    assert.deepEqual(newAccountTransactions('2001:db8:aa:bb::1'), [
      { limit: 'newAccountsPerIp', key: '2001:db8:aa:bb::1' },
      { limit: 'newAccountsPerIpv6Range', key: '2001:db8:aa::/48' },
    ]);
    assert.equal(ipKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(ipv6RangeKey('192.0.2.1'), undefined);
  });

  test('failed authorizations: account and identifier, a wildcard as its base name', () => {
    assert.equal(accountIdentifierKey(42, dns('*.Example.com')), '42:example.com');
    assert.deepEqual(failedValidationTransaction('42', dns('example.com')), {
      limit: 'failedAuthorizationsPerIdentifier', key: '42:example.com', mode: 'spend-only',
    });
  });

  test('a new order spends the account and checks the rest; a certificate spends domains and the set', () => {
    const identifiers = [dns('example.com'), dns('*.example.com'), dns('www.example.org')];
    assert.deepEqual(newOrderTransactions('7', identifiers), [
      { limit: 'newOrdersPerAccount', key: '7' },
      { limit: 'failedAuthorizationsPerIdentifier', key: '7:example.com', mode: 'check-only' },
      { limit: 'failedAuthorizationsPerIdentifier', key: '7:www.example.org', mode: 'check-only' },
      { limit: 'certificatesPerDomain', key: 'example.com', mode: 'check-only' },
      { limit: 'certificatesPerDomain', key: 'example.org', mode: 'check-only' },
      { limit: 'certificatesPerFqdnSet', key: fqdnSetKey(identifiers), mode: 'check-only' },
    ]);
    assert.deepEqual(certificateTransactions(identifiers).map((t) => [t.limit, t.mode]), [
      ['certificatesPerDomain', 'spend-only'],
      ['certificatesPerDomain', 'spend-only'],
      ['certificatesPerFqdnSet', 'spend-only'],
    ]);
  });
});

describe('configuration', () => {
  test('an empty section is Let\'s Encrypt\'s defaults, in memory, linking to docs/rate-limits.md', () => {
    const config = rateLimitsConfigSchema.parse({});
    assert.deepEqual(config, { enabled: true, store: 'memory', docs: DEFAULT_DOCS_URL, limits: DEFAULT_LIMITS, overrides: [] });
    assert.deepEqual(config.limits.newAccountsPerIpv6Range, { count: 500, periodMs: 3 * HOUR, burst: 500 });
    assert.deepEqual(config.limits.certificatesPerFqdnSet, { count: 5, periodMs: 7 * DAY, burst: 5 });
    assert.match(DEFAULT_DOCS_URL, /docs\/rate-limits\.md$/);
  });

  test('changes keep what they leave out; periods are "90s", "30m", "3h", "7d" or seconds; burst follows count', () => {
    const config = rateLimitsConfigSchema.parse({
      store: { redis: 'redis://127.0.0.1:6379/0' },
      limits: { newOrdersPerAccount: { count: 600 }, certificatesPerDomain: { period: '30m' }, newAccountsPerIp: { period: 90, burst: 2 } },
      overrides: [{ limit: 'certificatesPerDomain', key: 'example.com', count: 1000, comment: 'hosting provider, ticket 12' }],
    });
    assert.deepEqual(config.store, { redis: 'redis://127.0.0.1:6379/0', prefix: 'cobble:ratelimits:' });
    assert.deepEqual(config.limits.newOrdersPerAccount, { count: 600, periodMs: 3 * HOUR, burst: 600 });
    assert.deepEqual(config.limits.certificatesPerDomain, { count: 50, periodMs: 30 * 60_000, burst: 50 });
    assert.deepEqual(config.limits.newAccountsPerIp, { count: 10, periodMs: 90_000, burst: 2 });
    assert.deepEqual(config.overrides, [
      { limit: 'certificatesPerDomain', key: 'example.com', count: 1000, periodMs: 30 * 60_000, burst: 1000, comment: 'hosting provider, ticket 12' },
    ]);
    assert.equal(rateLimitsConfigSchema.parse({ limits: { newAccountsPerIp: { period: '7d' } } }).limits.newAccountsPerIp.periodMs, 7 * DAY);
  });

  test('mistakes are refused', () => {
    const bad: unknown[] = [
      { limits: { newOrdersPerAcount: { count: 1 } } },
      { limits: { newOrdersPerAccount: { count: 1, perod: '1h' } } },
      { limits: { newOrdersPerAccount: { period: '3 hours' } } },
      { limits: { newOrdersPerAccount: { count: 0 } } },
      { store: 'redis' },
      { store: { redis: 'http://127.0.0.1:6379' } },
      { overrides: [{ limit: 'certificatesPerDomain', key: 'example.com', count: 100 }] },
      { overrides: [{ limit: 'nope', key: 'example.com', count: 100, comment: 'x' }] },
      {
        overrides: [
          { limit: 'certificatesPerDomain', key: 'example.com', count: 100, comment: 'a' },
          { limit: 'certificatesPerDomain', key: 'example.com', count: 200, comment: 'b' },
        ],
      },
      { unknown: true },
    ];
    for (const input of bad) assert.equal(rateLimitsConfigSchema.safeParse(input).success, false, JSON.stringify(input));
  });

  test('periods print as Go durations, as in Boulder\'s messages', () => {
    assert.deepEqual([7 * DAY, 3 * HOUR, 90 * 60_000, 45_000, 1500, 250].map(goDuration), ['168h0m0s', '3h0m0s', '1h30m0s', '45s', '1.5s', '250ms']);
  });
});

// ---- the behavioural suite, once per store ----

interface StoreUnderTest {
  /** A store with buckets no other test sees. */
  make(): Promise<Store>;
}

const RUN_PREFIX = `cobble-test:ratelimits:${randomUUID()}:`;

function limiterFor(store: Store, clock: FakeClock, config: unknown = {}): RateLimiter {
  return new RateLimiter(rateLimitsConfigSchema.parse(config), { clock, store });
}

function behaviouralSuite(name: string, stores: StoreUnderTest, options: { skip?: string | false } = {}) {
  describe(`RateLimiter with ${name}`, { skip: options.skip }, () => {
    test('burst, then denied with the exact Retry-After, then refilled one interval later', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, { limits: { newOrdersPerAccount: { count: 5, period: '5h' } } });
      const order: Transaction[] = [{ limit: 'newOrdersPerAccount', key: '1' }];
      for (let i = 0; i < 5; i++) await limiter.spend(order);
      const problem = await denied(() => limiter.spend(order));
      assert.equal(problem.headers?.['Retry-After'], '3600');
      clock.advance(59 * 60_000);
      assert.equal((await denied(() => limiter.spend(order))).headers?.['Retry-After'], '60');
      clock.advance(60_000);
      await limiter.spend(order);
      assert.equal((await denied(() => limiter.spend(order))).headers?.['Retry-After'], '3600');
      await limiter.spend([{ limit: 'newOrdersPerAccount', key: '2' }]);
    });

    test('the problem names the limit, the key and when it resets, with Retry-After and a help link', async () => {
      const clock = new FakeClock(Date.parse('2026-11-28T10:00:00Z'));
      const limiter = limiterFor(await stores.make(), clock);
      const domain: Transaction = { limit: 'certificatesPerDomain', key: 'example.com', cost: 50 };
      await limiter.spend([domain]);
      const problem = await denied(() => limiter.spend([domain]));
      const docs = `${DEFAULT_DOCS_URL}#certificatesperdomain`;
      assert.equal(problem.detail, `too many certificates (50) already issued for "example.com" in the last 168h0m0s, retry after 2026-12-05T10:00:00Z: see ${docs}`);
      assert.deepEqual(problem.headers, { 'Retry-After': String(7 * 24 * 3600), Link: `<${docs}>;rel="help"` });
      assert.deepEqual(problem.toDocument(), { type: 'urn:ietf:params:acme:error:rateLimited', detail: problem.detail, status: 429 });
    });

    test('spend is all or nothing over several buckets', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, {
        limits: { newOrdersPerAccount: { count: 2, period: '2h' }, certificatesPerFqdnSet: { count: 1, period: '1h' } },
      });
      const account: Transaction = { limit: 'newOrdersPerAccount', key: '9' };
      const set: Transaction = { limit: 'certificatesPerFqdnSet', key: 'abc' };
      await limiter.spend([account, set]);
      const problem = await denied(() => limiter.spend([account, set]));
      assert.match(problem.detail, /exact set of identifiers \(set abc\)/);
      // The denied batch took nothing from the account's bucket: it still holds its second order, and only that one.
      await limiter.spend([account]);
      assert.match((await denied(() => limiter.spend([account]))).detail, /too many new orders \(2\) from account 9/);
    });

    test('when several buckets deny, the problem names the one that resets last', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, {
        limits: { newAccountsPerIp: { count: 1, period: '1h' }, newAccountsPerIpv6Range: { count: 1, period: '2h' } },
      });
      const txns = newAccountTransactions('2001:db8:5:6::1');
      await limiter.spend(txns);
      const problem = await denied(() => limiter.spend(txns));
      assert.match(problem.detail, /^too many new accounts \(1\) from the IPv6 range "2001:db8:5::\/48" in the last 2h0m0s/);
      assert.equal(problem.headers?.['Retry-After'], '7200');
    });

    test('check is read-only', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, { limits: { newAccountsPerIp: { count: 2, period: '1h' } } });
      const txns = newAccountTransactions('192.0.2.10');
      for (let i = 0; i < 5; i++) await limiter.check(txns);
      await limiter.spend(txns);
      await limiter.spend(txns);
      assert.match((await denied(() => limiter.check(txns))).detail, /too many new accounts \(2\) from "192\.0\.2\.10"/);
    });

    test('refund gives the cost back, and never more than the burst', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, { limits: { newOrdersPerAccount: { count: 3, period: '3h' } } });
      const order: Transaction[] = [{ limit: 'newOrdersPerAccount', key: '5' }];
      await limiter.refund(order);
      for (let i = 0; i < 3; i++) await limiter.spend(order);
      await denied(() => limiter.spend(order));
      await limiter.refund(order);
      await limiter.spend(order);
      await denied(() => limiter.spend(order));
    });

    test('check-only and spend-only: failed validations never throw, and then stop new orders', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, { limits: { newOrdersPerAccount: { count: 1, period: '1h' } } });
      const identifier = dns('www.example.com');
      for (let i = 0; i < 7; i++) await limiter.spend([failedValidationTransaction('3', identifier)]);
      const problem = await denied(() => limiter.spend(newOrderTransactions('3', [dns('*.www.example.com')])));
      assert.match(problem.detail, /^too many failed authorizations \(5\) for "www\.example\.com" by account 3 in the last 1h0m0s/);
      // The refused order did not spend the account's only new order: another identifier goes through.
      await limiter.spend(newOrderTransactions('3', [dns('other.example.com')]));
      // Issued certificates are counted past the limit without failing the issuance; new orders then stop.
      const set = [dns('a.example.net')];
      for (let i = 0; i < 6; i++) await limiter.spend(certificateTransactions(set));
      assert.match((await denied(() => limiter.check(newOrderTransactions('4', set)))).detail, /exact set of identifiers/);
    });

    test('an override raises a limit for its key only', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const limiter = limiterFor(await stores.make(), clock, {
        overrides: [{ limit: 'certificatesPerDomain', key: 'example.co.uk', count: 60, comment: 'test' }],
      });
      const bucket = (value: string): Transaction => ({ limit: 'certificatesPerDomain', key: registeredDomainKey(dns(value)) });
      await limiter.spend([{ ...bucket('www.example.co.uk'), cost: 50 }]);
      await limiter.spend([{ ...bucket('www.example.org'), cost: 50 }]);
      assert.match((await denied(() => limiter.spend([bucket('example.org')]))).detail, /\(50\) already issued for "example\.org"/);
      await limiter.spend([{ ...bucket('mail.example.co.uk'), cost: 10 }]);
      assert.match((await denied(() => limiter.spend([bucket('example.co.uk')]))).detail, /\(60\) already issued for "example\.co\.uk"/);
    });

    test('disabled limits allow everything; a malformed batch is a programming error', async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const off = limiterFor(await stores.make(), clock, { enabled: false, limits: { newOrdersPerAccount: { count: 1 } } });
      for (let i = 0; i < 3; i++) await off.spend([{ limit: 'newOrdersPerAccount', key: '1' }]);
      const on = limiterFor(await stores.make(), clock);
      const txn: Transaction = { limit: 'newOrdersPerAccount', key: '1' };
      await assert.rejects(on.spend([txn, txn]), TypeError);
      await assert.rejects(on.spend([{ ...txn, cost: 301 }]), TypeError);
      await assert.rejects(on.spend([{ ...txn, cost: 0 }]), TypeError);
    });
  });
}

// -- MemoryStore --

behaviouralSuite('MemoryStore', { make: async () => new MemoryStore() });

test('MemoryStore stays bounded, dropping buckets that have refilled before live ones', async () => {
  const store = new MemoryStore(10);
  const clock = new FakeClock(0);
  const limiter = new RateLimiter(rateLimitsConfigSchema.parse({
    limits: { newOrdersPerAccount: { count: 1, period: '1h' }, newAccountsPerIp: { count: 1, period: '1d' } },
  }), { clock, store });
  for (let i = 0; i < 5; i++) await limiter.spend([{ limit: 'newAccountsPerIp', key: `192.0.2.${i}` }]);
  for (let i = 0; i < 5; i++) await limiter.spend([{ limit: 'newOrdersPerAccount', key: `${i}` }]);
  assert.equal(store.size, 10);
  clock.advance(HOUR);
  await limiter.spend([{ limit: 'newOrdersPerAccount', key: 'new' }]);
  assert.equal(store.size, 6, 'the five refilled buckets went, the live ones stayed');
  for (let i = 0; i < 5; i++) await denied(() => limiter.spend([{ limit: 'newAccountsPerIp', key: `192.0.2.${i}` }]));
  for (let i = 0; i < 100; i++) await limiter.spend([{ limit: 'newAccountsPerIp', key: `198.51.100.${i}` }]);
  assert.ok(store.size <= 10, `size ${store.size}`);
});

// -- RedisStore, on the real Redis --

const skipRedis = await redisSkip('the RedisStore rate-limit tests');

const openStores: RedisStore[] = [];
let admin: Redis | undefined;
after(async () => {
  for (const store of openStores) await store.close();
  if (admin) {
    // Leave nothing behind in the shared Redis.
    const keys = await admin.keys(`${RUN_PREFIX}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  }
});

async function redisStore(prefix = `${RUN_PREFIX}${randomUUID()}:`, url = REDIS_URL): Promise<RedisStore> {
  admin ??= new Redis(REDIS_URL);
  const store = new RedisStore({ url, prefix });
  openStores.push(store);
  await store.connect();
  return store;
}

behaviouralSuite('RedisStore', { make: () => redisStore() }, { skip: skipRedis });

describe('RedisStore specifics', { skip: skipRedis }, () => {
  test('keys are prefixed, hold only the TAT, and expire when the bucket is full again', async () => {
    const prefix = `${RUN_PREFIX}${randomUUID()}:`;
    const clock = new FakeClock(Date.now());
    const limiter = limiterFor(await redisStore(prefix), clock);
    await limiter.spend([{ limit: 'newOrdersPerAccount', key: '77', cost: 3 }]);
    const key = `${prefix}newOrdersPerAccount:77`;
    assert.deepEqual(await admin!.keys(`${prefix}*`), [key]);
    const interval = emissionIntervalMs(DEFAULT_LIMITS.newOrdersPerAccount);
    assert.equal(await admin!.get(key), String(clock.now() + 3 * interval));
    const ttl = await admin!.pttl(key);
    assert.ok(ttl > 0 && ttl <= 3 * interval, `PTTL ${ttl}`);
    // Refunding everything deletes the key rather than storing a full bucket.
    await limiter.refund([{ limit: 'newOrdersPerAccount', key: '77', cost: 3 }]);
    assert.equal(await admin!.exists(key), 0);
  });

  test('two front ends on one Redis share buckets, and concurrent spends never overdraw', async () => {
    const prefix = `${RUN_PREFIX}${randomUUID()}:`;
    const clock = new FakeClock(Date.now());
    const config = { limits: { newOrdersPerAccount: { count: 10, period: '10h' } } };
    const [a, b] = [limiterFor(await redisStore(prefix), clock, config), limiterFor(await redisStore(prefix), clock, config)];
    const order: Transaction[] = [{ limit: 'newOrdersPerAccount', key: 'shared' }];
    for (let i = 0; i < 4; i++) await a.spend(order);
    await b.check(order);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).spend(order)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 6);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AcmeProblem);
    await denied(() => a.check(order));
    await denied(() => b.check(order));
  });

  test('a Redis outage fails open and is reported', async () => {
    // A TCP relay in front of the real Redis, so the test can cut the connection the way an outage does.
    const sockets = new Set<Socket>();
    const relay: Server = createServer((client) => {
      const upstream = connectTcp(6379, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const port = (relay.address() as { port: number }).port;
    try {
      const storeErrors: unknown[] = [];
      const store = await redisStore(undefined, `redis://127.0.0.1:${port}/0`);
      const clock = new FakeClock(Date.now());
      const limiter = new RateLimiter(rateLimitsConfigSchema.parse({ limits: { newOrdersPerAccount: { count: 1, period: '1h' } } }), {
        clock, store, onStoreError: (error) => storeErrors.push(error),
      });
      const order: Transaction[] = [{ limit: 'newOrdersPerAccount', key: 'outage' }];
      await limiter.spend(order);
      await denied(() => limiter.spend(order));
      assert.equal(storeErrors.length, 0);

      const closed = once(store.client, 'close');
      // close() stops new connections and calls back once the open ones are gone, which destroy() sees to.
      const relayClosed = new Promise<void>((resolve) => relay.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await Promise.all([closed, relayClosed]);
      await limiter.spend(order);
      await limiter.check(order);
      await limiter.refund(order);
      assert.equal(storeErrors.length, 3);
      assert.ok(storeErrors.every((e) => e instanceof Error));
    } finally {
      // Whatever failed above, no relay or socket may keep the test process alive.
      relay.close();
      for (const s of sockets) s.destroy();
    }
  });

  test('a Redis that never answered fails open from the first request', async () => {
    const unused = createServer();
    unused.listen(0, '127.0.0.1');
    await once(unused, 'listening');
    const port = (unused.address() as { port: number }).port;
    await new Promise<void>((resolve) => unused.close(() => resolve()));
    const storeErrors: unknown[] = [];
    const config: RateLimitsConfig = rateLimitsConfigSchema.parse({
      store: { redis: `redis://127.0.0.1:${port}/0`, prefix: RUN_PREFIX },
      limits: { newOrdersPerAccount: { count: 1 } },
    });
    const limiter = new RateLimiter(config, { clock: new FakeClock(Date.now()), onStoreError: (error) => storeErrors.push(error) });
    try {
      for (let i = 0; i < 3; i++) await limiter.spend([{ limit: 'newOrdersPerAccount', key: 'nobody' }]);
      assert.ok(storeErrors.length >= 3, `${storeErrors.length} errors reported`);
    } finally {
      await limiter.close();
    }
  });
});
