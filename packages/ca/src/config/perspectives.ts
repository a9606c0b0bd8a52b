// Configuration for multi-perspective issuance corroboration: the CA's `va.perspectives` section (the remote
// perspectives it asks) and the configuration file of a remote perspective (`cobble ca va-remote --config FILE`).
// Both are strict zod schemas with the same error style as the CA's own config: the file, the key, the expectation.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CorroboratingValidator, type CorroborationOptions } from '../va/corroborate.js';
import { ValidationAuthority } from '../va/index.js';
import { RemotePerspective, serveRemotePerspective, type PerspectiveTls, type RemotePerspectiveServer } from '../va/remote.js';
import type { Validator } from '../va/types.js';
import { ConfigError } from './errors.js';
import { caaIdentity, port, vaFields } from './fields.js';
import { parseConfigSection, readYamlFile } from './load.js';

const pemFile = z.string().min(1, 'expected the path of a PEM file');
const perspectiveName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected a perspective name of letters, digits, ".", "_" or "-", e.g. "fra-1"');
/** The five Regional Internet Registries; the BRs tie a perspective's DNS resolver to its RIR's region. */
const rir = z.enum(['AFRINIC', 'APNIC', 'ARIN', 'LACNIC', 'RIPE']);

export const perspectivesConfigSchema = z
  .strictObject({
    /** The remote perspectives; the BRs require at least 2 (3 from 2026-03-15), each ≥ 500 km from the others. */
    remotes: z
      .array(z.strictObject({ name: perspectiveName, rir, url: z.url({ protocol: /^https$/, error: 'expected an https:// URL' }) }))
      .min(2, 'expected at least 2 remote perspectives (the BR quorum table starts at 2)'),
    /** The CA's client certificate and key, and the CA certificate(s) the perspectives' server certificates chain to. */
    tls: z.strictObject({ cert: pemFile, key: pemFile, ca: pemFile }),
    /** Upper bound for one call to one perspective; a little above the perspectives' own validation timeout. */
    timeoutMs: z.number().int().positive().max(120_000).default(15_000),
    /** Passing perspectives must span 2 RIRs. Turn off only where all perspectives run in one place (tests). */
    requireDistinctRirs: z.boolean().default(true),
  })
  .superRefine((config, ctx) => {
    const names = config.remotes.map((r) => r.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['remotes', i, 'name'], message: `perspective name "${name}" is used twice` });
    });
    if (config.requireDistinctRirs && new Set(config.remotes.map((r) => r.rir)).size < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['requireDistinctRirs'],
        message: 'the remotes are all in one RIR, so no validation could pass; add a remote in another RIR or set requireDistinctRirs: false',
      });
    }
  });

export type PerspectivesConfig = z.infer<typeof perspectivesConfigSchema>;

export const vaRemoteConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** 0 takes a free port (tests); the URL is printed at start. */
      port: port.default(14300),
    })
    .prefault({}),
  /** Echoed in every answer; must equal the name and RIR the CA configures for this perspective's URL. */
  name: perspectiveName,
  rir,
  tls: z.strictObject({
    /** This perspective's server certificate and key. */
    cert: pemFile,
    key: pemFile,
    /** CA certificate(s) the CA's client certificate must chain to. */
    ca: pemFile,
    /** If set, the client certificate's CN or a DNS SAN must be one of these. */
    allowedClientNames: z.array(z.string().min(1)).min(1).optional(),
  }),
  /** The perspective's own VA, as the CA's `va` section; its DNS resolver should be in its own RIR's region. */
  va: z
    .strictObject({
      ...vaFields,
      /** The issuer domain names a CAA record must name: the CA's `caa.identities`. */
      caaIdentities: z.array(caaIdentity).optional(),
    })
    .prefault({}),
});

export type VaRemoteConfig = z.infer<typeof vaRemoteConfigSchema>;

/** Reads and validates a remote perspective's YAML configuration file. */
export async function loadVaRemoteConfigFile(path: string): Promise<VaRemoteConfig> {
  return parseConfigSection(vaRemoteConfigSchema, await readYamlFile(path), path);
}

async function readPem(path: string, key: string, source: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${source}: key "${key}": cannot read ${path} (${(err as Error).message})`, source, key);
  }
  if (!text.includes('-----BEGIN ')) throw new ConfigError(`${source}: key "${key}": ${path} is not a PEM file`, source, key);
  return text;
}

async function readTls(tls: { cert: string; key: string; ca: string }, prefix: string, source: string): Promise<PerspectiveTls> {
  const [cert, key, ca] = await Promise.all([
    readPem(tls.cert, `${prefix}.cert`, source),
    readPem(tls.key, `${prefix}.key`, source),
    readPem(tls.ca, `${prefix}.ca`, source),
  ]);
  return { cert, key, ca };
}

/**
 * The CA's validator with corroboration: `primary` (the local VA) and the configured remote perspectives, their PEM
 * files read now. `source` names the configuration file in errors.
 */
export async function corroboratingValidator(
  primary: Validator,
  config: PerspectivesConfig,
  options: Pick<CorroborationOptions, 'onSummary' | 'slowRemoteTimeoutMs'> & { source?: string } = {},
): Promise<Validator> {
  const tls = await readTls(config.tls, 'va.perspectives.tls', options.source ?? 'configuration');
  const remotes = config.remotes.map((remote) => new RemotePerspective({ ...remote, tls, timeoutMs: config.timeoutMs }));
  return new CorroboratingValidator(primary, remotes, { ...options, requireDistinctRirs: config.requireDistinctRirs });
}

export interface RunningVaRemote extends RemotePerspectiveServer {
  name: string;
  rir: string;
}

/** Starts a remote perspective from its configuration: its own VA behind the mutual-TLS server. */
export async function startVaRemote(config: VaRemoteConfig, source = 'configuration'): Promise<RunningVaRemote> {
  const tls = await readTls(config.tls, 'tls', source);
  const va = new ValidationAuthority(config.va);
  let server: RemotePerspectiveServer;
  try {
    server = await serveRemotePerspective(va, {
      name: config.name,
      rir: config.rir,
      host: config.listen.host,
      port: config.listen.port,
      tls: { ...tls, allowedClientNames: config.tls.allowedClientNames },
    });
  } catch (err) {
    await va.close();
    throw err;
  }
  return {
    ...server,
    name: config.name,
    rir: config.rir,
    close: async () => {
      await server.close();
      await va.close();
    },
  };
}
