// Storage for RFC 9773 (ARI) and incident response: which order replaces a certificate, incidents and the
// certificates they selected, paused accounts and test mode's ARI windows. Portable Kysely only (SQLite, MariaDB,
// PostgreSQL); every scan is keyset-paginated by certificate ID so that no query loads a whole table.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Identifier } from '../core/index.js';
import { isUniqueViolation } from './dialect.js';
import type { Database } from './schema.js';

/** Hex SHA-256 of the sorted, lower-cased identifier values: equal for two certificates for the same names. */
export function namesKey(identifiers: readonly Identifier[]): string {
  const names = [...new Set(identifiers.map((i) => i.value.toLowerCase()))].sort();
  return createHash('sha256').update(names.join(',')).digest('hex');
}

export type IncidentState = 'selecting' | 'open' | 'revoking' | 'revoked';

export interface Incident {
  id: string;
  name: string;
  selection: Record<string, unknown>;
  explanationUrl?: string;
  deadline: number;
  reason: number;
  state: IncidentState;
  selectCursor?: string;
  createdAt: number;
  revokedAt?: number;
}

/** A certificate as selections and bulk revocations page through them. */
export interface CertificateCandidate {
  id: string;
  serial: string;
  accountId: string;
  issuerName: string;
  profile: string;
  notBefore: number;
  identifiers: Identifier[];
}

/** SQL-side filters of a certificate scan; name patterns are matched by the caller on `identifiers`. */
export interface CertificateFilter {
  issuedAfter?: number;
  issuedBefore?: number;
  profile?: string;
  issuer?: string;
  accountId?: string;
  /** Only certificates not revoked and not expired at this time. */
  activeAt: number;
}

export interface IncidentProgress {
  selected: number;
  replaced: number;
  processed: number;
  /** Selected certificates that are revoked now (by the incident or before it). */
  revoked: number;
}

const toIncident = (row: Database['incidents']): Incident => ({
  id: row.id,
  name: row.name,
  selection: JSON.parse(row.selection) as Record<string, unknown>,
  explanationUrl: row.explanation_url ?? undefined,
  deadline: Number(row.deadline),
  reason: row.reason,
  state: row.state as IncidentState,
  selectCursor: row.select_cursor ?? undefined,
  createdAt: Number(row.created_at),
  revokedAt: row.revoked_at === null ? undefined : Number(row.revoked_at),
});

export class IncidentStore {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- RFC 9773 replacements ----

  /** Claims `serial` for the replacing order; false when another order already holds it. */
  async claimReplacement(serial: string, orderId: string, accountId: string, at: number): Promise<boolean> {
    try {
      await this.db.insertInto('certificate_replacements').values({ serial, order_id: orderId, account_id: accountId, created_at: at }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async replacingOrder(serial: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('certificate_replacements').select('order_id').where('serial', '=', serial).executeTakeFirst();
    return row?.order_id;
  }

  /** Moves the claim from an order that went invalid to a new one; false if someone else moved it first. */
  async takeOverReplacement(serial: string, fromOrderId: string, toOrderId: string, accountId: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('certificate_replacements')
      .set({ order_id: toOrderId, account_id: accountId, created_at: at })
      .where('serial', '=', serial)
      .where('order_id', '=', fromOrderId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives the claim back when the order could not be created after all. */
  async releaseReplacement(serial: string, orderId: string): Promise<void> {
    await this.db.deleteFrom('certificate_replacements').where('serial', '=', serial).where('order_id', '=', orderId).execute();
  }

  /**
   * A certificate was issued: incident certificates it replaces — the one its order named in `replaces`, and older
   * ones for exactly the same names — count as replaced from now on.
   */
  async noteIssued(issued: { serial: string; namesKey: string; notBefore: number; replacesSerial?: string }, at: number): Promise<void> {
    await this.db
      .updateTable('incident_certificates')
      .set({ replaced_at: at, replaced_by: issued.serial })
      .where('replaced_at', 'is', null)
      .where((eb) => {
        const sameNames = eb.and([eb('names_key', '=', issued.namesKey), eb('not_before', '<', issued.notBefore), eb('serial', '<>', issued.serial)]);
        return issued.replacesSerial === undefined ? sameNames : eb.or([sameNames, eb('serial', '=', issued.replacesSerial)]);
      })
      .execute();
  }

  // ---- ARI windows ----

  /** The explanation URL (or '') of an incident that selected the certificate, if one did. */
  async incidentOf(serial: string): Promise<{ name: string; explanationUrl?: string } | undefined> {
    const row = await this.db
      .selectFrom('incident_certificates')
      .innerJoin('incidents', 'incidents.id', 'incident_certificates.incident_id')
      .select(['incidents.name', 'incidents.explanation_url'])
      .where('incident_certificates.serial', '=', serial)
      .orderBy('incidents.created_at')
      .limit(1)
      .executeTakeFirst();
    return row && { name: row.name, explanationUrl: row.explanation_url ?? undefined };
  }

  async windowOverride(serial: string): Promise<{ start: number; end: number; explanationUrl?: string } | undefined> {
    const row = await this.db.selectFrom('renewal_windows').selectAll().where('serial', '=', serial).executeTakeFirst();
    return row && { start: Number(row.window_start), end: Number(row.window_end), explanationUrl: row.explanation_url ?? undefined };
  }

  async setWindowOverride(serial: string, window: { start: number; end: number; explanationUrl?: string }, at: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('renewal_windows').where('serial', '=', serial).execute();
      await trx
        .insertInto('renewal_windows')
        .values({ serial, window_start: window.start, window_end: window.end, explanation_url: window.explanationUrl ?? null, set_at: at })
        .execute();
    });
  }

  async clearWindowOverride(serial: string): Promise<void> {
    await this.db.deleteFrom('renewal_windows').where('serial', '=', serial).execute();
  }

  // ---- paused accounts ----

  async isPaused(accountId: string): Promise<boolean> {
    return (await this.db.selectFrom('account_pauses').select('account_id').where('account_id', '=', accountId).executeTakeFirst()) !== undefined;
  }

  /** False when the account was already paused. */
  async pause(accountId: string, at: number, comment?: string): Promise<boolean> {
    try {
      await this.db.insertInto('account_pauses').values({ account_id: accountId, paused_at: at, comment: comment ?? null }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** False when the account was not paused. */
  async unpause(accountId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('account_pauses').where('account_id', '=', accountId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  // ---- certificate scans and revocation ----

  /** Certificates joined to their orders' identifiers: the one row shape the scans and look-ups below read. */
  private candidates() {
    return this.db
      .selectFrom('certificates')
      .innerJoin('orders', 'orders.id', 'certificates.order_id')
      .select([
        'certificates.id',
        'certificates.serial',
        'certificates.account_id',
        'certificates.issuer_name',
        'certificates.profile',
        'certificates.not_before',
        'certificates.not_after',
        'certificates.revoked_at',
        'orders.identifiers',
      ]);
  }

  /** A page of certificates after `afterId` (by ID) that pass the filter, with their orders' identifiers. */
  async certificatePage(filter: CertificateFilter, afterId: string, limit: number): Promise<CertificateCandidate[]> {
    let query = this.candidates()
      .where('certificates.id', '>', afterId)
      .where('certificates.revoked_at', 'is', null)
      .where('certificates.not_after', '>', filter.activeAt);
    if (filter.issuedAfter !== undefined) query = query.where('certificates.not_before', '>=', filter.issuedAfter);
    if (filter.issuedBefore !== undefined) query = query.where('certificates.not_before', '<', filter.issuedBefore);
    if (filter.profile !== undefined) query = query.where('certificates.profile', '=', filter.profile);
    if (filter.issuer !== undefined) query = query.where('certificates.issuer_name', '=', filter.issuer);
    if (filter.accountId !== undefined) query = query.where('certificates.account_id', '=', filter.accountId);
    const rows = await query.orderBy('certificates.id').limit(limit).execute();
    return rows.map((r) => toCandidate(r));
  }

  /** The certificates among `serials` (lower-case hex), with their orders' identifiers, revoked or not. */
  async certificatesBySerials(serials: readonly string[]): Promise<(CertificateCandidate & { revoked: boolean; notAfter: number })[]> {
    if (serials.length === 0) return [];
    const rows = await this.candidates().where('certificates.serial', 'in', serials).orderBy('certificates.id').execute();
    return rows.map((r) => ({ ...toCandidate(r), notAfter: Number(r.not_after), revoked: r.revoked_at !== null }));
  }

  /** Revokes those of the certificates (by ID) not yet revoked, in one transaction; the number revoked now. */
  async revokeCertificates(ids: readonly string[], reason: number, at: number): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db
      .updateTable('certificates')
      .set({ revoked_at: at, revoked_reason: reason })
      .where('id', 'in', ids)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  // ---- incidents ----

  async incident(name: string): Promise<Incident | undefined> {
    const row = await this.db.selectFrom('incidents').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toIncident(row);
  }

  async listIncidents(): Promise<Incident[]> {
    return (await this.db.selectFrom('incidents').selectAll().orderBy('created_at').execute()).map(toIncident);
  }

  /** Stores a new incident in state 'selecting'; 'exists' when the name is taken. */
  async createIncident(incident: Omit<Incident, 'state' | 'selectCursor' | 'revokedAt'>): Promise<'created' | 'exists'> {
    try {
      await this.db
        .insertInto('incidents')
        .values({
          id: incident.id,
          name: incident.name,
          selection: JSON.stringify(incident.selection),
          explanation_url: incident.explanationUrl ?? null,
          deadline: incident.deadline,
          reason: incident.reason,
          state: 'selecting',
          select_cursor: null,
          created_at: incident.createdAt,
          revoked_at: null,
        })
        .execute();
      return 'created';
    } catch (err) {
      if (isUniqueViolation(err)) return 'exists';
      throw err;
    }
  }

  /**
   * Adds selected certificates and moves the selection cursor in one transaction, so that a selection killed
   * mid-way resumes after the last batch it committed. Rows already selected (a serial list naming one twice) are kept.
   */
  async addSelected(incidentId: string, rows: readonly CertificateCandidate[], cursor: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (rows.length > 0) {
        const known = new Set(
          (
            await trx
              .selectFrom('incident_certificates')
              .select('certificate_id')
              .where('incident_id', '=', incidentId)
              .where('certificate_id', 'in', rows.map((r) => r.id))
              .execute()
          ).map((r) => r.certificate_id),
        );
        const fresh = [...new Map(rows.filter((r) => !known.has(r.id)).map((r) => [r.id, r])).values()];
        if (fresh.length > 0) {
          await trx
            .insertInto('incident_certificates')
            .values(
              fresh.map((r) => ({
                incident_id: incidentId,
                certificate_id: r.id,
                serial: r.serial,
                names_key: namesKey(r.identifiers),
                not_before: r.notBefore,
                replaced_at: null,
                replaced_by: null,
                processed_at: null,
              })),
            )
            .execute();
        }
      }
      await trx.updateTable('incidents').set({ select_cursor: cursor }).where('id', '=', incidentId).execute();
    });
  }

  async setIncidentState(incidentId: string, state: IncidentState, at?: number): Promise<void> {
    await this.db
      .updateTable('incidents')
      .set(state === 'revoked' ? { state, revoked_at: at ?? null } : { state })
      .where('id', '=', incidentId)
      .execute();
  }

  async setIncidentDeadline(incidentId: string, deadline: number): Promise<void> {
    await this.db.updateTable('incidents').set({ deadline }).where('id', '=', incidentId).execute();
  }

  async progress(incidentId: string): Promise<IncidentProgress> {
    const row = await this.db
      .selectFrom('incident_certificates')
      .innerJoin('certificates', 'certificates.id', 'incident_certificates.certificate_id')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('selected'),
        eb.fn.count<number | string>('incident_certificates.replaced_at').as('replaced'),
        eb.fn.count<number | string>('incident_certificates.processed_at').as('processed'),
        eb.fn.count<number | string>('certificates.revoked_at').as('revoked'),
      ])
      .where('incident_certificates.incident_id', '=', incidentId)
      .executeTakeFirst();
    return { selected: Number(row?.selected ?? 0), replaced: Number(row?.replaced ?? 0), processed: Number(row?.processed ?? 0), revoked: Number(row?.revoked ?? 0) };
  }

  /**
   * Revokes the next batch of the incident's certificates not yet processed (after `afterId`), and marks them
   * processed, in one transaction: each certificate is revoked at most once, and a run killed mid-way resumes with
   * the batches it had not committed. Returns the batch's last ID (undefined when nothing is left).
   */
  async revokeIncidentBatch(incidentId: string, afterId: string, limit: number, reason: number, at: number): Promise<{ lastId?: string; handled: number; revoked: number }> {
    return this.db.transaction().execute(async (trx) => {
      const ids = (
        await trx
          .selectFrom('incident_certificates')
          .select('certificate_id')
          .where('incident_id', '=', incidentId)
          .where('certificate_id', '>', afterId)
          .where('processed_at', 'is', null)
          .orderBy('certificate_id')
          .limit(limit)
          .execute()
      ).map((r) => r.certificate_id);
      if (ids.length === 0) return { handled: 0, revoked: 0 };
      const result = await trx
        .updateTable('certificates')
        .set({ revoked_at: at, revoked_reason: reason })
        .where('id', 'in', ids)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await trx.updateTable('incident_certificates').set({ processed_at: at }).where('incident_id', '=', incidentId).where('certificate_id', 'in', ids).execute();
      return { lastId: ids[ids.length - 1], handled: ids.length, revoked: Number(result.numUpdatedRows) };
    });
  }
}

function toCandidate(r: { id: string; serial: string; account_id: string; issuer_name: string; profile: string; not_before: number | bigint; identifiers: string }): CertificateCandidate {
  return {
    id: r.id,
    serial: r.serial,
    accountId: r.account_id,
    issuerName: r.issuer_name,
    profile: r.profile,
    notBefore: Number(r.not_before),
    identifiers: JSON.parse(r.identifiers) as Identifier[],
  };
}
