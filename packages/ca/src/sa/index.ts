// Storage authority: the only code that speaks SQL. Kysely over SQLite (embedded default), MariaDB or PostgreSQL,
// opened by URL (dialect.ts); the queries and migrations are the same on all three, and the few places where the
// databases behave differently (the challenge claim) say so.
import { Kysely, Migrator, type Compilable, type MigrationProvider, type Transaction } from 'kysely';
import type {
  Account,
  AccountStatus,
  Authorization,
  AuthorizationStatus,
  CertificateRecord,
  Challenge,
  ChallengeStatus,
  ChallengeType,
  ErrorJson,
  Identifier,
  Order,
  OrderStatus,
  ValidationRecordJson,
} from '../core/index.js';
import { dialectOf, isUniqueViolation, openDatabase, redact, retryTransient, type DialectName, type OpenedDatabase } from './dialect.js';
import { migrations } from './migrations.js';
import { recordIssuance } from './stats.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
export { dialectOf, isTransientDatabaseError, redact as redactDatabaseUrl, resolveDatabaseUrl, type DialectName } from './dialect.js';
export { ProcessingSweeper } from './sweeper.js';

const migrationProvider: MigrationProvider = { getMigrations: async () => migrations };

function json<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}

type AuthzRow = Database['authorizations'];
type ChallengeRow = Omit<Database['challenges'], 'processing_since'>;

/** What finalize needs of each authorization of an order. */
export interface FinalizeAuthorization {
  id: string;
  identifier: Identifier;
  wildcard: boolean;
  status: AuthorizationStatus;
  expires: number;
  validatedAt?: number;
  validationMethod?: ChallengeType;
}

export interface OpenOptions {
  /**
   * Keep accounts in memory (every authenticated request reads one); only safe when this process is the database's
   * only writer, since invalidation is local.
   */
  cacheAccounts?: boolean;
  /** A read replica for reads that tolerate lag (order listing, CRLs); the issuance path always reads the primary. */
  readReplicaUrl?: string;
  /** Connections per pool on MariaDB/PostgreSQL. */
  poolSize?: number;
  /** An idle pooled connection broke (e.g. the database restarted); the pool opens a new one on next use. */
  onConnectionError?: (err: Error) => void;
}

/** What the sweeper did with orders and challenges left in processing. */
export interface SweepResult {
  /** Back to ready: no certificate was stored (the serial may be burned); the client can finalize again. */
  released: string[];
  /** Completed: the certificate had been stored. */
  completed: string[];
  /** Challenges whose validation never reported: failed, with their authorizations (the client orders again). */
  interrupted: string[];
}

export interface NewAuthorization {
  authz: Omit<Authorization, 'challenges'>;
  challenges: Challenge[];
}

/**
 * A query compiled once and run with fresh parameters: the polling reads run for every ACME request, and Kysely
 * would otherwise rebuild and recompile the same SQL each time. `build` must use one placeholder per parameter.
 */
function precompiled<R>(db: Kysely<Database>, build: (db: Kysely<Database>) => Compilable<R>) {
  const compiled = build(db).compile();
  return async (...parameters: unknown[]): Promise<R[]> => (await db.executeQuery<R>({ ...compiled, parameters })).rows;
}

/**
 * Like `precompiled`, for statements whose parameters (SET values, several conditions) are not in an obvious order:
 * `build` receives markers for its arguments, and each run swaps them for the values in whatever order Kysely emitted
 * them. The statement runs on `on` (the database or a transaction).
 */
function prepared<R>(db: Kysely<Database>, build: (db: Kysely<Database>, arg: (index: number) => never) => Compilable<R>) {
  const marker = (index: number) => `\u0000cobble-arg-${index}` as never;
  const compiled = build(db, marker).compile();
  const slots = compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith('\u0000cobble-arg-') ? Number(p.slice(12)) : -1));
  return async (on: Kysely<Database>, ...args: unknown[]) =>
    on.executeQuery<R>({ ...compiled, parameters: compiled.parameters.map((p, i) => (slots[i]! >= 0 ? args[slots[i]!] : p)) });
}

export class StorageAuthority {
  private readonly accountById;
  private readonly blockedKey;
  private readonly authzWithChallenges;
  private readonly claimPendingChallenge;
  private readonly updateChallengeOutcome;
  private readonly updateAuthzOutcome;
  private readonly validateAuthz;
  private readonly markProcessing;
  private readonly insertSerial;
  private readonly insertCertificate;
  private readonly setOrderCertificate;
  private readonly certificateById;
  private readonly orderWithAuthzs;
  private readonly insertAuthorization;
  /** One multi-row insert per row count (an order's challenges), compiled on first use. */
  private readonly insertChallengeRows = new Map<number, (on: Kysely<Database>, ...args: unknown[]) => Promise<unknown>>();
  private readonly insertOrder;
  private readonly insertOrderAuthorization;

  /** The primary; other helpers' SA files take it too. */
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where lag-tolerant reads go: the read replica if configured, else the primary. */
  readonly readDb: Kysely<Database>;

  private constructor(
    private readonly primary: OpenedDatabase,
    private readonly replica?: OpenedDatabase,
  ) {
    const db = primary.db;
    this.db = db;
    this.dialect = primary.dialect;
    this.readDb = replica?.db ?? db;
    this.accountById = precompiled(db, (d) => d.selectFrom('accounts').selectAll().where('id', '=', ''));
    this.blockedKey = precompiled(db, (d) => d.selectFrom('blocked_keys').select('spki_sha256').where('spki_sha256', '=', ''));
    // One round trip for an authorization and its challenges (every authorization is created with at least one).
    this.authzWithChallenges = precompiled(db, (d) =>
      d
        .selectFrom('authorizations')
        .leftJoin('challenges', 'challenges.authz_id', 'authorizations.id')
        .selectAll('authorizations')
        .select([
          'challenges.id as c_id',
          'challenges.type as c_type',
          'challenges.status as c_status',
          'challenges.validated_at as c_validated_at',
          'challenges.error as c_error',
          'challenges.validation_records as c_validation_records',
        ])
        .where('authorizations.id', '=', '')
        .orderBy('challenges.id'),
    );
    // SQLite: the claim's three conditions in one statement, which SQLite runs atomically (one writer at a time): the
    // authorization is pending, no challenge of it is already processing, and this challenge is pending.
    this.claimPendingChallenge = prepared(db, (d, arg) =>
      d
        .updateTable('challenges')
        .set({ status: 'processing', processing_since: arg(2) })
        .where('id', '=', arg(0))
        .where('authz_id', '=', arg(1))
        .where('status', '=', 'pending')
        .where((eb) =>
          eb.and([
            eb.exists(eb.selectFrom('authorizations').select('authorizations.id').where('authorizations.id', '=', arg(1)).where('authorizations.status', '=', 'pending')),
            eb.not(
              eb.exists(
                eb.selectFrom('challenges as other').select('other.id').where('other.authz_id', '=', arg(1)).where('other.status', '=', 'processing'),
              ),
            ),
          ]),
        ),
    );
    this.updateChallengeOutcome = prepared(db, (d, arg) =>
      // Only a challenge still processing: a validation that reports after the sweeper failed it changes nothing.
      d.updateTable('challenges').set({ status: arg(1), validated_at: arg(2), error: arg(3), validation_records: arg(4), processing_since: null }).where('id', '=', arg(0)).where('status', '=', 'processing'),
    );
    this.updateAuthzOutcome = prepared(db, (d, arg) =>
      d.updateTable('authorizations').set({ status: arg(1) }).where('id', '=', arg(0)).where('status', '=', 'pending'),
    );
    this.validateAuthz = prepared(db, (d, arg) =>
      d
        .updateTable('authorizations')
        .set({ status: 'valid', validated_at: arg(1), validation_method: arg(2), expires: arg(3) })
        .where('id', '=', arg(0))
        .where('status', '=', 'pending'),
    );
    this.markProcessing = prepared(db, (d, arg) =>
      d
        .updateTable('orders')
        .set({ began_processing: 1, processing_since: arg(1) })
        .where('id', '=', arg(0))
        .where('began_processing', '=', 0)
        .where('certificate_id', 'is', null),
    );
    this.insertSerial = prepared(db, (d, arg) =>
      d.insertInto('serials').values({ serial: arg(0), account_id: arg(1), created_at: arg(2), expires: arg(3) }),
    );
    this.insertCertificate = prepared(db, (d, arg) =>
      d.insertInto('certificates').values({
        id: arg(0),
        serial: arg(1),
        account_id: arg(2),
        order_id: arg(3),
        pem: arg(4),
        issuer_name: arg(5),
        not_before: arg(6),
        not_after: arg(7),
        revoked_at: null,
        revoked_reason: null,
        profile: arg(8),
        crl_shard: arg(9),
      }),
    );
    this.setOrderCertificate = prepared(db, (d, arg) =>
      d.updateTable('orders').set({ certificate_id: arg(1), processing_since: null }).where('id', '=', arg(0)),
    );
    this.certificateById = prepared(db, (d, arg) => d.selectFrom('certificates').selectAll().where('id', '=', arg(0)));
    // newOrder's writes, compiled once (building multi-row inserts cost more than running them).
    this.insertAuthorization = prepared(db, (d, arg) =>
      d.insertInto('authorizations').values({
        id: arg(0),
        account_id: arg(1),
        identifier_type: arg(2),
        identifier_value: arg(3),
        wildcard: arg(4),
        status: arg(5),
        expires: arg(6),
        token: arg(7),
        created_at: arg(8),
        profile: arg(9),
        validated_at: null,
        validation_method: null,
      }),
    );
    this.insertOrder = prepared(db, (d, arg) =>
      d.insertInto('orders').values({
        id: arg(0),
        account_id: arg(1),
        expires: arg(2),
        identifiers: arg(3),
        not_before: arg(4),
        not_after: arg(5),
        error: null,
        began_processing: 0,
        processing_since: null,
        certificate_id: null,
        created_at: arg(6),
        profile: arg(7),
        replaces: arg(8),
      }),
    );
    this.insertOrderAuthorization = prepared(db, (d, arg) =>
      d.insertInto('order_authorizations').values({ order_id: arg(0), authz_id: arg(1), position: arg(2) }),
    );
    // An order with its authorizations' states in one round trip (one row per authorization).
    this.orderWithAuthzs = precompiled(db, (d) =>
      d
        .selectFrom('orders')
        .leftJoin('order_authorizations', 'order_authorizations.order_id', 'orders.id')
        .leftJoin('authorizations', 'authorizations.id', 'order_authorizations.authz_id')
        .selectAll('orders')
        .select([
          'authorizations.id as a_id',
          'authorizations.status as a_status',
          'authorizations.expires as a_expires',
          'authorizations.identifier_type as a_identifier_type',
          'authorizations.identifier_value as a_identifier_value',
          'authorizations.wildcard as a_wildcard',
          'authorizations.validated_at as a_validated_at',
          'authorizations.validation_method as a_validation_method',
        ])
        .where('orders.id', '=', '')
        .orderBy('order_authorizations.position'),
    );
  }

  /**
   * Opens the database at `url` (sqlite:<file>, postgres://…, mysql://… for MariaDB) and applies pending migrations
   * to the primary. Migrations take the migrator's lock, so front ends starting together migrate once.
   */
  static async open(url: string, options: OpenOptions = {}): Promise<StorageAuthority> {
    const pool = { poolSize: options.poolSize, onIdleError: options.onConnectionError };
    const primary = await openDatabase(url, pool);
    let replica: OpenedDatabase | undefined;
    try {
      const { error, results } = await new Migrator({ db: primary.db, provider: migrationProvider }).migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(before any migration ran)';
        throw new Error(`migrating the CA database ${redact(url)} failed at ${failed}: ${(error as Error).message ?? String(error)}`, { cause: error });
      }
      if (options.readReplicaUrl) {
        if (dialectOf(options.readReplicaUrl) !== primary.dialect) throw new Error('database.readReplicaUrl must use the same kind of database as database.url');
        replica = await openDatabase(options.readReplicaUrl, pool);
      }
    } catch (err) {
      await primary.db.destroy();
      throw err;
    }
    const sa = new StorageAuthority(primary, replica);
    if (options.cacheAccounts) sa.accountCache = new Map();
    return sa;
  }

  /** The embedded database in one file (':memory:' for tests). */
  static openSqlite(file: string, options: Omit<OpenOptions, 'readReplicaUrl'> = {}): Promise<StorageAuthority> {
    return StorageAuthority.open(`sqlite:${file}`, options);
  }

  private accountCache?: Map<string, Account>;

  async close(): Promise<void> {
    await this.replica?.db.destroy();
    await this.db.destroy();
  }

  // ---- accounts ----

  async createAccount(account: Account): Promise<'created' | 'exists'> {
    try {
      await this.db
        .insertInto('accounts')
        .values({
          id: account.id,
          thumbprint: account.thumbprint,
          jwk: JSON.stringify(account.jwk),
          status: account.status,
          contact: JSON.stringify(account.contact),
          terms_agreed: account.termsAgreed ? 1 : 0,
          eab: account.externalAccountBinding ? JSON.stringify(account.externalAccountBinding) : null,
          created_at: account.createdAt,
        })
        .execute();
      return 'created';
    } catch (err) {
      if (isUniqueViolation(err)) return 'exists';
      throw err;
    }
  }

  private toAccount(row: Database['accounts']): Account {
    return {
      id: row.id,
      thumbprint: row.thumbprint,
      jwk: JSON.parse(row.jwk),
      status: row.status as AccountStatus,
      contact: JSON.parse(row.contact),
      termsAgreed: row.terms_agreed === 1,
      externalAccountBinding: json(row.eab),
      createdAt: row.created_at,
    };
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const cached = this.accountCache?.get(id);
    if (cached) return cached;
    const [row] = await this.accountById(id);
    const account = row && this.toAccount(row);
    if (account && this.accountCache) {
      // Shared by every request of the account, so frozen rather than copied per read.
      this.accountCache.set(id, deepFreeze(account));
      if (this.accountCache.size > 10_000) this.accountCache.delete(this.accountCache.keys().next().value as string);
    }
    return account;
  }

  async getAccountByThumbprint(thumbprint: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('thumbprint', '=', thumbprint).executeTakeFirst();
    return row && this.toAccount(row);
  }

  async updateAccount(id: string, changes: { contact?: string[]; status?: AccountStatus; termsAgreed?: boolean }): Promise<void> {
    const values: Partial<Database['accounts']> = {};
    if (changes.contact) values.contact = JSON.stringify(changes.contact);
    if (changes.status) values.status = changes.status;
    if (changes.termsAgreed !== undefined) values.terms_agreed = changes.termsAgreed ? 1 : 0;
    if (Object.keys(values).length === 0) return;
    this.accountCache?.delete(id);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set(values).where('id', '=', id).execute();
      // RFC 8555 §7.3.6: a deactivated account's pending work is cancelled with it.
      if (changes.status === 'deactivated') {
        await trx.updateTable('authorizations').set({ status: 'deactivated' }).where('account_id', '=', id).where('status', '=', 'pending').execute();
      }
    });
    this.accountCache?.delete(id);
  }

  /** Swaps the account key; 'conflict' when another account already holds the new key. */
  async updateAccountKey(id: string, jwk: Record<string, unknown>, thumbprint: string): Promise<'updated' | 'conflict'> {
    this.accountCache?.delete(id);
    try {
      await this.db.updateTable('accounts').set({ jwk: JSON.stringify(jwk), thumbprint }).where('id', '=', id).execute();
      this.accountCache?.delete(id);
      return 'updated';
    } catch (err) {
      if (isUniqueViolation(err)) return 'conflict';
      throw err;
    }
  }

  // ---- orders and authorizations ----

  /**
   * Stores an order with its new authorizations and challenges atomically; `order.authzIds` may also name reused
   * authorizations, which are linked, not copied.
   */
  async createOrder(order: Order, authorizations: NewAuthorization[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const { authz } of authorizations) {
        const { id, accountId, identifier, wildcard, status, expires, token, profile } = authz;
        await this.insertAuthorization(trx, id, accountId, identifier.type, identifier.value, wildcard ? 1 : 0, status, expires, token, order.createdAt, profile);
      }
      const challengeRows = authorizations.flatMap(({ authz, challenges }) => challenges.map((c) => [c.id, authz.id, c.type, c.status]));
      if (challengeRows.length > 0) await this.insertChallenges(challengeRows.length)(trx, ...challengeRows.flat());
      await this.insertOrder(
        trx,
        order.id,
        order.accountId,
        order.expires,
        JSON.stringify(order.identifiers),
        order.notBefore ?? null,
        order.notAfter ?? null,
        order.createdAt,
        order.profile,
        order.replaces ?? null,
      );
      for (const [position, authzId] of order.authzIds.entries()) await this.insertOrderAuthorization(trx, order.id, authzId, position);
    });
  }

  /** All of an order's challenges in one statement: one round trip on MariaDB and PostgreSQL instead of one per row. */
  private insertChallenges(rows: number): (on: Kysely<Database>, ...args: unknown[]) => Promise<unknown> {
    let insert = this.insertChallengeRows.get(rows);
    if (!insert) {
      insert = prepared(this.db, (d, arg) =>
        d.insertInto('challenges').values(
          Array.from({ length: rows }, (_, i) => ({ id: arg(4 * i), authz_id: arg(4 * i + 1), type: arg(4 * i + 2), status: arg(4 * i + 3), validated_at: null, error: null, validation_records: null })),
        ),
      );
      this.insertChallengeRows.set(rows, insert);
    }
    return insert;
  }

  async getOrder(id: string, now: number): Promise<Order | undefined> {
    return (await this.getOrderWithAuthorizations(id, now))?.order;
  }

  /**
   * An order and what finalize decides on about each of its authorizations, in one query: one fresh object per
   * authorization, each with its own identifier (the 2020 CAA recheck bug was one identifier object shared by every
   * authorization of a batch).
   */
  async getOrderWithAuthorizations(id: string, now: number): Promise<{ order: Order; authorizations: FinalizeAuthorization[] } | undefined> {
    const rows = await this.orderWithAuthzs(id);
    const row = rows[0];
    if (!row) return undefined;
    const authorizations: FinalizeAuthorization[] = rows.flatMap((r) =>
      r.a_id === null
        ? []
        : [{
            id: r.a_id,
            identifier: { type: r.a_identifier_type!, value: r.a_identifier_value! },
            wildcard: r.a_wildcard === 1,
            status: effectiveAuthzStatus(r.a_status as AuthorizationStatus, r.a_expires!, now),
            expires: r.a_expires!,
            validatedAt: r.a_validated_at ?? undefined,
            validationMethod: (r.a_validation_method ?? undefined) as ChallengeType | undefined,
          }],
    );
    const order: Order = {
      id: row.id,
      accountId: row.account_id,
      status: orderStatus(row, authorizations.map((a) => a.status), now),
      expires: row.expires,
      identifiers: JSON.parse(row.identifiers) as Identifier[],
      notBefore: row.not_before ?? undefined,
      notAfter: row.not_after ?? undefined,
      authzIds: authorizations.map((a) => a.id),
      error: json<ErrorJson>(row.error),
      certificateId: row.certificate_id ?? undefined,
      createdAt: row.created_at,
      profile: row.profile,
      replaces: row.replaces ?? undefined,
    };
    return { order, authorizations };
  }

  /** A page of an account's order IDs, newest first; `before` is the created_at cursor of the previous page. */
  async listOrderIds(accountId: string, limit: number, before?: { createdAt: number; id: string }): Promise<{ id: string; createdAt: number }[]> {
    let query = this.readDb.selectFrom('orders').select(['id', 'created_at']).where('account_id', '=', accountId);
    if (before) {
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]),
      );
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at }));
  }

  private toAuthorization(row: AuthzRow, challenges: ChallengeRow[], now: number): Authorization {
    return {
      id: row.id,
      accountId: row.account_id,
      identifier: { type: row.identifier_type, value: row.identifier_value },
      wildcard: row.wildcard === 1,
      status: effectiveAuthzStatus(row.status as AuthorizationStatus, row.expires, now),
      expires: row.expires,
      token: row.token,
      profile: row.profile,
      challenges: challenges.map((c) => ({
        id: c.id,
        authzId: c.authz_id,
        type: c.type as ChallengeType,
        status: c.status as ChallengeStatus,
        validatedAt: c.validated_at ?? undefined,
        error: json<ErrorJson>(c.error),
        validationRecords: json<ValidationRecordJson[]>(c.validation_records),
      })),
    };
  }

  async getAuthorization(id: string, now: number): Promise<Authorization | undefined> {
    const rows = await this.authzWithChallenges(id);
    const row = rows[0];
    if (!row) return undefined;
    const challenges: ChallengeRow[] = rows.flatMap((r) =>
      r.c_id === null
        ? []
        : [{ id: r.c_id, authz_id: row.id, type: r.c_type!, status: r.c_status!, validated_at: r.c_validated_at, error: r.c_error, validation_records: r.c_validation_records }],
    );
    return this.toAuthorization(row, challenges, now);
  }

  /**
   * Moves a pending challenge of a pending authorization to processing. Returns false when someone else got there
   * first (or the authorization is no longer pending), so a validation is started at most once.
   */
  async claimChallenge(authzId: string, challengeId: string, at: number): Promise<boolean> {
    if (this.dialect === 'sqlite') {
      const result = await this.claimPendingChallenge(this.db, challengeId, authzId, at);
      return Number(result.numAffectedRows) === 1;
    }
    // MariaDB and PostgreSQL run statements concurrently: under READ COMMITTED (PostgreSQL's default) the one-statement
    // claim's NOT EXISTS reads a snapshot taken when the statement began, so two claims of different challenges of one
    // authorization could both pass; and MariaDB refuses a subquery on the table being updated. So the claim locks the
    // authorization row first: every claimer of that authorization queues there, and the locking reads that follow
    // (FOR UPDATE reads the latest committed rows under READ COMMITTED and under InnoDB's REPEATABLE READ alike) see
    // what the previous claimer committed. recordValidation takes the same locks in the same order (authorization,
    // then challenge), so the two cannot deadlock.
    return this.db.transaction().execute(async (trx) => {
      const authz = await trx.selectFrom('authorizations').select('status').where('id', '=', authzId).forUpdate().executeTakeFirst();
      if (authz?.status !== 'pending') return false;
      const challenges = await trx.selectFrom('challenges').select(['id', 'status']).where('authz_id', '=', authzId).forUpdate().execute();
      if (challenges.some((c) => c.status === 'processing')) return false;
      if (challenges.find((c) => c.id === challengeId)?.status !== 'pending') return false;
      await trx.updateTable('challenges').set({ status: 'processing', processing_since: at }).where('id', '=', challengeId).execute();
      return true;
    });
  }

  /**
   * Records a validation outcome on the challenge and its authorization in one transaction. A valid authorization
   * remembers when and how it was validated and, from then on, expires `validUntil` (its profile's reuse period).
   */
  async recordValidation(
    authzId: string,
    challenge: { id: string; type: ChallengeType },
    outcome: { ok: true; records: ValidationRecordJson[]; at: number; validUntil: number } | { ok: false; error: ErrorJson; records: ValidationRecordJson[]; at: number },
  ): Promise<void> {
    // Retried: a challenge whose outcome is not recorded stays processing, and its authorization cannot be validated.
    await retryTransient(() => this.db.transaction().execute(async (trx: Transaction<Database>) => {
      // The authorization first: the claim locks in this order too (see claimChallenge).
      if (outcome.ok) await this.validateAuthz(trx, authzId, outcome.at, challenge.type, outcome.validUntil);
      else await this.updateAuthzOutcome(trx, authzId, 'invalid');
      await this.updateChallengeOutcome(
        trx,
        challenge.id,
        outcome.ok ? 'valid' : 'invalid',
        outcome.ok ? outcome.at : null,
        outcome.ok ? null : JSON.stringify(outcome.error),
        JSON.stringify(outcome.records),
      );
    }));
  }

  /** The account's valid, unexpired authorizations of one profile for the given base names (authorization reuse). */
  async reusableAuthorizations(accountId: string, profile: string, values: string[], now: number): Promise<{ id: string; type: string; value: string; wildcard: boolean; expires: number }[]> {
    if (values.length === 0) return [];
    const rows = await this.db
      .selectFrom('authorizations')
      .select(['id', 'identifier_type', 'identifier_value', 'wildcard', 'expires'])
      .where('account_id', '=', accountId)
      .where('identifier_value', 'in', values)
      .where('status', '=', 'valid')
      .where('profile', '=', profile)
      .where('expires', '>', now)
      .orderBy('expires', 'desc')
      .execute();
    return rows.map((r) => ({ id: r.id, type: r.identifier_type, value: r.identifier_value, wildcard: r.wildcard === 1, expires: r.expires }));
  }

  async deactivateAuthorization(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('authorizations')
      .set({ status: 'deactivated' })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'valid'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Marks an order processing since `now`; false if it already was (so two finalize requests cannot both issue).
   * The time lets the sweeper find orders whose finalize never finished.
   */
  async beginProcessing(orderId: string, now: number): Promise<boolean> {
    const result = await this.markProcessing(this.db, orderId, now);
    return Number(result.numAffectedRows) === 1;
  }

  async failOrder(orderId: string, error: ErrorJson): Promise<void> {
    await this.db
      .updateTable('orders')
      .set({ error: JSON.stringify(error), began_processing: 0, processing_since: null })
      .where('id', '=', orderId)
      .execute();
  }

  /**
   * Puts a processing order back to ready (unless its certificate was stored): finalize hit a transient database
   * error, and the client may finalize again. A serial reserved meanwhile stays burned.
   */
  async releaseProcessing(orderId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('orders')
      .set({ began_processing: 0, processing_since: null })
      .where('id', '=', orderId)
      .where('certificate_id', 'is', null)
      .where('began_processing', '=', 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Orders processing since before `cutoff` belong to a finalize that died (front end killed, database gone): each
   * goes to valid if its certificate was stored, else back to ready. Conditional on the processing time read, so an
   * order that a late finalize completes meanwhile is left alone. At most `limit` per call (index range on
   * processing_since, which is NULL for every order not in processing).
   */
  async sweepProcessing(cutoff: number, limit = 100): Promise<SweepResult> {
    const result: SweepResult = { released: [], completed: [], interrupted: await this.sweepChallenges(cutoff, limit) };
    const stuck = await this.db
      .selectFrom('orders')
      .select(['id', 'processing_since'])
      .where('processing_since', '<', cutoff)
      .orderBy('processing_since')
      .limit(limit)
      .execute();
    for (const { id, processing_since: since } of stuck) {
      const certificate = await this.db.selectFrom('certificates').select('id').where('order_id', '=', id).executeTakeFirst();
      const done = await this.db
        .updateTable('orders')
        .set(certificate ? { certificate_id: certificate.id, processing_since: null } : { began_processing: 0, processing_since: null })
        .where('id', '=', id)
        .where('processing_since', '=', since!)
        .where('certificate_id', 'is', null)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) === 1) (certificate ? result.completed : result.released).push(id);
    }
    return result;
  }

  /**
   * Challenges claimed before `cutoff` whose validation never reported (its front end died): each fails with a
   * serverInternal error, and its authorization with it, as a validation error would. Conditional on the claim time
   * read, so a validation that reports meanwhile, or another sweeper, wins.
   */
  private async sweepChallenges(cutoff: number, limit: number): Promise<string[]> {
    const stuck = await this.db
      .selectFrom('challenges')
      .select(['id', 'authz_id', 'processing_since'])
      .where('processing_since', '<', cutoff)
      .orderBy('processing_since')
      .limit(limit)
      .execute();
    const error = JSON.stringify({
      type: 'urn:ietf:params:acme:error:serverInternal',
      detail: 'the validation was interrupted (the server running it stopped); create a new order to try again',
      status: 500,
    });
    const interrupted: string[] = [];
    const lostRace = new Error('the challenge moved on');
    for (const { id, authz_id: authzId, processing_since: since } of stuck) {
      try {
        await this.db.transaction().execute(async (trx) => {
          // The authorization first, as claims and outcomes lock them (see claimChallenge); undone if the challenge
          // is no longer the one read.
          await this.updateAuthzOutcome(trx, authzId, 'invalid');
          const done = await trx
            .updateTable('challenges')
            .set({ status: 'invalid', error, processing_since: null })
            .where('id', '=', id)
            .where('processing_since', '=', since!)
            .executeTakeFirst();
          if (Number(done.numUpdatedRows) !== 1) throw lostRace;
        });
        interrupted.push(id);
      } catch (err) {
        if (err !== lostRace) throw err;
      }
    }
    return interrupted;
  }

  // ---- serials and certificates ----

  /** Claims a serial before anything is signed with it; false if it was ever used (the unique key decides). */
  async reserveSerial(serial: string, accountId: string, expires: number, at: number): Promise<boolean> {
    try {
      await this.insertSerial(this.db, serial, accountId, at, expires);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Stores the certificate, completes its order and records it for the stats page, atomically. */
  async storeCertificate(cert: CertificateRecord, issuance: { identifiers: readonly Identifier[]; issuedAt: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.insertCertificate(trx, cert.id, cert.serial, cert.accountId, cert.orderId, cert.pem, cert.issuerName, cert.notBefore, cert.notAfter, cert.profile, cert.crlShard ?? null);
      await this.setOrderCertificate(trx, cert.orderId, cert.id);
      await recordIssuance(trx, cert, issuance.identifiers, issuance.issuedAt);
    });
  }

  private toCertificate(row: Database['certificates']): CertificateRecord {
    return {
      id: row.id,
      serial: row.serial,
      accountId: row.account_id,
      orderId: row.order_id,
      pem: row.pem,
      issuerName: row.issuer_name,
      profile: row.profile,
      notBefore: row.not_before,
      notAfter: row.not_after,
      revokedAt: row.revoked_at ?? undefined,
      revokedReason: row.revoked_reason ?? undefined,
      crlShard: row.crl_shard ?? undefined,
    };
  }

  async getCertificate(id: string): Promise<CertificateRecord | undefined> {
    const [row] = (await this.certificateById(this.db, id)).rows;
    return row && this.toCertificate(row);
  }

  async getCertificateBySerial(serial: string): Promise<CertificateRecord | undefined> {
    const row = await this.db.selectFrom('certificates').selectAll().where('serial', '=', serial).executeTakeFirst();
    return row && this.toCertificate(row);
  }

  /** Revokes once; false if the certificate was already revoked. */
  async revokeCertificate(serial: string, reason: number, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('certificates')
      .set({ revoked_at: at, revoked_reason: reason })
      .where('serial', '=', serial)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The account's valid, unexpired authorizations among the given (base) names. */
  async validAuthorizations(accountId: string, values: string[], now: number): Promise<{ value: string; wildcard: boolean }[]> {
    if (values.length === 0) return [];
    const rows = await this.db
      .selectFrom('authorizations')
      .select(['identifier_value', 'wildcard'])
      .where('account_id', '=', accountId)
      .where('identifier_type', '=', 'dns')
      .where('identifier_value', 'in', values)
      .where('status', '=', 'valid')
      .where('expires', '>', now)
      .execute();
    return rows.map((r) => ({ value: r.identifier_value, wildcard: r.wildcard === 1 }));
  }

  // ---- blocked keys ----

  async isKeyBlocked(spkiSha256: string): Promise<boolean> {
    return (await this.blockedKey(spkiSha256)).length > 0;
  }

  /** Blocks a key for accounts and CSRs; blocking an already blocked key keeps the first record. */
  async blockKey(spkiSha256: string, source: string, at: number, comment?: string): Promise<void> {
    try {
      await this.db.insertInto('blocked_keys').values({ spki_sha256: spkiSha256, added_at: at, source, comment: comment ?? null }).execute();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  /** For tests and diagnostics on SQLite: a WAL checkpoint so that copies of the file are complete. */
  checkpoint(): void {
    if (!this.primary.checkpoint) throw new Error(`checkpoint() is for SQLite; this SA runs on ${this.dialect}`);
    this.primary.checkpoint();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

export function effectiveAuthzStatus(status: AuthorizationStatus, expires: number, now: number): AuthorizationStatus {
  if ((status === 'pending' || status === 'valid') && expires <= now) return 'expired';
  return status;
}

/** An order's status follows from its own row and its authorizations (RFC 8555 §7.1.6), as in Boulder. */
function orderStatus(row: Database['orders'], authzStatuses: AuthorizationStatus[], now: number): OrderStatus {
  if (row.certificate_id) return 'valid';
  if (row.error) return 'invalid';
  if (row.began_processing) return 'processing';
  if (row.expires <= now) return 'invalid';
  if (authzStatuses.some((s) => s !== 'valid' && s !== 'pending')) return 'invalid';
  if (authzStatuses.every((s) => s === 'valid')) return 'ready';
  return 'pending';
}
