// Signing every CRL shard again after the admin tools revoked certificates, with the CRL updater the CA itself uses
// (same issuers, same shard numbering, CRL numbers from the database). The issuers are those of the CA's config: the
// development hierarchy in dataDir (never created here) and any configured (PKCS#11) issuers.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import type { CaConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { CrlUpdater } from '../crl/index.js';
import { configuredHierarchy, loadOrCreateHierarchy } from '../issuer/index.js';
import { Profiles } from '../ra/profiles.js';
import { CrlStore } from '../sa/crl.js';
import type { StorageAuthority } from '../sa/index.js';

/**
 * Signs every shard of every issuer; the number signed, or why nothing could be: the CA never started on this data
 * directory (no issuers yet), or its CRL URLs are not known (listen.httpPort 0 without issuance.urlBase).
 */
export async function signAllCrls(config: CaConfig, sa: StorageAuthority, clock: Clock): Promise<{ signed: number } | { skipped: string }> {
  const dataDir = resolve(config.dataDir);
  if (!existsSync(join(dataDir, 'issuer', 'hierarchy.json'))) return { skipped: `no issuers in ${dataDir} yet (the CA has not started there)` };
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const urlBase = (config.issuance.urlBase ?? (config.listen.httpPort ? `http://${host}:${config.listen.httpPort}` : '')).replace(/\/$/, '');
  if (!urlBase) return { skipped: 'the CRL URLs are not known: set issuance.urlBase (or a fixed listen.httpPort) in the config' };
  const development = await loadOrCreateHierarchy(dataDir, clock);
  const configured = config.issuers ? await configuredHierarchy(development, config.issuers, new Profiles(config.profiles).longestValidity(), clock.now()) : undefined;
  const updater = new CrlUpdater({
    store: new CrlStore(sa.db),
    issuers: (configured?.hierarchy ?? development).issuers,
    clock,
    config: config.crl,
    urlBase: () => urlBase,
    logger: pino({ level: config.log.level, base: { component: 'ca-admin' } }),
  });
  try {
    return { signed: await updater.regenerateAll() };
  } finally {
    await updater.close();
    configured?.close();
  }
}
