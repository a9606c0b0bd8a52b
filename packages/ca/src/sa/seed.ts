// Bulk seeding for the scale benchmark (bench/acme-scale): certificates with everything issuance leaves behind — the
// account (one per `certsPerAccount`), the order, its authorization and challenge, the link between them, the serial —
// written as multi-row inserts in one transaction per batch, through the same Kysely builder on SQLite, MariaDB and
// PostgreSQL. Row i's keys are derived from i by hashing: deterministic, so a seed that stopped resumes where it was
// (a batch whose first certificate exists is skipped), and random-looking, so the indexes get the shape that random
// IDs and serials give them in production instead of the easy shape of sequential keys.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface SeedOptions {
  /** First and one-past-last certificate index. */
  from: number;
  to: number;
  /** Certificates per account (Let's Encrypt's big integrators have millions; most accounts have a few). */
  certsPerAccount: number;
  /** The newest seeded certificate's issue time; earlier ones are spread over the 90 days before it. */
  now: number;
  /** The PEM stored in every certificate row (realistic size; the bytes are never parsed on the issuance path). */
  pem: string;
  issuerName: string;
  crlShards: number;
  /** Certificates per transaction. */
  batch: number;
  /** Called after each committed batch with the index the next one starts at. */
  onBatch?: (next: number) => void | Promise<void>;
}

const DAY = 86_400_000;
/** Rows per INSERT: below SQLite's 32,766 bound parameters with the widest table (13 columns), ~2 MB on MariaDB. */
const ROWS_PER_STATEMENT = 2000;

export function seededCertificateId(index: number): string {
  return keys(index).certificateId;
}

function keys(index: number) {
  const h = createHash('sha512').update(`cobble-seed:${index}`).digest();
  return {
    orderId: h.subarray(0, 12).toString('base64url'),
    authzId: h.subarray(12, 24).toString('base64url'),
    certificateId: h.subarray(24, 36).toString('base64url'),
    serial: h.subarray(36, 54).toString('hex'),
    token: h.subarray(0, 32).toString('base64url'),
  };
}

function accountId(account: number): string {
  return createHash('sha256').update(`cobble-seed-account:${account}`).digest().subarray(0, 12).toString('base64url');
}

export async function seedCertificates(db: Kysely<Database>, options: SeedOptions): Promise<void> {
  const span = 90 * DAY;
  const total = Math.max(options.to, 1);
  for (let start = options.from; start < options.to; start += options.batch) {
    const end = Math.min(start + options.batch, options.to);
    const first = await db.selectFrom('certificates').select('id').where('id', '=', seededCertificateId(start)).executeTakeFirst();
    if (!first) await db.transaction().execute(async (trx) => insertRange(trx, start, end));
    await options.onBatch?.(end);
  }

  async function insertRange(trx: Kysely<Database>, start: number, end: number): Promise<void> {
    const rows = {
      accounts: [] as Database['accounts'][],
      orders: [] as Database['orders'][],
      authorizations: [] as Database['authorizations'][],
      order_authorizations: [] as Database['order_authorizations'][],
      challenges: [] as Database['challenges'][],
      serials: [] as Database['serials'][],
      certificates: [] as Database['certificates'][],
    };
    for (let i = start; i < end; i++) {
      const k = keys(i);
      const account = Math.floor(i / options.certsPerAccount);
      const owner = accountId(account);
      // Older certificates first, spread evenly: some expired, most valid, as in a live CA.
      const issuedAt = options.now - Math.floor(((total - i) * span) / total);
      // An account is created with its first certificate (a later batch's rows may belong to an earlier batch's account).
      if (i % options.certsPerAccount === 0) {
        const thumbprint = createHash('sha256').update(`cobble-seed-key:${account}`).digest('base64url');
        rows.accounts.push({
          id: owner,
          thumbprint,
          jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: thumbprint, y: thumbprint }),
          status: 'valid',
          contact: JSON.stringify([`mailto:admin${account}@example.com`]),
          terms_agreed: 1,
          eab: null,
          created_at: issuedAt,
        });
      }
      const name = `${i.toString(36)}.seed${i % 100_000}.example.com`;
      rows.orders.push({
        id: k.orderId,
        account_id: owner,
        expires: issuedAt + 7 * DAY,
        identifiers: JSON.stringify([{ type: 'dns', value: name }]),
        not_before: null,
        not_after: null,
        error: null,
        began_processing: 1,
        processing_since: null,
        certificate_id: k.certificateId,
        created_at: issuedAt,
        profile: 'classic',
        replaces: null,
      });
      rows.authorizations.push({
        id: k.authzId,
        account_id: owner,
        identifier_type: 'dns',
        identifier_value: name,
        wildcard: 0,
        status: 'valid',
        expires: issuedAt + 30 * DAY,
        token: k.token,
        created_at: issuedAt,
        profile: 'classic',
        validated_at: issuedAt,
        validation_method: 'http-01',
      });
      rows.order_authorizations.push({ order_id: k.orderId, authz_id: k.authzId, position: 0 });
      rows.challenges.push({
        id: `0${k.authzId}`,
        authz_id: k.authzId,
        type: 'http-01',
        status: 'valid',
        validated_at: issuedAt,
        error: null,
        processing_since: null,
        validation_records: JSON.stringify([{ url: `http://${name}/.well-known/acme-challenge/${k.token}`, hostname: name, port: '80', addressesResolved: ['192.0.2.1'], addressUsed: '192.0.2.1' }]),
      });
      rows.serials.push({ serial: k.serial, account_id: owner, created_at: issuedAt, expires: issuedAt + 90 * DAY });
      rows.certificates.push({
        id: k.certificateId,
        serial: k.serial,
        account_id: owner,
        order_id: k.orderId,
        pem: options.pem,
        issuer_name: options.issuerName,
        not_before: issuedAt,
        not_after: issuedAt + 90 * DAY - 1000,
        revoked_at: null,
        revoked_reason: null,
        profile: 'classic',
        crl_shard: i % options.crlShards,
      });
    }
    for (const [table, values] of Object.entries(rows) as unknown as [keyof typeof rows, Record<string, unknown>[]][]) {
      for (let at = 0; at < values.length; at += ROWS_PER_STATEMENT) {
        await trx.insertInto(table).values(values.slice(at, at + ROWS_PER_STATEMENT) as never).execute();
      }
    }
  }
}
