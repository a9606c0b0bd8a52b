// Work that must happen once before several worker processes share one data directory: the development hierarchy
// is created and the database migrated by one process, so workers never race to do either.
import { resolve } from 'node:path';
import { parseCaConfig, type CaConfigInput } from './config/index.js';
import { configuredHierarchy, loadOrCreateHierarchy } from './issuer/index.js';
import { StorageAuthority, resolveDatabaseUrl } from './sa/index.js';
import { Profiles } from './ra/index.js';
import { systemClock } from './core/clock.js';

export async function prepareDataDir(input: CaConfigInput): Promise<void> {
  const source = 'prepareDataDir config';
  const config = parseCaConfig(input, source);
  const dataDir = resolve(config.dataDir);
  const profiles = new Profiles(config.profiles);
  profiles.checkAgainstBaselineRequirements(systemClock.now(), source);
  const development = await loadOrCreateHierarchy(dataDir);
  // Configured issuers are checked once here (token, PIN, key, chains), so a wrong PIN stops the CA before any
  // worker starts, rather than every worker trying it: HSMs lock the PIN after a few failed logins.
  if (config.issuers) (await configuredHierarchy(development, config.issuers, profiles.longestValidity(), systemClock.now())).close();
  const sa = await StorageAuthority.open(resolveDatabaseUrl(config.database.url, dataDir));
  await sa.close();
}
