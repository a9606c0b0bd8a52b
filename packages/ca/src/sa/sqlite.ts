// The SQLite side of the SA: the file, its pragmas, the prepared-statement cache and write transactions that take the
// lock up front. Nothing here is needed (or valid) on MariaDB or PostgreSQL.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

export interface OpenedSqlite {
  db: Kysely<Database>;
  /** A WAL checkpoint, so that a copy of the file alone is complete. */
  checkpoint(): void;
}

export function openSqlite(file: string): OpenedSqlite {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const raw = new SqliteDatabase(file);
  // WAL: a committed transaction survives kill -9; NORMAL sync is durable against process crashes in WAL mode.
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) }),
    checkpoint: () => raw.pragma('wal_checkpoint(TRUNCATE)'),
  };
}

/**
 * Kysely prepares every query afresh; preparing is a large share of a query's cost in better-sqlite3, and the SA
 * issues the same few dozen SQL strings over and over, so prepared statements are kept (bounded, oldest dropped).
 */
function withStatementCache(raw: SqliteDatabase.Database, capacity = 256) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      // Write transactions take the write lock up front: with several processes on one database a deferred
      // transaction that read first could otherwise fail with SQLITE_BUSY instead of waiting (busy_timeout).
      if (sql === 'begin') sql = 'begin immediate';
      let statement = cache.get(sql);
      if (!statement) {
        statement = raw.prepare(sql);
        cache.set(sql, statement);
        if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      }
      return statement;
    },
  };
}
