// Changing a stored task in place (`task update`): only its JSON definition; the caller validated the change.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export async function updateTaskDefinition(db: Kysely<Database>, taskId: string, role: string, definition: string): Promise<boolean> {
  const r = await db.updateTable('tasks').set({ definition }).where('task_id', '=', taskId).where('role', '=', role).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
