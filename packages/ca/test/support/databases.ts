// The machine's PostgreSQL and MariaDB for the SA's dialect tests and the real-client tests on them: one fresh
// database per test file (unique name, dropped afterwards). Reachable: the tests run. Not reachable: they are skipped
// with a visible line, except under CI=true, where that is a failure (as support/redis.ts does for Redis).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type Backend = 'sqlite' | 'postgres' | 'mariadb';
export const BACKENDS: Backend[] = ['sqlite', 'postgres', 'mariadb'];

export const POSTGRES_URL = process.env.COBBLE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MARIADB_URL = process.env.COBBLE_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  backend: Backend;
  /** What `database.url` / `StorageAuthority.open` take. */
  url: string;
  /** Database name (server backends) or file (SQLite). */
  name: string;
  /** Closes every server connection to this database, as a database restart looks to its clients; the count. */
  killConnections(): Promise<number>;
  drop(): Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

async function adminQuery(backend: 'postgres' | 'mariadb', statements: (run: (sql: string, params?: unknown[]) => Promise<unknown[]>) => Promise<void>): Promise<void> {
  if (backend === 'postgres') {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await statements(async (sql, params) => (await client.query(sql, params)).rows);
    } finally {
      await client.end();
    }
  } else {
    const connection = await mysql.createConnection({ uri: MARIADB_URL, connectTimeout: 3000 });
    try {
      await statements(async (sql, params) => (await connection.query(sql, params))[0] as unknown[]);
    } finally {
      await connection.end();
    }
  }
}

/** A fresh, empty database; `label` goes into its name so a leftover one tells which test made it. */
export async function createTestDatabase(backend: Backend, label: string): Promise<TestDatabase> {
  const name = `cobble_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(3).toString('hex')}`;
  if (backend === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'cobble-sa-'));
    return {
      backend, name, url: `sqlite:${join(dir, 'ca.sqlite3')}`,
      killConnections: async () => 0,
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  if (backend === 'postgres') {
    await adminQuery('postgres', async (run) => { await run(`CREATE DATABASE "${name}"`); });
    return {
      backend, name, url: withDatabase(POSTGRES_URL, name),
      killConnections: async () => {
        let killed = 0;
        await adminQuery('postgres', async (run) => {
          const rows = (await run('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name])) as { ok: boolean }[];
          killed = rows.filter((r) => r.ok).length;
        });
        return killed;
      },
      drop: () => adminQuery('postgres', async (run) => { await run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`); }),
    };
  }
  // Binary collation: cobble's keys are case-sensitive, and the SA refuses a database that compares them otherwise.
  await adminQuery('mariadb', async (run) => { await run(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`); });
  const killConnections = async () => {
    let killed = 0;
    await adminQuery('mariadb', async (run) => {
      const rows = (await run('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [name])) as { id: number }[];
      for (const { id } of rows) {
        try {
          await run(`KILL ${Number(id)}`);
          killed++;
        } catch (err) {
          // It may have gone by itself between the listing and the KILL.
          if ((err as { code?: string }).code !== 'ER_NO_SUCH_THREAD') throw err;
        }
      }
    });
    return killed;
  };
  return {
    backend, name, url: withDatabase(MARIADB_URL, name),
    killConnections,
    drop: async () => {
      await killConnections();
      await adminQuery('mariadb', async (run) => { await run(`DROP DATABASE IF EXISTS \`${name}\``); });
    },
  };
}

async function unreachable(backend: Backend): Promise<string | undefined> {
  if (backend === 'sqlite') return undefined;
  try {
    await adminQuery(backend, async (run) => { await run('SELECT 1'); });
    return undefined;
  } catch (err) {
    return `${backend === 'postgres' ? `PostgreSQL at ${POSTGRES_URL}` : `MariaDB at ${MARIADB_URL}`} is unreachable (${(err as Error).message})`;
  }
}

/**
 * `false` when the backend answers; otherwise the skip reason for `describe(..., { skip })` — after registering a
 * failing test when CI=true and printing the skip otherwise.
 */
export async function databaseSkip(backend: Backend, what: string): Promise<string | false> {
  const down = await unreachable(backend);
  if (!down) return false;
  if (process.env.CI === 'true') test(`${backend} is reachable (CI=true)`, () => assert.fail(`${down}: CI must run ${what}`));
  else console.log(`# SKIPPING ${what} on ${backend}: ${down}; with CI=true they fail instead`);
  return `${down} (skipped; fails under CI=true)`;
}
