// The CA's YAML configuration: one strict zod schema (unknown keys are errors) and a loader whose errors name the file,
// the key path and what was expected.
import { z } from 'zod';
import { parseConfigSection, readYamlFile } from './load.js';
import { issuersConfigSchema } from './issuer.js';
import { perspectivesConfigSchema } from './perspectives.js';
import { profilesConfigSchema } from './profiles.js';
import { durationSchema } from './duration.js';
import { caaIdentity, port, vaFields } from './fields.js';
import { rateLimitsConfigSchema } from '../ra/ratelimits/config.js';
import { faultsConfigSchema } from '../testmode/faults.js';
import { crlConfigSchema } from '../crl/config.js';
import { ocspConfigSchema } from '../ocsp/config.js';
import { noncesConfigSchema } from '../wfe/nonces.js';
export { ConfigError } from './errors.js';
export type { ChainConfig, IssuingKeyConfig } from './issuer.js';
export type { ProfileConfig, ProfilesConfig } from './profiles.js';


const externalAccountBindingSchema = z.strictObject({
  /** When true, newAccount without an EAB is refused with externalAccountRequired. */
  required: z.boolean().default(true),
  /** key identifier → base64url HMAC key, as handed out to subscribers out of band. */
  keys: z.record(z.string().min(1), z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a base64url HMAC key').min(16)),
});

export const caConfigSchema = z.strictObject({
  /** Where the database, the development hierarchy and the server TLS certificate live. */
  dataDir: z.string().min(1).default('./data'),
  database: z
    .strictObject({
      /**
       * sqlite:<file> (relative to dataDir; default sqlite:ca.sqlite3), postgres://user:password@host:5432/db, or
       * mysql://user:password@host:3306/db for MariaDB (database created with COLLATE utf8mb4_bin).
       */
      url: z.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+|(mysql|mariadb):\/\/.+)$/, 'expected sqlite:<file>, postgres://… or mysql://…').optional(),
      /** A read replica of the same kind for reads that tolerate lag (order listing, CRLs). */
      readReplicaUrl: z.string().regex(/^(postgres(ql)?|mysql|mariadb):\/\/.+$/, 'expected postgres://… or mysql://…').optional(),
      /** Connections per pool on MariaDB/PostgreSQL. */
      poolSize: z.number().int().min(1).max(200).default(10),
      /** An order or challenge processing longer than this belongs to a finalize or validation that died: the sweeper completes or releases the order, fails the challenge. */
      processingTimeout: durationSchema.prefault('5m'),
      /** How often the sweeper looks for such orders and challenges. */
      sweepInterval: durationSchema.prefault('30s'),
    })
    .prefault({}),
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** ACME over HTTPS. 0 takes a free port (tests). */
      port: port.default(14000),
      /** Plain HTTP for the AIA issuer certificates named in leaves (BRs require http:// there). 0 = free port. */
      httpPort: port.default(14002),
    })
    .prefault({}),
  va: z
    .strictObject({
      ...vaFields,
      /** Remote perspectives that must corroborate every validation and CAA check (MPIC). */
      perspectives: perspectivesConfigSchema.optional(),
    })
    .prefault({}),
  caa: z
    .strictObject({
      /** Our issuer domain names (RFC 8659 issue/issuewild values that permit us); shown in meta.caaIdentities. */
      identities: z.array(caaIdentity).min(1).default(['cobble.test']),
      /** At finalize, names validated longer ago than this are checked again (BR 3.2.2.8: 8 hours at most). */
      recheckAfter: durationSchema.prefault('7h'),
    })
    .prefault({}),
  policy: z
    .strictObject({
      /** Names the CA never certifies, exactly as written (lower case). */
      blockedNames: z.array(z.string().min(1)).default([]),
      /** Domains the CA never certifies, nor anything below them. */
      blockedSuffixes: z.array(z.string().min(1)).default([]),
      /**
       * Certify IP identifiers in loopback, private and other IANA special-purpose ranges. Never on a public CA; for
       * a private CA, or one that ACME clients are tested against on one machine.
       */
      allowSpecialPurposeIps: z.boolean().default(false),
    })
    .prefault({}),
  profiles: profilesConfigSchema.prefault({}),
  rateLimits: rateLimitsConfigSchema.prefault({}),
  /** Anti-replay nonces: in memory for one front end, in Redis when several share the load (docs/operations.md). */
  nonces: noncesConfigSchema.prefault({}),
  cache: z
    .strictObject({
      /**
       * Accounts in memory (every authenticated request reads one). Invalidation is local, so only for a front end that
       * is its database's only user. Default: on for SQLite, off for MariaDB and PostgreSQL (several front ends share
       * them); `cobble ca serve --workers N` turns it off.
       */
      accounts: z.boolean().optional(),
    })
    .prefault({}),
  acme: z
    .strictObject({
      termsOfService: z.url().optional(),
      website: z.url().optional(),
      externalAccountBinding: externalAccountBindingSchema.optional(),
      /** How long a challenge POST waits for a fast validation to finish before answering "processing". */
      challengeWaitMs: z.number().int().min(0).max(10_000).default(250),
    })
    .prefault({}),
  issuance: z
    .strictObject({
      /** Base for the AIA caIssuers and CRL distribution point URLs; default http://<listen.host>:<listen.httpPort>. */
      urlBase: z.url().optional(),
    })
    .prefault({}),
  /** The public stats page (`/stats`, `/stats.json`) on the plain-HTTP port. */
  stats: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How often the current UTC day's figures are counted again (a walk over the unexpired certificates). */
      snapshotInterval: durationSchema.prefault('1h'),
      /** How long the rendered page and JSON are served from memory. */
      cacheTtl: durationSchema.prefault('60s'),
      /** How many days the charts show. */
      days: z.number().int().min(1).max(3650).default(365),
    })
    .prefault({}),
  /** Prometheus `GET /metrics` on a listener of its own; off unless `port` is set (0 = a free port). */
  metrics: z
    .strictObject({
      /** Loopback by default: metrics name internal routes and rates, so they are for the operator's scraper only. */
      host: z.string().min(1).default('127.0.0.1'),
      port: port.optional(),
    })
    .prefault({}),
  /** Sharded CRLs: shard count, update schedule, validity (docs/operations.md, CRLs and OCSP). */
  crl: crlConfigSchema.prefault({}),
  /** The OCSP responder, off by default. */
  ocsp: ocspConfigSchema.prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
    })
    .prefault({}),
  /** Issuing intermediates with keys on a PKCS#11 token (or in a key file); without it, the development hierarchy. */
  issuers: issuersConfigSchema.optional(),
  /**
   * For testing ACME clients on one machine, never for a real CA: a DNS server on 127.0.0.1 where every name is
   * 127.0.0.1/::1 and TXT/CAA records are set in memory replaces `va.dnsServer`; the VA fetches http-01 and
   * tls-alpn-01 from ports 5002 and 5001 unless `va.httpPort`/`va.tlsPort` are given; special-purpose IPs are allowed.
   */
  testMode: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** UDP and TCP port of the DNS server. 0 = a free port. */
      dnsPort: port.default(0),
      /** Port of the loopback endpoint lego's httpreq DNS provider publishes TXT records through. 0 = a free port. */
      httpreqPort: port.default(0),
      /** Port of the management API (roots, certificate status, revocation, DNS records) on 127.0.0.1. 0 = a free port. */
      managementPort: port.default(0),
      /** Fault knobs for testing clients' retry logic, all off by default; the management API changes them. */
      faults: faultsConfigSchema.prefault({}),
    })
    .prefault({}),
}).superRefine((config, ctx) => {
  // Remote perspectives resolve names in their own DNS, where test mode's records do not exist.
  if (config.testMode.enabled && config.va.perspectives) {
    ctx.addIssue({ code: 'custom', path: ['va', 'perspectives'], message: 'test mode answers DNS on this machine only, so remote perspectives cannot corroborate; remove va.perspectives or turn testMode off' });
  }
});

export type CaConfig = z.infer<typeof caConfigSchema>;
export type CaConfigInput = z.input<typeof caConfigSchema>;

/** Validates already-parsed input; `source` names where it came from in error messages. */
export function parseCaConfig(input: unknown, source = 'configuration'): CaConfig {
  return parseConfigSection(caConfigSchema, input, source);
}

/**
 * Reads and validates a YAML configuration file; returns the input as written (what `startCa` takes: parsing twice
 * would read durations already in milliseconds as seconds) and the parsed configuration.
 */
export async function readCaConfigFile(path: string): Promise<{ input: CaConfigInput; config: CaConfig }> {
  const input = (await readYamlFile(path)) as CaConfigInput;
  return { input, config: parseCaConfig(input, path) };
}

/** Reads and validates a YAML configuration file. */
export async function loadCaConfigFile(path: string): Promise<CaConfig> {
  return (await readCaConfigFile(path)).config;
}
