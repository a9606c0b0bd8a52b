// `cobble dap serve` configuration (YAML or JSON). Every error names the file, the key and the fix.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AggregatorOptions } from './aggregator/index.js';
import type { Role } from './task.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const schema = z.object({
  role: z.enum(['leader', 'helper']).optional(),
  listen: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(0) }).strict().default({ host: '127.0.0.1', port: 0 }),
  storage: z.union([z.object({ sqlite: z.string().min(1) }).strict(), z.object({ postgres: z.string().url() }).strict()]).optional(),
  adminToken: z.string().min(16).optional(),
  workers: z.boolean().default(true),
  tunables: z.object({
    jobCreatorIntervalMs: z.number().int().positive(), minJobSize: z.number().int().positive(), maxJobSize: z.number().int().positive(),
    maxJobDelayMs: z.number().int().nonnegative(), drivers: z.number().int().positive(), leaseMs: z.number().int().positive(),
    maxAttempts: z.number().int().positive(), retryBaseMs: z.number().int().positive(), retryMaxMs: z.number().int().positive(),
    pollIdleMs: z.number().int().positive(), uploadBatchRows: z.number().int().positive(), uploadBatchDelayMs: z.number().int().nonnegative(),
    peerTimeoutMs: z.number().int().positive(),
    gcIntervalMs: z.number().int().nonnegative(), gcBatchLimit: z.number().int().positive(), gcMaxRounds: z.number().int().positive(),
    collectionGraceSeconds: z.number().int().nonnegative(),
  }).partial().strict().default({}),
  keyRotation: z.object({ pendingSeconds: z.number().positive(), activeSeconds: z.number().positive(), expiredSeconds: z.number().positive(), checkIntervalSeconds: z.number().nonnegative() }).partial().strict().default({}),
}).strict();

export type DapConfigFile = z.output<typeof schema>;

export interface DapServeConfig {
  role: Role;
  options: AggregatorOptions;
  source: string;
}

/** Parses a config object; `source` names it in errors. `roleOverride` is the --role flag. */
export function parseDapConfig(input: unknown, source: string, roleOverride?: string, baseDir = process.cwd()): DapServeConfig {
  const r = schema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.join('.') || '(top level)';
    throw new ConfigError(`${source}: key '${key}': ${issue.message}. Fix that key (see docs/dap.md, "Configuration").`);
  }
  const c = r.data;
  const role = roleOverride ?? c.role;
  if (role !== 'leader' && role !== 'helper') throw new ConfigError(`${source}: key 'role': missing or invalid; set role: leader or role: helper, or pass --role`);
  if (roleOverride && c.role && c.role !== roleOverride) throw new ConfigError(`${source}: key 'role' says ${c.role} but --role says ${roleOverride}; make them agree`);
  const storage = c.storage ?? { sqlite: `data/dap-${role}.sqlite` };
  const store = 'sqlite' in storage ? { sqlite: isAbsolute(storage.sqlite) || storage.sqlite === ':memory:' ? storage.sqlite : resolve(baseDir, storage.sqlite) } : { postgres: storage.postgres };
  const k = c.keyRotation;
  return {
    role,
    source,
    options: {
      role,
      store,
      host: c.listen.host,
      port: c.listen.port,
      adminToken: c.adminToken,
      workers: c.workers,
      tunables: c.tunables,
      rotation: {
        ...(k.pendingSeconds ? { pendingMs: k.pendingSeconds * 1000 } : {}),
        ...(k.activeSeconds ? { activeMs: k.activeSeconds * 1000 } : {}),
        ...(k.expiredSeconds ? { expiredMs: k.expiredSeconds * 1000 } : {}),
      },
      keyCheckIntervalMs: k.checkIntervalSeconds !== undefined ? k.checkIntervalSeconds * 1000 : undefined,
    },
  };
}

export function loadDapConfigFile(file: string, roleOverride?: string): DapServeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the --config path`);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  return parseDapConfig(data, file, roleOverride, dirname(resolve(file)));
}
