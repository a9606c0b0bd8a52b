// Versioned schema migrations, applied in name order by Kysely's Migrator. Never edit a shipped migration: add one.
// Only portable DDL: no SQLite-only types, every index named and explicit.
import type { Kysely, Migration } from 'kysely';

export const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('thumbprint', 'varchar(64)', (c) => c.notNull())
        .addColumn('jwk', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('contact', 'text', (c) => c.notNull())
        .addColumn('terms_agreed', 'integer', (c) => c.notNull())
        .addColumn('eab', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('accounts_thumbprint_uq').on('accounts').column('thumbprint').unique().execute();

      await db.schema
        .createTable('orders')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .addColumn('identifiers', 'text', (c) => c.notNull())
        .addColumn('not_before', 'bigint')
        .addColumn('not_after', 'bigint')
        .addColumn('error', 'text')
        .addColumn('began_processing', 'integer', (c) => c.notNull())
        .addColumn('certificate_id', 'varchar(32)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('orders_account_created_idx').on('orders').columns(['account_id', 'created_at']).execute();

      await db.schema
        .createTable('authorizations')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('identifier_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('identifier_value', 'varchar(255)', (c) => c.notNull())
        .addColumn('wildcard', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .addColumn('token', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('authorizations_account_identifier_idx')
        .on('authorizations')
        .columns(['account_id', 'identifier_value', 'status'])
        .execute();

      await db.schema
        .createTable('order_authorizations')
        .addColumn('order_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('authz_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('order_authorizations_pk', ['order_id', 'authz_id'])
        .execute();
      await db.schema.createIndex('order_authorizations_authz_idx').on('order_authorizations').column('authz_id').execute();

      await db.schema
        .createTable('challenges')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('authz_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('validated_at', 'bigint')
        .addColumn('error', 'text')
        .addColumn('validation_records', 'text')
        .execute();
      await db.schema.createIndex('challenges_authz_idx').on('challenges').column('authz_id').execute();

      await db.schema
        .createTable('serials')
        .addColumn('serial', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('certificates')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('serial', 'varchar(64)', (c) => c.notNull())
        .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('order_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('pem', 'text', (c) => c.notNull())
        .addColumn('issuer_name', 'varchar(32)', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_reason', 'integer')
        .execute();
      await db.schema.createIndex('certificates_serial_uq').on('certificates').column('serial').unique().execute();
      await db.schema.createIndex('certificates_account_idx').on('certificates').column('account_id').execute();
    },
  },
  '0002_policy': {
    // Profiles (draft-ietf-acme-profiles) on orders, authorizations and certificates; the time an authorization was
    // validated and by which method (CAA recheck at finalize, RFC 8657 validationmethods); blocked keys.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('orders').addColumn('profile', 'varchar(32)', (c) => c.notNull().defaultTo('classic')).execute();
      await db.schema.alterTable('authorizations').addColumn('profile', 'varchar(32)', (c) => c.notNull().defaultTo('classic')).execute();
      await db.schema.alterTable('authorizations').addColumn('validated_at', 'bigint').execute();
      await db.schema.alterTable('authorizations').addColumn('validation_method', 'varchar(16)').execute();
      await db.schema.alterTable('certificates').addColumn('profile', 'varchar(32)', (c) => c.notNull().defaultTo('classic')).execute();
      await db.schema
        .createTable('blocked_keys')
        .addColumn('spki_sha256', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addColumn('source', 'varchar(32)', (c) => c.notNull())
        .addColumn('comment', 'text')
        .execute();
    },
  },
  '0030_stats': {
    // The public stats page: the names of each certificate with their registered domain (eTLD+1), written at issuance,
    // and one snapshot row per UTC day, so a page view reads a few hundred small rows instead of the certificates.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('stats_certificates')
        .addColumn('certificate_id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('not_after', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('stats_certificates_issued_idx').on('stats_certificates').column('issued_at').execute();
      await db.schema.createIndex('stats_certificates_not_after_idx').on('stats_certificates').column('not_after').execute();
      await db.schema
        .createTable('stats_names')
        .addColumn('certificate_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('registered_domain', 'varchar(255)', (c) => c.notNull())
        .addPrimaryKeyConstraint('stats_names_pk', ['certificate_id', 'name'])
        .execute();
      await db.schema
        .createTable('stats_daily')
        .addColumn('day', 'varchar(10)', (c) => c.primaryKey())
        .addColumn('computed_at', 'bigint', (c) => c.notNull())
        .addColumn('active_certificates', 'bigint', (c) => c.notNull())
        .addColumn('names', 'bigint', (c) => c.notNull())
        .addColumn('registered_domains', 'bigint', (c) => c.notNull())
        .addColumn('issued', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0020_incidents': {
    // RFC 9773 `replaces` on orders and the one order that holds each replaced certificate; incidents and the
    // certificates they selected (with their progress: replaced, revoked); paused accounts; test mode's ARI windows.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('orders').addColumn('replaces', 'varchar(255)').execute();
      await db.schema
        .createTable('certificate_replacements')
        .addColumn('serial', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('order_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('selection', 'text', (c) => c.notNull())
        .addColumn('explanation_url', 'text')
        .addColumn('deadline', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'integer', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('select_cursor', 'varchar(64)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('incidents_name_uq').on('incidents').column('name').unique().execute();
      await db.schema
        .createTable('incident_certificates')
        .addColumn('incident_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('certificate_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('serial', 'varchar(64)', (c) => c.notNull())
        .addColumn('names_key', 'varchar(64)', (c) => c.notNull())
        .addColumn('not_before', 'bigint', (c) => c.notNull())
        .addColumn('replaced_at', 'bigint')
        .addColumn('replaced_by', 'varchar(64)')
        .addColumn('processed_at', 'bigint')
        .addPrimaryKeyConstraint('incident_certificates_pk', ['incident_id', 'certificate_id'])
        .execute();
      await db.schema.createIndex('incident_certificates_serial_idx').on('incident_certificates').column('serial').execute();
      await db.schema.createIndex('incident_certificates_names_idx').on('incident_certificates').column('names_key').execute();
      await db.schema
        .createTable('account_pauses')
        .addColumn('account_id', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('paused_at', 'bigint', (c) => c.notNull())
        .addColumn('comment', 'text')
        .execute();
      await db.schema
        .createTable('renewal_windows')
        .addColumn('serial', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('window_end', 'bigint', (c) => c.notNull())
        .addColumn('explanation_url', 'text')
        .addColumn('set_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0010_crl': {
    // Sharded CRLs: the shard a certificate's CRL distribution point names (fixed at issuance; NULL for leaves issued
    // before sharding), an index that walks one shard's revoked entries in order, and each shard's CRL number.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('certificates').addColumn('crl_shard', 'integer').execute();
      await db.schema
        .createIndex('certificates_crl_shard_idx')
        .on('certificates')
        .columns(['issuer_name', 'crl_shard', 'revoked_at', 'serial'])
        .execute();
      await db.schema
        .createTable('crl_shards')
        .addColumn('issuer_name', 'varchar(32)', (c) => c.notNull())
        .addColumn('shard', 'integer', (c) => c.notNull())
        .addColumn('crl_number', 'bigint', (c) => c.notNull())
        .addColumn('this_update', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('crl_shards_pk', ['issuer_name', 'shard'])
        .execute();
    },
  },
  '0040_processing_sweep': {
    // When an order began processing (NULL when it is not), so that a sweeper can find finalizes that died; orders
    // already stuck get 0, the oldest time there is. Certificates by order (the sweeper's check for a stored
    // certificate) and by issuer and revocation (CRLs), each an index lookup instead of a table scan.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('orders').addColumn('processing_since', 'bigint').execute();
      await db
        .updateTable('orders')
        .set({ processing_since: 0 })
        .where('began_processing', '=', 1)
        .where('certificate_id', 'is', null)
        .where('error', 'is', null)
        .execute();
      await db.schema.createIndex('orders_processing_since_idx').on('orders').column('processing_since').execute();
      await db.schema.createIndex('certificates_order_idx').on('certificates').column('order_id').execute();
      await db.schema.createIndex('certificates_issuer_revoked_idx').on('certificates').columns(['issuer_name', 'revoked_at']).execute();
    },
  },
  '0050_challenge_sweep': {
    // When a challenge was claimed for validation, so that the sweeper can find validations whose front end died;
    // challenges already stuck get 0, the oldest time there is.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('challenges').addColumn('processing_since', 'bigint').execute();
      await db.updateTable('challenges').set({ processing_since: 0 }).where('status', '=', 'processing').execute();
      await db.schema.createIndex('challenges_processing_since_idx').on('challenges').column('processing_since').execute();
    },
  },
};
