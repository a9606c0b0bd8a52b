// Storage for the public stats page: the names of each certificate, written at issuance, and one snapshot row per UTC
// day. Counting distinct names over active certificates is a scan, so only the periodic snapshot job does it; page
// views read `stats_daily`. Portable Kysely only (SQLite, MariaDB, PostgreSQL).
import type { Kysely } from 'kysely';
import { getDomain } from 'tldts';
import type { Identifier } from '../core/index.js';
import type { Database } from './schema.js';

export interface DailyStats {
  /** UTC day, "YYYY-MM-DD". */
  day: string;
  computedAt: number;
  activeCertificates: number;
  names: number;
  registeredDomains: number;
  issued: number;
}

/**
 * The registered domain (eTLD+1) of a DNS name by the ICANN section of the Public Suffix List: private suffixes such as
 * github.io do not split a domain here, as in Let's Encrypt's published counts. A name that is itself a public suffix
 * counts as its own registered domain.
 */
export function registeredDomainOf(name: string): string {
  const bare = name.startsWith('*.') ? name.slice(2) : name;
  return getDomain(bare, { allowPrivateDomains: false }) ?? bare;
}

/** "YYYY-MM-DD" of the UTC day holding `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Pg and mysql2 may hand back counts and bigints as strings. */
const num = (value: unknown): number => Number(value ?? 0);

/**
 * Writes the stats rows of an issued certificate and its DNS names (IP addresses count as certificates, not as names)
 * on `on`: the SA calls it inside the transaction that stores the certificate, so the page never misses one.
 */
export async function recordIssuance(on: Kysely<Database>, cert: { id: string; notAfter: number }, identifiers: readonly Identifier[], issuedAt: number): Promise<void> {
  const names = [...new Set(identifiers.filter((i) => i.type === 'dns').map((i) => i.value.toLowerCase()))];
  await on.insertInto('stats_certificates').values({ certificate_id: cert.id, issued_at: issuedAt, not_after: cert.notAfter }).execute();
  if (names.length > 0) {
    await on
      .insertInto('stats_names')
      .values(names.map((name) => ({ certificate_id: cert.id, name, registered_domain: registeredDomainOf(name) })))
      .execute();
  }
}

export class StatsStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The figures at `now`: certificates neither expired nor revoked, and the distinct names and registered domains on
   * them. Walks the unexpired certificates (the not_after index, then primary keys): for the snapshot job, never for a
   * page view.
   */
  async countActive(now: number): Promise<Pick<DailyStats, 'activeCertificates' | 'names' | 'registeredDomains'>> {
    const active = () =>
      this.db
        .selectFrom('stats_certificates as s')
        .innerJoin('certificates as c', 'c.id', 's.certificate_id')
        .where('s.not_after', '>', now)
        .where('c.revoked_at', 'is', null);
    const certificates = await active().select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const names = await active()
      .innerJoin('stats_names as n', 'n.certificate_id', 's.certificate_id')
      .select((eb) => [eb.fn.count('n.name').distinct().as('names'), eb.fn.count('n.registered_domain').distinct().as('domains')])
      .executeTakeFirstOrThrow();
    return { activeCertificates: num(certificates.n), names: num(names.names), registeredDomains: num(names.domains) };
  }

  /** Certificates issued in [from, to) (the issued_at index). */
  async countIssued(from: number, to: number): Promise<number> {
    const row = await this.db
      .selectFrom('stats_certificates')
      .select(this.db.fn.countAll().as('n'))
      .where('issued_at', '>=', from)
      .where('issued_at', '<', to)
      .executeTakeFirstOrThrow();
    return num(row.n);
  }

  /** Replaces the row of `stats.day` (delete and insert: the same statements on every dialect). */
  async saveDay(stats: DailyStats): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('stats_daily').where('day', '=', stats.day).execute();
      await trx
        .insertInto('stats_daily')
        .values({
          day: stats.day,
          computed_at: stats.computedAt,
          active_certificates: stats.activeCertificates,
          names: stats.names,
          registered_domains: stats.registeredDomains,
          issued: stats.issued,
        })
        .execute();
    });
  }

  async getDay(day: string): Promise<DailyStats | undefined> {
    const row = await this.db.selectFrom('stats_daily').selectAll().where('day', '=', day).executeTakeFirst();
    return row && toDaily(row);
  }

  /** Snapshot rows from `fromDay` on, oldest first. */
  async listDays(fromDay: string): Promise<DailyStats[]> {
    const rows = await this.db.selectFrom('stats_daily').selectAll().where('day', '>=', fromDay).orderBy('day').execute();
    return rows.map(toDaily);
  }
}

function toDaily(row: Database['stats_daily']): DailyStats {
  return {
    day: row.day,
    computedAt: num(row.computed_at),
    activeCertificates: num(row.active_certificates),
    names: num(row.names),
    registeredDomains: num(row.registered_domains),
    issued: num(row.issued),
  };
}
