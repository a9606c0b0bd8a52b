// Schema migrations, applied in order by Kysely's Migrator (one list for SQLite and PostgreSQL).
import { sql, type Kysely, type Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export function migrations(dialect: Dialect): Record<string, Migration> {
  const bin = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema.createTable('hpke_keys')
          .addColumn('config_id', 'integer', (c) => c.primaryKey())
          .addColumn('config', bin, (c) => c.notNull())
          .addColumn('private_key', bin, (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('state_changed_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createTable('tasks')
          .addColumn('task_id', 'text', (c) => c.primaryKey())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('definition', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createTable('client_reports')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('report_id', bin, (c) => c.notNull())
          .addColumn('time', 'bigint', (c) => c.notNull())
          .addColumn('state', 'integer', (c) => c.notNull())
          .addColumn('job_id', bin)
          .addColumn('public_extensions', bin, (c) => c.notNull())
          .addColumn('public_share', bin, (c) => c.notNull())
          .addColumn('leader_share', bin, (c) => c.notNull())
          .addColumn('helper_share', bin, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('client_reports_pk', ['task_id', 'report_id'])
          .execute();
        await db.schema.createIndex('client_reports_pending').on('client_reports').columns(['task_id', 'state', 'time']).execute();
        await db.schema.createIndex('client_reports_job').on('client_reports').columns(['job_id']).execute();
        await db.schema.createTable('aggregation_jobs')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('job_id', bin, (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('batch_id', bin)
          .addColumn('min_time', 'bigint', (c) => c.notNull())
          .addColumn('max_time', 'bigint', (c) => c.notNull())
          .addColumn('report_count', 'integer', (c) => c.notNull())
          .addColumn('lease_expiry', 'bigint', (c) => c.notNull())
          .addColumn('lease_token', 'text')
          .addColumn('lease_attempts', 'integer', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('aggregation_jobs_pk', ['task_id', 'job_id'])
          .execute();
        await db.schema.createIndex('aggregation_jobs_lease').on('aggregation_jobs').columns(['state', 'lease_expiry']).execute();
        await db.schema.createTable('batch_buckets')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('batch_id', 'text', (c) => c.notNull())
          .addColumn('bucket_start', 'bigint', (c) => c.notNull())
          .addColumn('shard', 'integer', (c) => c.notNull())
          .addColumn('agg_share', bin)
          .addColumn('report_count', 'bigint', (c) => c.notNull())
          .addColumn('checksum', bin, (c) => c.notNull())
          .addColumn('min_time', 'bigint', (c) => c.notNull())
          .addColumn('max_time', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('batch_buckets_pk', ['task_id', 'batch_id', 'bucket_start', 'shard'])
          .execute();
        await db.schema.createTable('collected_batches')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('batch_key', 'text', (c) => c.notNull())
          .addColumn('start_time', 'bigint')
          .addColumn('end_time', 'bigint')
          .addColumn('collected_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('collected_batches_pk', ['task_id', 'batch_key'])
          .execute();
        await db.schema.createTable('outstanding_batches')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('batch_id', bin, (c) => c.notNull())
          .addColumn('assigned', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('outstanding_batches_pk', ['task_id', 'batch_id'])
          .execute();
        await db.schema.createTable('collection_jobs')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('job_id', bin, (c) => c.notNull())
          .addColumn('request', bin, (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('batch_id', bin)
          .addColumn('result', bin)
          .addColumn('error', 'text')
          .addColumn('lease_expiry', 'bigint', (c) => c.notNull())
          .addColumn('lease_token', 'text')
          .addColumn('lease_attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('collection_jobs_pk', ['task_id', 'job_id'])
          .execute();
        await db.schema.createTable('helper_jobs')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('job_id', bin, (c) => c.notNull())
          .addColumn('request_hash', bin, (c) => c.notNull())
          .addColumn('response', bin, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('helper_jobs_pk', ['task_id', 'job_id'])
          .execute();
        await db.schema.createTable('helper_reports')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('report_id', bin, (c) => c.notNull())
          .addPrimaryKeyConstraint('helper_reports_pk', ['task_id', 'report_id'])
          .execute();
        await db.schema.createTable('aggregate_share_jobs')
          .addColumn('task_id', 'text', (c) => c.notNull())
          .addColumn('batch_key', 'text', (c) => c.notNull())
          .addColumn('request_hash', bin, (c) => c.notNull())
          .addColumn('response', bin, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('aggregate_share_jobs_pk', ['task_id', 'batch_key'])
          .execute();
      },
    },
    // Garbage collection (store/gc.ts): the helper's replay guard gets the report time so it can expire, and every
    // table the collector deletes from gets an index on (task, time column) so each bounded round is a range scan.
    '0010_gc_expiry': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('helper_reports').addColumn('time', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
        const indexes: [string, string, string][] = [
          ['client_reports_expiry', 'client_reports', 'time'],
          ['aggregation_jobs_expiry', 'aggregation_jobs', 'max_time'],
          ['batch_buckets_expiry', 'batch_buckets', 'max_time'],
          ['collected_batches_expiry', 'collected_batches', 'collected_at'],
          ['collection_jobs_expiry', 'collection_jobs', 'created_at'],
          ['helper_jobs_expiry', 'helper_jobs', 'created_at'],
          ['helper_reports_expiry', 'helper_reports', 'time'],
          ['aggregate_share_jobs_expiry', 'aggregate_share_jobs', 'created_at'],
        ];
        for (const [name, table, column] of indexes) await db.schema.createIndex(name).on(table).columns(['task_id', column]).execute();
      },
    },
    // A leader-selected batch's aggregation jobs: garbage collection drops batches no job refers to any more, and a
    // collection waits for the batch's running jobs.
    '0011_batch_jobs': {
      async up(db: Kysely<any>) {
        await db.schema.createIndex('aggregation_jobs_batch').on('aggregation_jobs').columns(['task_id', 'batch_id']).execute();
      },
    },
  };
}
