// The CRL updater's queries: each shard's revoked entries in pages (never a whole table in memory), the shards that
// exist, and CRL numbers that only increase, kept in the database so that they survive restarts and are shared by
// every process that signs CRLs.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface RevokedEntry {
  serial: string;
  revokedAt: number;
  reason: number;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'ER_DUP_ENTRY' || code === '23505';
}

export class CrlStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The unexpired revoked certificates of one shard, `pageSize` at a time, in (revoked_at, serial) order: the order of
   * certificates_crl_shard_idx, so each page is one index range from the last key seen. Expired entries are left out
   * (BR 4.9.7: a CRL lists a revoked certificate until it expires).
   */
  async *revokedEntries(issuerName: string, shard: number, now: number, pageSize = 2000): AsyncGenerator<RevokedEntry[]> {
    let after: { revokedAt: number; serial: string } | undefined;
    for (;;) {
      let query = this.db
        .selectFrom('certificates')
        .select(['serial', 'revoked_at', 'revoked_reason'])
        .where('issuer_name', '=', issuerName)
        .where('crl_shard', '=', shard)
        .where('revoked_at', 'is not', null)
        .where('not_after', '>', now);
      if (after) {
        const last = after;
        query = query.where((eb) =>
          eb.or([eb('revoked_at', '>', last.revokedAt), eb.and([eb('revoked_at', '=', last.revokedAt), eb('serial', '>', last.serial)])]),
        );
      }
      const rows = await query.orderBy('revoked_at').orderBy('serial').limit(pageSize).execute();
      if (rows.length === 0) return;
      yield rows.map((r) => ({ serial: r.serial, revokedAt: Number(r.revoked_at), reason: r.revoked_reason ?? 0 }));
      if (rows.length < pageSize) return;
      const tail = rows[rows.length - 1]!;
      after = { revokedAt: Number(tail.revoked_at), serial: tail.serial };
    }
  }

  /** Shards of the issuer that were ever published (they stay published while the shard count changes). */
  async publishedShards(issuerName: string): Promise<number[]> {
    const rows = await this.db.selectFrom('crl_shards').select('shard').where('issuer_name', '=', issuerName).orderBy('shard').execute();
    return rows.map((r) => Number(r.shard));
  }

  /**
   * Takes the shard's next CRL number, one more than any before it, recording when it is signed. Atomic: two
   * processes never get the same number.
   */
  async nextCrlNumber(issuerName: string, shard: number, thisUpdate: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const taken = await this.db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('crl_shards')
          .set((eb) => ({ crl_number: eb('crl_number', '+', 1), this_update: thisUpdate }))
          .where('issuer_name', '=', issuerName)
          .where('shard', '=', shard)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          await trx.insertInto('crl_shards').values({ issuer_name: issuerName, shard, crl_number: 1, this_update: thisUpdate }).execute();
          return 1;
        }
        const row = await trx.selectFrom('crl_shards').select('crl_number').where('issuer_name', '=', issuerName).where('shard', '=', shard).executeTakeFirstOrThrow();
        return Number(row.crl_number);
      }).catch((err: unknown) => {
        // Another process inserted the shard's first row between our update and insert: take the next number after it.
        if (attempt < 3 && isUniqueViolation(err)) return undefined;
        throw err;
      });
      if (taken !== undefined) return taken;
    }
  }

  /** A revoked certificate's reason becomes keyCompromise (proven later); false if not revoked or already so. */
  async upgradeToKeyCompromise(serial: string): Promise<boolean> {
    const result = await this.db
      .updateTable('certificates')
      .set({ revoked_reason: 1 })
      .where('serial', '=', serial)
      .where('revoked_at', 'is not', null)
      .where((eb) => eb.or([eb('revoked_reason', 'is', null), eb('revoked_reason', '<>', 1)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
