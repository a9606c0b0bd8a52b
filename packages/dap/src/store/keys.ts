// HPKE key state changes an operator makes by hand (`cobble dap keys add|activate|retire`), each one transaction so
// that every aggregator process sharing the database sees one current key at a time.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class KeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Makes `configId` the current key (advertised, used for new reports); the key that was current becomes
   * expired: no longer advertised, still decrypting reports clients sealed to it until it is retired.
   * Returns the IDs that were expired, or undefined if there is no such key.
   */
  async activate(configId: number, at: number): Promise<number[] | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const key = await trx.selectFrom('hpke_keys').select('config_id').where('config_id', '=', configId).executeTakeFirst();
      if (!key) return undefined;
      const previous = await trx.selectFrom('hpke_keys').select('config_id').where('state', '=', 'active').where('config_id', '!=', configId).execute();
      if (previous.length) {
        await trx.updateTable('hpke_keys').set({ state: 'expired', state_changed_at: at }).where('config_id', 'in', previous.map((p) => p.config_id)).execute();
      }
      await trx.updateTable('hpke_keys').set({ state: 'active', state_changed_at: at }).where('config_id', '=', configId).execute();
      return previous.map((p) => p.config_id);
    });
  }

  /**
   * Deletes a key that is not current: reports sealed to it are refused from then on (outdatedConfig), which
   * makes clients fetch the current configs. The current key cannot be retired; activate another one first.
   */
  async retire(configId: number): Promise<'retired' | 'unknown' | 'current'> {
    return this.db.transaction().execute(async (trx) => {
      const key = await trx.selectFrom('hpke_keys').select('state').where('config_id', '=', configId).executeTakeFirst();
      if (!key) return 'unknown';
      if (key.state === 'active') {
        const others = await trx.selectFrom('hpke_keys').select('config_id').where('state', '=', 'active').where('config_id', '!=', configId).execute();
        if (!others.length) return 'current';
      }
      await trx.deleteFrom('hpke_keys').where('config_id', '=', configId).execute();
      return 'retired';
    });
  }
}
