// Fills a CA database with many issued certificates fast (multi-row inserts, one transaction per batch), for the
// incident tests and bench/incident: accounts, the orders certificates come from (their identifiers are what name
// patterns and "same names" match), and certificate rows shaped like real ones (a PEM of a real leaf's size).
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { shardOf } from '../../src/crl/index.js';
import type { Database } from '../../src/sa/index.js';

export interface SeedOptions {
  count: number;
  /** Issuance times spread evenly over [start, start + spreadMs). */
  start: number;
  spreadMs: number;
  accounts?: number;
  issuers?: string[];
  /** Every `shortlivedEvery`-th certificate has profile "shortlived" (6 days), the rest "classic" (90 days). */
  shortlivedEvery?: number;
  batch?: number;
  /** The CRL shard count; each certificate is in the shard the CA would put it in. */
  crlShards?: number;
  onProgress?: (done: number) => void;
}

export interface SeededCertificate {
  id: string;
  serial: string;
  accountId: string;
  names: string[];
  notBefore: number;
  profile: string;
  issuer: string;
}

const DAY = 86_400_000;
// A leaf's PEM is about 1.3 kB; the rows carry one of that size (content is not parsed by the admin tools).
const PEM = `-----BEGIN CERTIFICATE-----\n${randomBytes(960).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

/** Deterministic by index, so a test can predict which certificates a selection takes. */
export function seededNames(index: number): string[] {
  const domain = `domain${index % 5000}.example`;
  return index % 3 === 0 ? [`www${index}.${domain}`, domain] : [`host${index}.${domain}`];
}

export async function seedCertificates(db: Kysely<Database>, options: SeedOptions): Promise<{ accounts: string[] }> {
  const batch = options.batch ?? 1000;
  const issuers = options.issuers ?? ['ecdsa-e1', 'rsa-r1'];
  const accounts = Array.from({ length: options.accounts ?? 100 }, (_, i) => `acct${String(i).padStart(8, '0')}`);
  for (let from = 0; from < accounts.length; from += 1000) {
    await db
      .insertInto('accounts')
      .values(
        accounts.slice(from, from + 1000).map((id) => ({
          id,
          thumbprint: randomBytes(32).toString('base64url'),
          jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: randomBytes(32).toString('base64url'), y: randomBytes(32).toString('base64url') }),
          status: 'valid',
          contact: '[]',
          terms_agreed: 1,
          eab: null,
          created_at: options.start,
        })),
      )
      .execute();
  }
  for (let from = 0; from < options.count; from += batch) {
    const rows = Array.from({ length: Math.min(batch, options.count - from) }, (_, k) => seededCertificate(from + k, options, accounts, issuers));
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('orders')
        .values(
          rows.map((r) => ({
            id: `o${r.id}`,
            account_id: r.accountId,
            expires: r.notBefore + 7 * DAY,
            identifiers: JSON.stringify(r.names.map((value) => ({ type: 'dns', value }))),
            not_before: null,
            not_after: null,
            error: null,
            began_processing: 1,
            certificate_id: r.id,
            created_at: r.notBefore,
            profile: r.profile,
            replaces: null,
          })),
        )
        .execute();
      await trx
        .insertInto('certificates')
        .values(
          rows.map((r) => ({
            id: r.id,
            serial: r.serial,
            account_id: r.accountId,
            order_id: `o${r.id}`,
            pem: PEM,
            issuer_name: r.issuer,
            not_before: r.notBefore,
            not_after: r.notBefore + (r.profile === 'shortlived' ? 6 : 90) * DAY - 1000,
            revoked_at: null,
            revoked_reason: null,
            profile: r.profile,
            crl_shard: shardOf(r.serial, options.crlShards ?? 16),
          })),
        )
        .execute();
    });
    options.onProgress?.(from + rows.length);
  }
  return { accounts };
}

/** The certificate the seeder writes at `index` (IDs sort in index order; serials are random-looking but fixed). */
export function seededCertificate(index: number, options: Pick<SeedOptions, 'count' | 'start' | 'spreadMs' | 'shortlivedEvery'>, accounts: string[], issuers: string[]): SeededCertificate {
  const every = options.shortlivedEvery ?? 10;
  return {
    id: `c${String(index).padStart(10, '0')}`,
    // The hashed part last: the CA picks a leaf's CRL shard from the serial's low bits.
    serial: `01${String(index).padStart(26, '0')}${(index * 2654435761 >>> 0).toString(16).padStart(8, '0')}`,
    accountId: accounts[index % accounts.length]!,
    names: seededNames(index),
    notBefore: options.start + Math.floor((index * options.spreadMs) / options.count),
    profile: index % every === every - 1 ? 'shortlived' : 'classic',
    issuer: issuers[index % issuers.length]!,
  };
}
