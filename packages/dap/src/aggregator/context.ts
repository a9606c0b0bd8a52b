// What the leader and helper logic share at run time: storage, keys, the task cache and tunables.
import { b64url } from '../codec.js';
import { codecFor, type DapCodec, type WireContext } from '../messages/index.js';
import { applyTaskUpdate, taskFromJson, taskToJson, wireContext, type Role, type TaskDefinition } from '../task.js';
import { vdafFor, type Prio3 } from '../vdaf.js';
import type { DapStore } from '../store/index.js';
import { updateTaskDefinition } from '../store/tasks.js';
import { Keyring } from './keys.js';
import { DapProblem } from './problem.js';
import { nowSeconds } from './common.js';

export interface AggregatorTunables {
  /** Job creator: how often it looks for reports, and job sizes. */
  jobCreatorIntervalMs: number;
  minJobSize: number;
  maxJobSize: number;
  /** Reports waiting longer than this get a job even below minJobSize. */
  maxJobDelayMs: number;
  /** Number of aggregation job drivers (and collection drivers) running concurrently in this process. */
  drivers: number;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollIdleMs: number;
  /** Upload write-behind: rows per transaction and the longest a request waits for company. */
  uploadBatchRows: number;
  uploadBatchDelayMs: number;
  peerTimeoutMs: number;
  /** Garbage collector: pause between passes (0 = off), rows per table per round, rounds per task per pass. */
  gcIntervalMs: number;
  gcBatchLimit: number;
  gcMaxRounds: number;
  /**
   * Leader: a time-interval collection is held until its interval has ended plus this many seconds, for late
   * reports; a task's collectionGraceSeconds overrides it. Unset (and unset on the task): 0, held until the end.
   */
  collectionGraceSeconds?: number;
}

export const DEFAULT_TUNABLES: AggregatorTunables = {
  jobCreatorIntervalMs: 250,
  minJobSize: 1,
  maxJobSize: 1000,
  maxJobDelayMs: 500,
  drivers: 4,
  leaseMs: 60_000,
  maxAttempts: 30,
  retryBaseMs: 500,
  retryMaxMs: 10_000,
  pollIdleMs: 100,
  uploadBatchRows: 1000,
  uploadBatchDelayMs: 5,
  peerTimeoutMs: 60_000,
  gcIntervalMs: 60_000,
  gcBatchLimit: 1000,
  gcMaxRounds: 10,
};

export interface LoadedTask {
  def: TaskDefinition;
  idB64: string;
  codec: DapCodec;
  ctx: WireContext;
  vdaf: Prio3;
  vdafCtx: Uint8Array | undefined;
}

export class AggregatorContext {
  readonly keyring: Keyring;
  private readonly tasks = new Map<string, { task: LoadedTask; loadedAt: number }>();

  constructor(readonly store: DapStore, readonly role: Role, readonly tunables: AggregatorTunables, readonly clock: () => number = nowSeconds) {
    this.keyring = new Keyring(store);
  }

  /** Looks a task up (cached for a few seconds so tasks provisioned by another process appear). */
  async task(idB64: string): Promise<LoadedTask | undefined> {
    const hit = this.tasks.get(idB64);
    if (hit && Date.now() - hit.loadedAt < 5000) return hit.task;
    const row = await this.store.getTask(idB64);
    if (!row || row.role !== this.role) {
      this.tasks.delete(idB64);
      return undefined;
    }
    const def = taskFromJson(JSON.parse(row.definition));
    const task: LoadedTask = { def, idB64, codec: codecFor(def.version), ctx: wireContext(def), vdaf: vdafFor(def.version, def.vdaf), vdafCtx: codecFor(def.version).vdafContext(def.taskId) };
    this.tasks.set(idB64, { task, loadedAt: Date.now() });
    return task;
  }

  /** `status` of the unrecognizedTask problem: it depends on the draft of the request (see http/server.ts). */
  async requireTask(idB64: string, status: number): Promise<LoadedTask> {
    const t = await this.task(idB64);
    if (!t) {
      let id: Uint8Array | undefined;
      try {
        id = Buffer.from(idB64, 'base64url');
      } catch {
        id = undefined;
      }
      throw new DapProblem('unrecognizedTask', `no ${this.role} task ${idB64}`, id?.length === 32 ? id : undefined, status);
    }
    return t;
  }

  async putTask(def: TaskDefinition): Promise<'created' | 'exists' | 'conflict'> {
    if (def.role !== this.role) throw new DapProblem('invalidMessage', `this aggregator serves the ${this.role} role, the task is for the ${def.role}`);
    const json = JSON.stringify(taskToJson(def));
    const r = await this.store.putTask({ taskId: b64url(def.taskId), role: def.role, version: def.version, definition: json, at: Date.now() });
    this.tasks.delete(b64url(def.taskId));
    return r;
  }

  /** Applies a `task update` patch (task.ts says which fields may change); undefined if there is no such task. */
  async updateTask(idB64: string, patch: unknown): Promise<TaskDefinition | undefined> {
    const row = await this.store.getTask(idB64);
    if (!row || row.role !== this.role) return undefined;
    const def = applyTaskUpdate(taskFromJson(JSON.parse(row.definition)), patch);
    await updateTaskDefinition(this.store.db, idB64, this.role, JSON.stringify(taskToJson(def)));
    this.tasks.delete(idB64);
    return def;
  }

  async leaderTasks(): Promise<LoadedTask[]> {
    const out: LoadedTask[] = [];
    for (const row of await this.store.listTasks()) {
      if (row.role !== 'leader') continue;
      const t = await this.task(row.task_id);
      if (t) out.push(t);
    }
    return out;
  }
}
