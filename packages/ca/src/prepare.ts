// Work that must happen once before several worker processes share one data directory: the development hierarchy
// is created and the database migrated by one process, so workers never race to do either.
import { join, resolve } from 'node:path';
import { parseCaConfig, type CaConfigInput } from './config/index.js';
import { configuredHierarchy, loadOrCreateHierarchy } from './issuer/index.js';
import { StorageAuthority } from './sa/index.js';

export async function prepareDataDir(input: CaConfigInput): Promise<void> {
  const config = parseCaConfig(input, 'prepareDataDir config');
  const dataDir = resolve(config.dataDir);
  const development = await loadOrCreateHierarchy(dataDir);
  // Configured issuers are checked once here (token, PIN, key, chains), so a wrong PIN stops the CA before any
  // worker starts, rather than every worker trying it: HSMs lock the PIN after a few failed logins.
  if (config.issuer) (await configuredHierarchy(development, config.issuer, config.issuance.validityDays)).close();
  const sa = await StorageAuthority.openSqlite(join(dataDir, 'ca.sqlite3'));
  await sa.close();
}
