// One factory that opens the SA's database by URL: `sqlite:<file>` (the embedded default), `postgres://…` (or
// `postgresql://`), and `mysql://…` (or `mariadb://`) for MariaDB. Dialect differences that reach values are settled
// here, so that the queries in the SA read the same rows on all three: 64-bit integers come back as JS numbers
// (pg and mysql2 would otherwise hand out strings), and MariaDB must compare keys byte for byte.
import { isAbsolute, join } from 'node:path';
import { Kysely, MysqlDialect, PostgresDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import type { Database } from './schema.js';
import { openSqlite } from './sqlite.js';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: DialectName;
  /** SQLite only: a WAL checkpoint. */
  checkpoint?: () => void;
}

export interface PoolOptions {
  /** Connections per process on the client-server databases. */
  poolSize?: number;
  /** Called when an idle pooled connection breaks (the database restarted); the pool replaces it on next use. */
  onIdleError?: (err: Error) => void;
}

export function dialectOf(url: string): DialectName {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  if (/^(mysql|mariadb):\/\//.test(url)) return 'mysql';
  throw new Error(`unsupported database URL "${redact(url)}": expected sqlite:<file>, postgres://user@host:port/db or mysql://user:password@host:port/db`);
}

/** The file a `sqlite:` URL names; `sqlite:` alone is not a file. */
export function sqliteFile(url: string): string {
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (!file) throw new Error('a sqlite: database URL needs a file, e.g. sqlite:/var/lib/cobble/ca.sqlite3');
  return file;
}

/** `database.url` as configured, or the default file in the data directory; relative sqlite: paths are under it. */
export function resolveDatabaseUrl(url: string | undefined, dataDir: string): string {
  if (url === undefined) return `sqlite:${join(dataDir, 'ca.sqlite3')}`;
  if (dialectOf(url) !== 'sqlite') return url;
  const file = sqliteFile(url);
  return file === ':memory:' || isAbsolute(file) ? url : `sqlite:${join(dataDir, file)}`;
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

// pg: int8 (20) is what bigint columns, count() and max() of them return; times in ms fit a double exactly.
const PG_INT8 = 20;
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === PG_INT8 ? (value: string) => Number(value) : (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format),
};

export async function openDatabase(url: string, options: PoolOptions = {}): Promise<OpenedDatabase> {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') return { ...openSqlite(sqliteFile(url)), dialect };
  const max = options.poolSize ?? 10;
  const onIdleError = options.onIdleError ?? (() => {});
  if (dialect === 'postgres') {
    const pool = new pg.Pool({ connectionString: url.replace(/^postgresql:/, 'postgres:'), max, types: pgTypes as pg.CustomTypesConfig });
    // Without a listener, an idle client whose server went away would crash the process.
    pool.on('error', onIdleError);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect };
  }
  const pool = createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: max,
    // BIGINT as a number (not a string), exact for epoch milliseconds and counts.
    supportBigNumbers: false,
    // Connections the server dropped are noticed before they are handed out again.
    enableKeepAlive: true,
  });
  pool.on('connection', (connection) => connection.on('error', onIdleError));
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  try {
    await checkMysqlCollation(db, url);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect };
}

/**
 * IDs, thumbprints and tokens are base64url: case matters. MariaDB's default collations compare case-insensitively,
 * so two keys differing in case would collide in a unique index. Tables take the database's default collation, so
 * the database must default to a binary one before the first migration.
 */
async function checkMysqlCollation(db: Kysely<Database>, url: string): Promise<void> {
  const { rows } = await sql<{ name: string | null; collation: string }>`select database() as name, @@collation_database as collation`.execute(db);
  const row = rows[0];
  if (!row?.name) throw new Error(`database URL ${redact(url)} names no database; add /<database> to its path`);
  if (!row.collation.endsWith('_bin')) {
    throw new Error(
      `database ${row.name} at ${redact(url)} defaults to collation ${row.collation}, which compares case-insensitively; ` +
        `cobble's keys are case-sensitive: run ALTER DATABASE \`${row.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin (before the first start)`,
    );
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  // SQLite, MariaDB and PostgreSQL spell it differently.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'ER_DUP_ENTRY' || code === '23505';
}

// Errors after which the same request, sent again, can succeed: the connection or the server went away, or the
// database chose this transaction as a deadlock victim.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH',
  // mysql2 / MariaDB
  'PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED', 'ER_SERVER_SHUTDOWN', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  // PostgreSQL SQLSTATEs: admin/crash shutdown, cannot connect now, connection exceptions, serialization, deadlock
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '40001', '40P01',
  'SQLITE_BUSY',
]);

/** True when a database error is worth retrying: the client gets a 5xx with Retry-After instead of a failed order. */
export function isTransientDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  // pg reports a connection that ended under a query without a code; mysql2 hands out a pooled connection the server
  // closed before it noticed (the pool drops it after that failure).
  return typeof e?.message === 'string' && /Connection terminated|connection error and is not queryable|Connection lost|connection is in closed state/i.test(e.message);
}

/**
 * Runs an idempotent write again when the database was briefly away (a restart, a killed connection, a deadlock
 * victim), so that an outcome computed outside the database (a validation) is not lost to a blip.
 */
export async function retryTransient<T>(write: () => Promise<T>, attempts = 5, delayMs = 200): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= attempts || !isTransientDatabaseError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
    }
  }
}
