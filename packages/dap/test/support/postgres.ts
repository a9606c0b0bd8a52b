// Throwaway PostgreSQL databases for tests (127.0.0.1:5432, user postgres, trust auth): unique names, dropped
// afterwards. Unreachable PostgreSQL fails the run under CI=true and skips visibly otherwise.
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import type { StoreOptions } from '../../src/index.js';

export const PG_BASE = process.env.COBBLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

export async function createDatabases(names: string[]): Promise<{ urls: string[]; drop(): Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres`, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (e) {
    const msg = `PostgreSQL at ${PG_BASE} is unreachable (${(e as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${msg}; CI=true requires it`);
    console.log(`# SKIP: ${msg}; set CI=true to make this a failure`);
    return undefined;
  }
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const dbs = names.map((n) => `cobble_dap_${n}_${suffix}`);
  for (const db of dbs) await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  return {
    urls: dbs.map((db) => `${PG_BASE}/${db}`),
    async drop() {
      const a = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
      await a.connect();
      for (const db of dbs) await a.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * Runs `body` against a leader and a helper on two fresh databases named after `prefix` (dropped afterwards), or
 * skips `t` when PostgreSQL is unreachable outside CI (createDatabases says so, and fails under CI=true).
 */
export async function onPostgresPair(t: TestContext, prefix: string, body: (stores: { leader: StoreOptions; helper: StoreOptions }) => Promise<void>): Promise<void> {
  const d = await createDatabases([`${prefix}_leader`, `${prefix}_helper`]);
  if (!d) {
    t.skip('PostgreSQL unavailable');
    return;
  }
  try {
    await body({ leader: { postgres: d.urls[0] }, helper: { postgres: d.urls[1] } });
  } finally {
    await d.drop();
  }
}
