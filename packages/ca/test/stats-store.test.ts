// The stats storage and snapshot job on the three databases the SA runs on (SQLite always; PostgreSQL and MariaDB on
// the machine's servers, each test in a database of its own, dropped afterwards): counts over active certificates,
// names and eTLD+1s, expiry and revocation, issuance per UTC day (completed at the first snapshot of the next day),
// snapshot rows over time, and the one-minute cache of the rendered document.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, MysqlDialect, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import pino from 'pino';
import { FakeClock } from '../src/core/clock.js';
import { migrations } from '../src/sa/migrations.js';
import type { Database } from '../src/sa/schema.js';
import { StatsStore, recordIssuance, registeredDomainOf, utcDay } from '../src/sa/stats.js';
import { StatsService } from '../src/stats/index.js';

const DAY = 86_400_000;
// The tables these tests touch: certificates (0001, 0002) and the stats tables (0030), not other work in progress.
const used: Record<string, Migration> = Object.fromEntries(Object.entries(migrations).filter(([name]) => /^(0001|0002|0030)_/.test(name)));

interface Backend {
  name: string;
  open(): Promise<{ db: Kysely<Database>; drop(): Promise<void> } | string>;
}

/** A fresh database on a server, or the reason it cannot be had. */
async function serverDatabase(
  what: string,
  admin: () => Promise<{ run(statement: string): Promise<void>; end(): Promise<void> }>,
  connect: (database: string) => Kysely<Database>,
): Promise<{ db: Kysely<Database>; drop(): Promise<void> } | string> {
  const name = `cobble_stats_${process.pid}_${randomBytes(4).toString('hex')}`;
  let conn;
  try {
    conn = await admin();
    await conn.run(`CREATE DATABASE ${name}`);
  } catch (err) {
    await conn?.end().catch(() => undefined);
    return `${what} is unreachable (${(err as Error).message})`;
  }
  const db = connect(name);
  return {
    db,
    drop: async () => {
      await db.destroy();
      await conn.run(`DROP DATABASE ${name}`);
      await conn.end();
    },
  };
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    open: async () => {
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
      return { db, drop: () => db.destroy() };
    },
  },
  {
    name: 'PostgreSQL',
    open: () =>
      serverDatabase(
        'PostgreSQL at 127.0.0.1:5432',
        async () => {
          const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', connectionTimeoutMillis: 3000 });
          await client.connect();
          return { run: async (s) => void (await client.query(s)), end: () => client.end() };
        },
        (database) => new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database, max: 2 }) }) }),
      ),
  },
  {
    name: 'MariaDB',
    open: () =>
      serverDatabase(
        'MariaDB at 127.0.0.1:3306',
        async () => {
          const pool = createPool({ host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test', connectionLimit: 1, connectTimeout: 3000 }).promise();
          await pool.query('SELECT 1');
          return { run: async (s) => void (await pool.query(s)), end: () => pool.end() };
        },
        (database) =>
          new Kysely<Database>({ dialect: new MysqlDialect({ pool: createPool({ host: '127.0.0.1', port: 3306, user: 'root', password: '', database, connectionLimit: 2 }) }) }),
      ),
  },
];

async function migrate(db: Kysely<Database>): Promise<void> {
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => used } }).migrateToLatest();
  if (error) throw error;
}

let certificateCount = 0;
/** A certificate row as finalize stores it, and its stats rows as finalize records them. */
async function issue(db: Kysely<Database>, names: string[], issuedAt: number, notAfter: number): Promise<string> {
  const id = `cert${++certificateCount}`.padEnd(20, '0');
  await db
    .insertInto('certificates')
    .values({ id, serial: randomBytes(16).toString('hex'), account_id: 'acct', order_id: `order-${id}`, pem: 'PEM', issuer_name: 'ecdsa', not_before: issuedAt - 60_000, not_after: notAfter, revoked_at: null, revoked_reason: null, profile: 'classic' })
    .execute();
  await recordIssuance(db, { id, notAfter }, names.map((value) => ({ type: 'dns' as const, value })), issuedAt);
  return id;
}

test('registered domains: eTLD+1 by the ICANN section (private suffixes do not split), wildcards by their base', () => {
  assert.equal(registeredDomainOf('www.example.com'), 'example.com');
  assert.equal(registeredDomainOf('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(registeredDomainOf('*.shop.example.org'), 'example.org');
  assert.equal(registeredDomainOf('alice.github.io'), 'github.io');
  assert.equal(registeredDomainOf('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  assert.equal(utcDay(Date.UTC(2026, 11, 4, 23, 59, 59, 999)), '2026-12-04');
});

for (const backend of backends) {
  describe(`stats on ${backend.name}`, async () => {
    const opened = await backend.open();
    if (typeof opened === 'string') {
      if (process.env.CI === 'true') test(`${backend.name} is reachable (CI=true)`, () => assert.fail(opened));
      else console.log(`# SKIPPING stats on ${backend.name}: ${opened}; with CI=true this fails instead`);
      return;
    }
    const { db, drop } = opened;
    after(drop);
    await migrate(db);

    test('counts active certificates, distinct names and registered domains; expiry, revocation and days', async () => {
      const store = new StatsStore(db);
      const day0 = Date.UTC(2026, 11, 3);
      const clock = new FakeClock(day0 + 10 * 3_600_000);
      const service = new StatsService(store, clock, { snapshotIntervalMs: 3_600_000, cacheTtlMs: 60_000, days: 30 }, pino({ level: 'silent' }));

      const t = clock.now();
      await issue(db, ['www.example.com', 'example.com'], t, t + 90 * DAY);
      await issue(db, ['WWW.example.com', 'api.example.org'], t, t + 90 * DAY); // a name again, in other case
      await issue(db, ['alice.github.io'], t, t + 3 * 3_600_000);
      const revoked = await issue(db, ['only-revoked.example.net', 'shop.example.co.uk'], t, t + 90 * DAY);
      await issue(db, ['bob.github.io'], t, t + 90 * DAY);
      await db.updateTable('certificates').set({ revoked_at: t, revoked_reason: 4 }).where('id', '=', revoked).execute();

      await service.snapshot();
      let doc = await service.document();
      // www/example.com/api.example.org/alice+bob.github.io; the revoked certificate's names are not served.
      assert.deepEqual(
        { a: doc.activeCertificates, n: doc.fullyQualifiedNames, d: doc.registeredDomains },
        { a: 4, n: 5, d: 3 },
      );
      assert.deepEqual(doc.days, [{ day: '2026-12-03', activeCertificates: 4, names: 5, registeredDomains: 3, issued: 5 }]);
      assert.equal(doc.computedAt, new Date(t).toISOString());

      // Another front end's snapshot reaches this one's page when its cache (TTL one minute) runs out.
      const other = new StatsService(store, clock, { snapshotIntervalMs: 3_600_000, cacheTtlMs: 60_000, days: 30 }, pino({ level: 'silent' }));
      clock.advance(4 * 3_600_000 - 30_000); // the short-lived certificate has expired
      assert.equal((await service.document()).activeCertificates, 4);
      clock.advance(30_000);
      await other.snapshot();
      assert.equal((await service.document()).activeCertificates, 4, 'served from the cache');
      clock.advance(30_000);
      doc = await service.document();
      assert.deepEqual({ a: doc.activeCertificates, n: doc.fullyQualifiedNames, d: doc.registeredDomains }, { a: 3, n: 4, d: 3 });

      // A snapshot within half an interval of the last one (another front end's) is not taken again.
      await issue(db, ['late.example.com'], clock.now(), clock.now() + 90 * DAY);
      await service.snapshot();
      assert.equal((await store.getDay('2026-12-03'))!.issued, 5);

      // Next day: the first snapshot completes yesterday's issuance count and starts today's row.
      clock.set(Date.UTC(2026, 11, 4, 1));
      await issue(db, ['next-day.example.com'], clock.now(), clock.now() + 90 * DAY);
      await service.snapshot();
      clock.advance(60_000);
      doc = await service.document();
      assert.deepEqual(doc.days, [
        { day: '2026-12-03', activeCertificates: 3, names: 4, registeredDomains: 3, issued: 6 },
        { day: '2026-12-04', activeCertificates: 5, names: 6, registeredDomains: 3, issued: 1 },
      ]);
      assert.equal(doc.activeCertificates, 5);

      // The charts cover `days` days: a row older than that is not served.
      clock.set(Date.UTC(2026, 11, 4 + 29, 1));
      await service.snapshot();
      clock.advance(60_000);
      assert.deepEqual((await service.document()).days.map((d) => d.day), ['2026-12-04', '2027-01-02']);
      const rows = await db.selectFrom('stats_daily').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(rows.n), 3);
      await service.close();
    });
  });
}
