// Throwaway PostgreSQL databases for tests (127.0.0.1:5432, user postgres, trust auth): unique names, dropped
// afterwards. Unreachable PostgreSQL fails the run under CI=true and skips visibly otherwise.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
