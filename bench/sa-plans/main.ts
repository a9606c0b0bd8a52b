// Query plans of the SA's issuance path on SQLite, PostgreSQL and MariaDB (issue 11, scope 4): runs the path through
// the real StorageAuthority on a fresh database per dialect (seeded, then ANALYZEd, so the planners see more than
// empty tables), records every SELECT/UPDATE/DELETE it sends at the driver, and prints each one's EXPLAIN (SQLite:
// EXPLAIN QUERY PLAN, PostgreSQL: EXPLAIN, MariaDB: EXPLAIN) as Markdown. Exits 1 if any plan scans a table.
//
// Usage: npm run bench -- sa-plans [--orders N] [--databases sqlite,postgres,mariadb] > plans.md
//   COBBLE_TEST_POSTGRES_URL / COBBLE_TEST_MARIADB_URL name the servers (default: the test ones on 127.0.0.1).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import pg from 'pg';
import { newId, type Challenge, type Order } from '../../packages/ca/src/core/index.js';
import { StorageAuthority } from '../../packages/ca/src/sa/index.js';

type Kind = 'sqlite' | 'postgres' | 'mariadb';
const { values } = parseArgs({ options: { orders: { type: 'string', default: '2000' }, databases: { type: 'string', default: 'sqlite,postgres,mariadb' } } });
const ORDERS = Number(values.orders);
const KINDS = values.databases!.split(',') as Kind[];
const POSTGRES_URL = process.env.COBBLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MARIADB_URL = process.env.COBBLE_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

// ---- recording what the SA sends, at each driver ----
interface Sent { sql: string; params: unknown[] }
let recording: Sent[] | undefined;
const record = (sql: string, params: unknown) => {
  if (recording && /^\s*(select|update|delete)\b/i.test(sql)) recording.push({ sql, params: Array.isArray(params) ? params : [] });
};
const pgQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [config, params] = args as [string | { text: string; values?: unknown[] }, unknown];
  if (typeof config === 'string') record(config, params);
  else if (config && typeof config.text === 'string') record(config.text, config.values);
  return pgQuery.apply(this, args);
} as never;
const mysqlQuery = mysql.Connection.prototype.query as (...args: unknown[]) => unknown;
mysql.Connection.prototype.query = function (this: unknown, ...args: unknown[]) {
  const [sql, params] = args as [string | { sql: string; values?: unknown[] }, unknown];
  if (typeof sql === 'string') record(sql, params);
  else if (sql && typeof sql.sql === 'string') record(sql.sql, sql.values ?? params);
  return mysqlQuery.apply(this, args);
} as never;
// The SA keeps SQLite statements prepared, so they are recorded when run, not when prepared.
const statement = Object.getPrototypeOf(new BetterSqlite3(':memory:').prepare('select 1')) as Record<'all' | 'get' | 'run' | 'iterate', (...args: unknown[]) => unknown>;
for (const method of ['all', 'get', 'run', 'iterate'] as const) {
  const original = statement[method];
  statement[method] = function (this: BetterSqlite3.Statement, ...args: unknown[]) {
    record(this.source, []);
    return original.apply(this, args);
  };
}

// ---- a fresh database per dialect ----
async function freshDatabase(kind: Kind): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cobble_plans_${randomBytes(4).toString('hex')}`;
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'cobble-plans-'));
    return { url: `sqlite:${join(dir, 'ca.sqlite3')}`, drop: () => rm(dir, { recursive: true, force: true }) };
  }
  if (kind === 'postgres') {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        const c = new pg.Client({ connectionString: POSTGRES_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const admin = await mysqlPromise.createConnection({ uri: MARIADB_URL });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const url = new URL(MARIADB_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = await mysqlPromise.createConnection({ uri: MARIADB_URL });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

const NOW = Date.now();
async function newOrder(sa: StorageAuthority, accountId: string, name: string) {
  const authzId = newId();
  const challenges: Challenge[] = (['http-01', 'dns-01'] as const).map((type) => ({ id: newId(), authzId, type, status: 'pending' }));
  const order: Order = { id: newId(), accountId, status: 'pending', expires: NOW + 86_400_000, identifiers: [{ type: 'dns', value: name }], authzIds: [authzId], createdAt: NOW, profile: 'classic' };
  await sa.createOrder(order, [{ authz: { id: authzId, accountId, identifier: { type: 'dns', value: name }, wildcard: false, status: 'pending', expires: NOW + 86_400_000, token: newId(), profile: 'classic' }, challenges }]);
  return { order, authzId, challenges };
}

/** The issuance path, as the RA drives the SA for one certificate, and the revocation after it. */
async function issuancePath(sa: StorageAuthority, step: (label: string) => void): Promise<void> {
  const account = { id: newId(), jwk: { kty: 'EC' }, thumbprint: newId() + newId(), status: 'valid' as const, contact: [], termsAgreed: true, createdAt: NOW };
  step('newAccount: is the key blocked, does an account hold it');
  await sa.isKeyBlocked('00'.repeat(32));
  await sa.getAccountByThumbprint(account.thumbprint);
  await sa.createAccount(account);
  step('every authenticated request: the account');
  await sa.getAccount(account.id);
  step('newOrder: reusable authorizations');
  await sa.reusableAuthorizations(account.id, 'classic', ['plans.example.com'], NOW);
  const { order, authzId, challenges } = await newOrder(sa, account.id, 'plans.example.com');
  step('authorization and challenge: read, claim, record the outcome');
  await sa.getAuthorization(authzId, NOW);
  await sa.claimChallenge(authzId, challenges[0]!.id, NOW);
  await sa.recordValidation(authzId, challenges[0]!, { ok: true, records: [], at: NOW, validUntil: NOW + 86_400_000 });
  step('finalize: the order with its authorizations, the CSR key, processing mark, serial, certificate');
  await sa.getOrderWithAuthorizations(order.id, NOW);
  await sa.isKeyBlocked('11'.repeat(32));
  await sa.beginProcessing(order.id, NOW);
  const serial = randomBytes(16).toString('hex');
  await sa.reserveSerial(serial, account.id, NOW + 1000, NOW);
  const certId = newId();
  await sa.storeCertificate({ id: certId, serial, accountId: account.id, orderId: order.id, pem: 'PEM', issuerName: 'int-ecdsa', profile: 'classic', notBefore: NOW, notAfter: NOW + 1000 }, { identifiers: order.identifiers, issuedAt: NOW });
  step('polling and download');
  await sa.getOrder(order.id, NOW);
  await sa.getCertificate(certId);
  step('revocation');
  await sa.getCertificateBySerial(serial);
  await sa.revokeCertificate(serial, 1, NOW);
  // An order whose finalize died ten minutes ago, for the sweeper to find and settle.
  const stuck = await newOrder(sa, account.id, 'stuck.example.com');
  await sa.beginProcessing(stuck.order.id, NOW - 600_000);
  // And a challenge whose validation died with its front end ten minutes ago.
  const dead = await newOrder(sa, account.id, 'dead-validation.example.com');
  await sa.claimChallenge(dead.authzId, dead.challenges[0]!.id, NOW - 600_000);
  step('the sweeper (every front end, every sweepInterval)');
  await sa.sweepProcessing(NOW - 300_000);
}

async function explain(kind: Kind, url: string, sent: Sent): Promise<string[]> {
  if (kind === 'sqlite') {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true });
    try {
      // Recorded at prepare, before any values: the plan does not depend on them (placeholders bound to NULL).
      const placeholders = (sent.sql.match(/\?/g) ?? []).length;
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${sent.sql}`).all(...Array.from({ length: placeholders }, () => null)) as { detail: string }[];
      return rows.map((r) => r.detail);
    } finally {
      db.close();
    }
  }
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      // On a few thousand rows a sequential scan is cheaper than any index, so the planner picks it; with it priced
      // out, the plan shows whether an index fits the query (a "Seq Scan" that remains means none does), which is
      // what decides at hundreds of millions of rows.
      await c.query('SET enable_seqscan = off');
      return (await c.query(`EXPLAIN ${sent.sql}`, sent.params)).rows.map((r: Record<string, string>) => r['QUERY PLAN']!);
    } finally {
      await c.end();
    }
  }
  const c = await mysqlPromise.createConnection({ uri: url });
  try {
    const [rows] = (await c.query(`EXPLAIN ${sent.sql}`, sent.params)) as unknown as [Record<string, unknown>[]];
    return rows.map((r) => `${r.table}: type=${r.type} key=${r.key ?? '-'} rows=${r.rows}${r.Extra ? ` (${r.Extra})` : ''}`);
  } finally {
    await c.end();
  }
}

const scans = (kind: Kind, plan: string[]) =>
  plan.filter((line) =>
    kind === 'sqlite' ? /^SCAN (?!CONSTANT)/.test(line) && !/USING (COVERING )?INDEX/.test(line)
    : kind === 'postgres' ? /Seq Scan/.test(line)
    : /type=ALL/.test(line));

let failed = false;
const out: string[] = [];
for (const kind of KINDS) {
  const database = await freshDatabase(kind);
  const sa = await StorageAuthority.open(database.url);
  try {
    // Seed: accounts with orders, authorizations, challenges and certificates, so that indexes have something to win.
    const accounts = Array.from({ length: Math.max(1, ORDERS / 20) }, () => newId());
    for (const [i, id] of accounts.entries()) await sa.createAccount({ id, jwk: {}, thumbprint: `seed${i}-${newId()}`, status: 'valid', contact: [], termsAgreed: true, createdAt: NOW });
    for (let i = 0; i < ORDERS; i++) {
      const accountId = accounts[i % accounts.length]!;
      const { order } = await newOrder(sa, accountId, `seed${i}.example.com`);
      if (i % 2 === 0) {
        await sa.beginProcessing(order.id, NOW);
        const serial = randomBytes(16).toString('hex');
        await sa.reserveSerial(serial, accountId, NOW + 1000, NOW);
        await sa.storeCertificate({ id: newId(), serial, accountId, orderId: order.id, pem: 'PEM', issuerName: i % 4 ? 'int-ecdsa' : 'int-rsa', profile: 'classic', notBefore: NOW, notAfter: NOW + 1000 }, { identifiers: order.identifiers, issuedAt: NOW });
      }
    }
    await sa.blockKey('ff'.repeat(32), 'admin', NOW);
    const tables = ['accounts', 'orders', 'authorizations', 'order_authorizations', 'challenges', 'certificates', 'serials', 'blocked_keys'];
    if (kind === 'mariadb') {
      const c = await mysqlPromise.createConnection({ uri: database.url });
      await c.query(`ANALYZE TABLE ${tables.join(', ')}`);
      await c.end();
    } else {
      const c = kind === 'postgres' ? new pg.Client({ connectionString: database.url }) : undefined;
      if (c) {
        await c.connect();
        await c.query('ANALYZE');
        await c.end();
      } else {
        const db = new BetterSqlite3(database.url.slice('sqlite:'.length));
        db.exec('ANALYZE');
        db.close();
      }
    }
    // The path, recorded step by step (each distinct statement once).
    const steps: { label: string; sent: Sent[] }[] = [];
    recording = [];
    await issuancePath(sa, (label) => {
      steps.push({ label, sent: (recording = []) });
    });
    recording = undefined;
    out.push(`### ${kind === 'sqlite' ? 'SQLite (EXPLAIN QUERY PLAN)' : kind === 'postgres' ? 'PostgreSQL (EXPLAIN)' : 'MariaDB (EXPLAIN)'}`, '');
    const seen = new Set<string>();
    for (const { label, sent } of steps) {
      const distinct = sent.filter((s) => !seen.has(s.sql) && seen.add(s.sql));
      if (distinct.length === 0) continue;
      out.push(`**${label}**`, '');
      for (const s of distinct) {
        const plan = await explain(kind, database.url, s);
        const scanning = scans(kind, plan);
        if (scanning.length) failed = true;
        out.push('```', s.sql.replace(/\s+/g, ' ').trim(), ...plan.map((l) => `  ${l}`), ...(scanning.length ? ['  ^ SCANS A TABLE'] : []), '```', '');
      }
    }
  } finally {
    await sa.close();
    await database.drop();
  }
}
console.log(out.join('\n'));
if (failed) {
  console.error('some issuance-path query scans a table (see "SCANS A TABLE")');
  process.exit(1);
}
