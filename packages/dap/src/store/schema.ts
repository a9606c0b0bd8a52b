// Table shapes of one aggregator's database (leader and helper use the same schema; each fills its own tables).
import type { Generated } from 'kysely';

export interface HpkeKeyTable {
  config_id: number;
  config: Buffer;
  private_key: Buffer;
  state: 'pending' | 'active' | 'expired';
  state_changed_at: number;
}

export interface TaskTable {
  task_id: string;
  role: string;
  version: string;
  definition: string;
  created_at: number;
}

/** Leader: every uploaded report; the primary key is the replay guard. */
export interface ClientReportTable {
  task_id: string;
  report_id: Buffer;
  time: number;
  /** 0 waiting for a job, 1 in a job, 2 dropped. */
  state: number;
  job_id: Buffer | null;
  public_extensions: Buffer;
  public_share: Buffer;
  leader_share: Buffer;
  helper_share: Buffer;
  created_at: number;
}

export interface AggregationJobTable {
  task_id: string;
  job_id: Buffer;
  state: 'active' | 'finished' | 'abandoned';
  batch_id: Buffer | null;
  min_time: number;
  max_time: number;
  report_count: number;
  lease_expiry: number;
  lease_token: string | null;
  lease_attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** Per batch bucket (time-interval: bucket_start; leader-selected: batch_id), sharded to spread write locks. */
export interface BatchBucketTable {
  task_id: string;
  batch_id: string;
  bucket_start: number;
  shard: number;
  agg_share: Buffer | null;
  report_count: number;
  checksum: Buffer;
  min_time: number;
  max_time: number;
}

export interface CollectedBatchTable {
  task_id: string;
  batch_key: string;
  /** Time-interval batches: the covered [start, end) in seconds; null for leader-selected. */
  start_time: number | null;
  end_time: number | null;
  collected_at: number;
}

/** Leader, leader-selected mode: batches being filled by the job creator. */
export interface OutstandingBatchTable {
  task_id: string;
  batch_id: Buffer;
  assigned: number;
  state: 'filling' | 'filled' | 'collecting';
  created_at: number;
}

export interface CollectionJobTable {
  task_id: string;
  job_id: Buffer;
  request: Buffer;
  state: 'pending' | 'finished' | 'failed' | 'deleted';
  batch_id: Buffer | null;
  result: Buffer | null;
  error: string | null;
  lease_expiry: number;
  lease_token: string | null;
  lease_attempts: number;
  created_at: number;
  updated_at: number;
}

export interface HelperJobTable {
  task_id: string;
  job_id: Buffer;
  request_hash: Buffer;
  response: Buffer;
  created_at: number;
}

export interface HelperReportTable {
  task_id: string;
  report_id: Buffer;
  /** Report time (seconds), so the replay guard expires with the task's report_expiry_age. */
  time: number;
}

export interface AggregateShareJobTable {
  task_id: string;
  batch_key: string;
  request_hash: Buffer;
  response: Buffer;
  created_at: number;
}

export interface MigrationMarker {
  id: Generated<number>;
}

export interface Database {
  hpke_keys: HpkeKeyTable;
  tasks: TaskTable;
  client_reports: ClientReportTable;
  aggregation_jobs: AggregationJobTable;
  batch_buckets: BatchBucketTable;
  collected_batches: CollectedBatchTable;
  outstanding_batches: OutstandingBatchTable;
  collection_jobs: CollectionJobTable;
  helper_jobs: HelperJobTable;
  helper_reports: HelperReportTable;
  aggregate_share_jobs: AggregateShareJobTable;
}
