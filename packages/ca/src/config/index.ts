// The CA's YAML configuration: one strict zod schema (unknown keys are errors) and a loader whose errors name the file,
// the key path and what was expected.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { issuerConfigSchema } from './issuer.js';
export type { ChainConfig, IssuerConfig, IssuingKeyConfig } from './issuer.js';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:8053"');

const port = z.number().int().min(0).max(65535);

const externalAccountBindingSchema = z.strictObject({
  /** When true, newAccount without an EAB is refused with externalAccountRequired. */
  required: z.boolean().default(true),
  /** key identifier → base64url HMAC key, as handed out to subscribers out of band. */
  keys: z.record(z.string().min(1), z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a base64url HMAC key').min(16)),
});

export const caConfigSchema = z.strictObject({
  /** Where the database, the development hierarchy and the server TLS certificate live. */
  dataDir: z.string().min(1).default('./data'),
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
      httpPort: port.min(1).default(80),
      tlsPort: port.min(1).default(443),
      dnsServer: hostPort.optional(),
      timeoutMs: z.number().int().positive().max(120_000).optional(),
    })
    .prefault({}),
  acme: z
    .strictObject({
      termsOfService: z.url().optional(),
      website: z.url().optional(),
      caaIdentities: z.array(z.string().min(1)).optional(),
      externalAccountBinding: externalAccountBindingSchema.optional(),
      orderLifetimeHours: z.number().positive().max(24 * 30).default(24 * 7),
      authorizationLifetimeHours: z.number().positive().max(24 * 30).default(24 * 7),
      /** How long a challenge POST waits for a fast validation to finish before answering "processing". */
      challengeWaitMs: z.number().int().min(0).max(10_000).default(250),
      /** Largest number of identifiers in one order. */
      maxNames: z.number().int().min(1).max(1000).default(100),
    })
    .prefault({}),
  issuance: z
    .strictObject({
      validityDays: z.number().int().min(1).max(199).default(90),
      /** Base for the AIA caIssuers and CRL distribution point URLs; default http://<listen.host>:<listen.httpPort>. */
      urlBase: z.url().optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
    })
    .prefault({}),
  /** Issuing intermediates with keys on a PKCS#11 token (or in a key file); without it, the development hierarchy. */
  issuer: issuerConfigSchema.optional(),
});

export type CaConfig = z.infer<typeof caConfigSchema>;
export type CaConfigInput = z.input<typeof caConfigSchema>;

/** A configuration problem an operator can fix: the message names the file, the key and the expectation. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly keyPath?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: any = schema;
  while (current?._zod?.def?.innerType) current = current._zod.def.innerType;
  return current as z.ZodType;
}

/** The keys allowed at a path of the schema, so an unknown-key error can say what would have been accepted. */
function allowedKeysAt(path: PropertyKey[]): string[] {
  let current: any = unwrap(caConfigSchema);
  for (const segment of path) {
    const shape = current?._zod?.def?.shape;
    if (!shape || !(String(segment) in shape)) return [];
    current = unwrap(shape[String(segment)]);
  }
  const shape = current?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

function keyName(path: PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(top level)';
}

/** Validates already-parsed input; `source` names where it came from in error messages. */
export function parseCaConfig(input: unknown, source = 'configuration'): CaConfig {
  const result = caConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const messages: string[] = [];
  let firstKey: string | undefined;
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(issue.path);
      for (const key of issue.keys) {
        const full = keyName([...issue.path, key]);
        firstKey ??= full;
        messages.push(`${source}: unknown key "${full}"; expected one of: ${allowed.join(', ')}`);
      }
    } else {
      const full = keyName(issue.path);
      firstKey ??= full;
      messages.push(`${source}: key "${full}": ${issue.message}`);
    }
  }
  return (() => {
    throw new ConfigError(messages.join('\n'), source, firstKey);
  })();
}

/** Reads and validates a YAML configuration file. */
export async function loadCaConfigFile(path: string): Promise<CaConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read the configuration file (${(err as Error).message})`, path);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(`${path}: not valid YAML: ${doc.errors[0]!.message}`, path);
  }
  return parseCaConfig(doc.toJS() ?? {}, path);
}
