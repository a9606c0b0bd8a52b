// Opens the operator's tools on the CA's own configuration: the same database (by database.url, or the SQLite file
// in dataDir) the running CA uses.
import { resolve } from 'node:path';
import { X509Certificate, createPublicKey } from 'node:crypto';
import type { CaConfig } from '../config/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import { spkiSha256 } from '../policy/keys.js';
import { StorageAuthority, redactDatabaseUrl, resolveDatabaseUrl } from '../sa/index.js';
import { AdminError, CaAdmin, type AdminOptions } from './index.js';

export async function openCaAdmin(config: CaConfig, options: Partial<AdminOptions> & { source?: string } = {}): Promise<CaAdmin> {
  const url = resolveDatabaseUrl(config.database.url, resolve(config.dataDir));
  let sa: StorageAuthority;
  try {
    sa = await StorageAuthority.open(url);
  } catch (err) {
    const where = options.source ?? 'the config file (--config FILE)';
    throw new AdminError(
      `cannot open the CA database ${redactDatabaseUrl(url)} (database.url, or dataDir for SQLite, in ${where}): ${(err as Error).message}; ` +
        'fix the URL or start the database, and run the command again',
    );
  }
  const clock: Clock = options.clock ?? systemClock;
  return new CaAdmin(sa, { ...options, clock });
}

/** Hex SHA-256 of the SubjectPublicKeyInfo in a PEM public key, certificate or private key. */
export function spkiSha256OfPem(pem: string): string {
  const key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  return spkiSha256(key.export({ type: 'spki', format: 'der' }));
}
