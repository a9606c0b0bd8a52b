// The ceremony configuration: one YAML file per ceremony, parsed strictly (unknown keys are errors) so an
// auditor checks one file and the tool does exactly what it says. Key names follow Boulder's ceremony tool.
import { parseDocument, isMap, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { LINT_NAMES } from '@cobble/pki';

export const CEREMONY_TYPES = ['key', 'root', 'intermediate', 'cross-certificate', 'cross-csr', 'crl', 'ocsp-signer'] as const;
export type CeremonyType = (typeof CEREMONY_TYPES)[number];

/** An operator error: names the file, the key path and what is expected. Nothing has been written. */
export class CeremonyError extends Error {
  constructor(readonly file: string, readonly key: string | undefined, readonly problem: string) {
    super(key ? `${file}: key '${key}': ${problem}` : `${file}: ${problem}`);
    this.name = 'CeremonyError';
  }
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

const dateTime = z.string({ error: 'expected a UTC date and time as a quoted or plain string "YYYY-MM-DD HH:MM:SS"' })
  .refine((s) => {
    const m = DATE_PATTERN.exec(s);
    if (!m) return false;
    const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
    return !isNaN(d.getTime()) && d.toISOString().slice(0, 19) === `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  }, { message: 'expected a valid UTC date and time "YYYY-MM-DD HH:MM:SS" (e.g. 2020-09-04 00:00:00)' })
  .transform((s) => new Date(s.replace(' ', 'T') + 'Z'));

const nonEmpty = (what: string) => z.string({ error: `expected ${what} (a string)` }).min(1, { message: `expected ${what}, got an empty string` });
const path = nonEmpty('a file path');
const httpUrl = z.string({ error: 'expected an http:// URL' }).regex(/^http:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[^\s]*)?$/, { message: 'expected an http:// URL (BR: CRL and AIA URLs use http)' });
const oid = z.string({ error: 'expected an OID such as 2.23.140.1.2.1' }).regex(/^[0-2](\.(0|[1-9]\d*))+$/, { message: 'expected a dotted OID such as 2.23.140.1.2.1' });

// PINs and passphrases must be quoted: YAML reads 0123 as the number 123.
const secret = (what: string) => z.string({ error: `expected the ${what} as a quoted string, e.g. "1234"` }).min(1, { message: `the ${what} is empty` });
const envName = z.string({ error: 'expected an environment variable name' }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name such as HSM_PIN' });

const tokenFields = {
  module: path,
  slot: z.number({ error: 'expected a slot ID (a non-negative integer)' }).int().nonnegative().optional(),
  'token-label': nonEmpty('a token label').optional(),
  pin: secret('PIN').optional(),
  'pin-env': envName.optional(),
};

function exactlyOne(value: Record<string, unknown>, keys: [string, string], ctx: z.RefinementCtx, what: string) {
  const present = keys.filter((k) => value[k] !== undefined);
  if (present.length !== 1) {
    ctx.addIssue({ code: 'custom', path: present.length === 0 ? [] : [keys[1]], message: `give exactly one of ${keys.join(' or ')} (${what})` });
  }
}

const tokenChecks = (v: Record<string, unknown>, ctx: z.RefinementCtx) => {
  exactlyOne(v, ['slot', 'token-label'], ctx, 'which token to use');
  exactlyOne(v, ['pin', 'pin-env'], ctx, 'the user PIN, or the variable that holds it');
};

const pkcs11KeyGen = z.strictObject({ ...tokenFields, 'store-key-with-label': nonEmpty('the label for the new key') }).superRefine(tokenChecks);
const pkcs11Signing = z.strictObject({ ...tokenFields, 'signing-key-label': nonEmpty('the label of the signing key') }).superRefine(tokenChecks);

const keyFileFields = { path, passphrase: secret('passphrase').optional(), 'passphrase-env': envName.optional() };
const keyFile = z.strictObject(keyFileFields).superRefine((v, ctx) => exactlyOne(v, ['passphrase', 'passphrase-env'], ctx, 'the key file passphrase'));

const keySpec = z.strictObject({
  type: z.enum(['rsa', 'ecdsa'], { error: 'expected rsa or ecdsa' }),
  'rsa-mod-length': z.union([z.literal(2048), z.literal(3072), z.literal(4096)], { error: 'expected 2048, 3072 or 4096' }).optional(),
  'ecdsa-curve': z.enum(['P-256', 'P-384'], { error: 'expected P-256 or P-384' }).optional(),
}).superRefine((v, ctx) => {
  if (v.type === 'rsa' && v['rsa-mod-length'] === undefined) ctx.addIssue({ code: 'custom', path: ['rsa-mod-length'], message: 'an rsa key needs rsa-mod-length (2048, 3072 or 4096)' });
  if (v.type === 'rsa' && v['ecdsa-curve'] !== undefined) ctx.addIssue({ code: 'custom', path: ['ecdsa-curve'], message: 'ecdsa-curve does not apply to an rsa key; remove it' });
  if (v.type === 'ecdsa' && v['ecdsa-curve'] === undefined) ctx.addIssue({ code: 'custom', path: ['ecdsa-curve'], message: 'an ecdsa key needs ecdsa-curve (P-256 or P-384)' });
  if (v.type === 'ecdsa' && v['rsa-mod-length'] !== undefined) ctx.addIssue({ code: 'custom', path: ['rsa-mod-length'], message: 'rsa-mod-length does not apply to an ecdsa key; remove it' });
});

export const SIGNATURE_ALGORITHM_NAMES = {
  SHA256WithRSA: 'sha256WithRSAEncryption',
  SHA384WithRSA: 'sha384WithRSAEncryption',
  ECDSAWithSHA256: 'ecdsa-with-SHA256',
  ECDSAWithSHA384: 'ecdsa-with-SHA384',
} as const;
const signatureAlgorithm = z.enum(Object.keys(SIGNATURE_ALGORITHM_NAMES) as [keyof typeof SIGNATURE_ALGORITHM_NAMES], {
  error: `expected one of ${Object.keys(SIGNATURE_ALGORITHM_NAMES).join(', ')}`,
});

export const KEY_USAGE_NAMES = { 'Digital Signature': 'digitalSignature', 'Cert Sign': 'keyCertSign', 'CRL Sign': 'cRLSign' } as const;
const keyUsages = z.array(z.enum(Object.keys(KEY_USAGE_NAMES) as [keyof typeof KEY_USAGE_NAMES], { error: 'expected "Digital Signature", "Cert Sign" or "CRL Sign"' }), { error: 'expected a list of key usages' }).min(1, { message: 'list at least one key usage' });
const ekus = z.array(z.enum(['serverAuth', 'clientAuth'], { error: 'expected serverAuth or clientAuth' }), { error: 'expected a list such as [serverAuth]' }).min(1, { message: 'list at least serverAuth' });
const policies = z.array(z.strictObject({ oid, 'cps-uri': z.string().regex(/^https?:\/\/\S+$/, { message: 'expected an http(s) URL' }).optional() }), { error: 'expected a list of {oid: ...}' });
const subjectFields = {
  'common-name': nonEmpty('the subject common name'),
  organization: nonEmpty('the subject organization'),
  country: z.string({ error: 'expected a two-letter country code' }).regex(/^[A-Z]{2}$/, { message: 'expected a two-letter upper-case country code such as US' }),
};
const validity = { 'not-before': dateTime, 'not-after': dateTime };

const rootProfile = z.strictObject({ 'signature-algorithm': signatureAlgorithm, ...subjectFields, ...validity, 'key-usages': keyUsages.optional() });
const intermediateProfile = z.strictObject({
  'signature-algorithm': signatureAlgorithm, ...subjectFields, ...validity,
  'crl-url': httpUrl, 'issuer-url': httpUrl, 'ocsp-url': httpUrl.optional(),
  policies: policies.min(1, { message: 'list the policies, e.g. [{oid: 2.23.140.1.2.1}]' }),
  'key-usages': keyUsages.optional(), ekus: ekus.optional(),
  'path-length': z.number({ error: 'expected a non-negative integer' }).int().nonnegative().optional(),
});
const crossProfile = z.strictObject({
  'signature-algorithm': signatureAlgorithm, ...validity,
  'crl-url': httpUrl, 'issuer-url': httpUrl,
  policies: policies.min(1, { message: 'list the policies, e.g. [{oid: 2.23.140.1.2.1}]' }),
  ekus: ekus.optional(),
});
const csrProfile = z.strictObject({ ...subjectFields });
const ocspSignerProfile = z.strictObject({ 'signature-algorithm': signatureAlgorithm, ...subjectFields, ...validity, 'issuer-url': httpUrl.optional() });

const CRL_REASON_NAMES = ['keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const;
const crlProfile = z.strictObject({
  'this-update': dateTime,
  'next-update': dateTime,
  number: z.number({ error: 'expected the CRL number, a positive integer' }).int().positive({ message: 'the CRL number must be positive and increase with every CRL' }),
  'revoked-certificates': z.array(z.strictObject({
    'certificate-path': path,
    'revocation-date': dateTime,
    'revocation-reason': z.enum(CRL_REASON_NAMES, { error: `expected one of ${CRL_REASON_NAMES.join(', ')}` }),
  })).optional(),
});

const skipLints = z.array(z.string().refine((n) => LINT_NAMES.includes(n), { message: 'not a lint name (see `cobble ceremony --list-lints`)' }), { error: 'expected a list of lint names' }).optional();

const signingKey = { pkcs11: pkcs11Signing.optional(), 'key-file': keyFile.optional() };
const generatingKey = { pkcs11: pkcs11KeyGen.optional(), 'key-file': keyFile.optional() };
const keySource = (v: Record<string, unknown>, ctx: z.RefinementCtx) => {
  if ((v.pkcs11 === undefined) === (v['key-file'] === undefined)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of pkcs11 (an HSM) or key-file (development only)' });
  }
};

export const schemas = {
  key: z.strictObject({
    'ceremony-type': z.literal('key'), ...generatingKey, key: keySpec,
    outputs: z.strictObject({ 'public-key-path': path, 'pkcs11-config-path': path.optional() }),
  }).superRefine(keySource),
  root: z.strictObject({
    'ceremony-type': z.literal('root'), ...generatingKey, key: keySpec,
    outputs: z.strictObject({ 'public-key-path': path, 'certificate-path': path }),
    'certificate-profile': rootProfile, 'skip-lints': skipLints,
  }).superRefine(keySource),
  intermediate: z.strictObject({
    'ceremony-type': z.literal('intermediate'), ...signingKey,
    inputs: z.strictObject({ 'public-key-path': path, 'issuer-certificate-path': path }),
    outputs: z.strictObject({ 'certificate-path': path }),
    'certificate-profile': intermediateProfile, 'skip-lints': skipLints,
  }).superRefine(keySource),
  'cross-certificate': z.strictObject({
    'ceremony-type': z.literal('cross-certificate'), ...signingKey,
    inputs: z.strictObject({ 'issuer-certificate-path': path, 'certificate-to-cross-sign-path': path }),
    outputs: z.strictObject({ 'certificate-path': path }),
    'certificate-profile': crossProfile, 'skip-lints': skipLints,
  }).superRefine(keySource),
  'cross-csr': z.strictObject({
    'ceremony-type': z.literal('cross-csr'), ...signingKey,
    inputs: z.strictObject({ 'public-key-path': path }),
    outputs: z.strictObject({ 'csr-path': path }),
    'certificate-profile': csrProfile,
  }).superRefine(keySource),
  crl: z.strictObject({
    'ceremony-type': z.literal('crl'), ...signingKey,
    inputs: z.strictObject({ 'issuer-certificate-path': path }),
    outputs: z.strictObject({ 'crl-path': path }),
    'crl-profile': crlProfile, 'skip-lints': skipLints,
  }).superRefine(keySource),
  'ocsp-signer': z.strictObject({
    'ceremony-type': z.literal('ocsp-signer'), ...signingKey,
    inputs: z.strictObject({ 'public-key-path': path, 'issuer-certificate-path': path }),
    outputs: z.strictObject({ 'certificate-path': path }),
    'certificate-profile': ocspSignerProfile, 'skip-lints': skipLints,
  }).superRefine(keySource),
};

export type KeyCeremony = z.output<typeof schemas.key>;
export type RootCeremony = z.output<typeof schemas.root>;
export type IntermediateCeremony = z.output<typeof schemas.intermediate>;
export type CrossCertificateCeremony = z.output<typeof schemas['cross-certificate']>;
export type CrossCsrCeremony = z.output<typeof schemas['cross-csr']>;
export type CrlCeremony = z.output<typeof schemas.crl>;
export type OcspSignerCeremony = z.output<typeof schemas['ocsp-signer']>;
export type CeremonyConfig = KeyCeremony | RootCeremony | IntermediateCeremony | CrossCertificateCeremony | CrossCsrCeremony | CrlCeremony | OcspSignerCeremony;
export type Pkcs11KeyGenConfig = z.output<typeof pkcs11KeyGen>;
export type Pkcs11SigningConfig = z.output<typeof pkcs11Signing>;
export type KeyFileConfig = z.output<typeof keyFile>;

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: any = root;
  for (const key of path) v = v == null ? undefined : v[key as any];
  return v;
}

/** Keys a strict object accepts at `path`, for "unknown key" messages. */
function allowedKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: any = schema;
  for (const key of [...path, null]) {
    for (let guard = 0; guard < 8; guard++) {
      const def = s?._zod?.def;
      if (!def) break;
      if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') s = def.innerType;
      else if (def.type === 'pipe') s = def.in;
      else break;
    }
    if (key === null) break;
    const def = s?._zod?.def;
    if (def?.type === 'object') s = def.shape[key as string];
    else if (def?.type === 'array') s = def.element;
    else return [];
  }
  const def = s?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape) : [];
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function issueMessages(schema: z.ZodType, raw: unknown, issues: z.core.$ZodIssue[]): Array<{ key: string | undefined; problem: string }> {
  const out: Array<{ key: string | undefined; problem: string }> = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        out.push({ key: formatPath([...issue.path, key]), problem: `unknown key; allowed here: ${allowed.join(', ')}` });
      }
      continue;
    }
    const value = valueAt(raw, issue.path);
    let problem = issue.message;
    if (issue.code === 'invalid_type' && value === undefined) problem = `required key is missing (${issue.message.replace(/^Invalid input: /, '')})`;
    else if (!/got |received /.test(problem)) problem = `${problem}; got ${describeValue(value)}`;
    else problem = problem.replace(/^Invalid input: /, '');
    out.push({ key: issue.path.length > 0 ? formatPath(issue.path) : undefined, problem });
  }
  return out;
}

/** Parses and validates a ceremony file's text. Throws CeremonyError naming the file, key and expectation. */
export function parseCeremonyConfig(text: string, file: string): CeremonyConfig {
  if (text.trim() === '') throw new CeremonyError(file, undefined, 'the file is empty; expected a YAML mapping starting with ceremony-type');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, version: '1.2' });
  const yamlError = doc.errors[0] as YAMLParseError | undefined;
  if (yamlError) {
    const where = yamlError.linePos ? ` (line ${yamlError.linePos[0].line}, column ${yamlError.linePos[0].col})` : '';
    throw new CeremonyError(file, undefined, `not valid YAML${where}: ${yamlError.message.split('\n')[0]}`);
  }
  if (!isMap(doc.contents)) throw new CeremonyError(file, undefined, 'expected a YAML mapping with ceremony-type at the top level');
  const raw = doc.toJS() as Record<string, unknown>;
  const type = raw['ceremony-type'];
  if (type === undefined) throw new CeremonyError(file, 'ceremony-type', `required key is missing; expected one of ${CEREMONY_TYPES.join(', ')}`);
  if (typeof type !== 'string' || !(CEREMONY_TYPES as readonly string[]).includes(type)) {
    throw new CeremonyError(file, 'ceremony-type', `expected one of ${CEREMONY_TYPES.join(', ')}; got ${describeValue(type)}`);
  }
  const schema = schemas[type as CeremonyType] as unknown as z.ZodType<CeremonyConfig>;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const messages = issueMessages(schema, raw, result.error.issues);
    const [first] = messages;
    const error = new CeremonyError(file, first.key, first.problem);
    if (messages.length > 1) {
      error.message += '\n' + messages.slice(1).map((m) => `${file}: ${m.key ? `key '${m.key}': ` : ''}${m.problem}`).join('\n');
    }
    throw error;
  }
  return result.data;
}
