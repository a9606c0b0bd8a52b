// Collection-side queries of the leader: the task-row lock that orders a collection against concurrent uploads,
// re-opening a leader-selected batch that ended up below min_batch_size, and DAP-09's batch query count.
import type { Kysely } from 'kysely';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';
import type { Tx } from './index.js';

export class CollectionStore {
  constructor(private readonly db: Kysely<Database>, private readonly dialect: Dialect) {}

  /**
   * Takes the task row exclusively (PostgreSQL; SQLite runs one write transaction at a time anyway). Upload
   * transactions hold it in key-share mode while they check for collected batches and insert, so after this
   * returns every upload that passed that check is committed and visible to the collection's later statements,
   * and every later upload sees the collection's mark.
   */
  async lockTask(tx: Tx, taskId: string): Promise<void> {
    if (this.dialect === 'postgres') await tx.selectFrom('tasks').select('task_id').where('task_id', '=', taskId).forUpdate().execute();
  }

  /**
   * A leader-selected batch whose verified reports fell short of min_batch_size (some failed preparation) goes back
   * to filling with its real count, so the job creator tops it up; the collection job lets go of it and waits.
   */
  async reopenBatch(tx: Tx, taskId: string, batchId: Buffer, verified: number, collectionJobId: Buffer): Promise<void> {
    await tx.updateTable('outstanding_batches').set({ state: 'filling', assigned: verified }).where('task_id', '=', taskId).where('batch_id', '=', batchId).execute();
    await tx.updateTable('collection_jobs').set({ batch_id: null }).where('task_id', '=', taskId).where('job_id', '=', collectionJobId).execute();
  }

  /** Collection jobs that asked for exactly this query and were not refused or deleted (DAP-09 batch query count). */
  async queryCount(taskId: string, request: Buffer): Promise<number> {
    const r = await this.db.selectFrom('collection_jobs').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('task_id', '=', taskId).where('request', '=', request).where('state', 'in', ['pending', 'finished']).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Leader-selected: has this batch been collected (a later query by batch ID repeats it)? */
  async isBatchCollected(tx: Tx, taskId: string, batchKey: string): Promise<boolean> {
    return !!(await tx.selectFrom('collected_batches').select('batch_key').where('task_id', '=', taskId).where('batch_key', '=', batchKey).executeTakeFirst());
  }
}
