// The optional `issuers` section: production issuing intermediates whose keys live on a PKCS#11 token (or, for
// development, in an encrypted key file), with the chains served to subscribers. Without it the CA creates and uses
// its development hierarchy. Paths are resolved against the current directory, as dataDir is.
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name such as COBBLE_HSM_PIN');
const path = z.string().min(1, 'expected a file path');

function exactlyOne(value: Record<string, unknown>, keys: [string, string], ctx: z.RefinementCtx, what: string): void {
  const present = keys.filter((k) => value[k] !== undefined);
  if (present.length !== 1) {
    ctx.addIssue({ code: 'custom', path: present.length === 0 ? [] : [keys[1]], message: `give exactly one of ${keys.join(' or ')} (${what})` });
  }
}

const pkcs11Schema = z
  .strictObject({
    /** PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so or the HSM vendor's library. */
    module: path,
    /** Token label, as the `key` ceremony wrote it to its pkcs11-config-path JSON ("tokenLabel"). */
    tokenLabel: z.string().min(1).optional(),
    /** Slot ID, instead of tokenLabel. */
    slot: z.number().int().nonnegative().optional(),
    /** Label of the intermediate's key pair on the token ("keyLabel" in the key ceremony's JSON). */
    keyLabel: z.string().min(1),
    /** Environment variable holding the user PIN (production). */
    pinEnv: envName.optional(),
    /** The user PIN itself: development tokens only, since the config file is then a secret. */
    pin: z.string().min(1).optional(),
  })
  .superRefine((v, ctx) => {
    exactlyOne(v, ['slot', 'tokenLabel'], ctx, 'which token holds the key');
    exactlyOne(v, ['pin', 'pinEnv'], ctx, 'the user PIN, or the environment variable that holds it');
  });

const keyFileSchema = z
  .strictObject({
    /** PKCS#8 ENCRYPTED PRIVATE KEY PEM (what a key-file ceremony or `openssl pkcs8 -topk8` writes). */
    path,
    passphraseEnv: envName.optional(),
    passphrase: z.string().min(1).optional(),
  })
  .superRefine((v, ctx) => exactlyOne(v, ['passphrase', 'passphraseEnv'], ctx, 'the key file passphrase, or the environment variable that holds it'));

const chainSchema = z.strictObject({
  /** PEM files served after the leaf, in order, starting with the issuing certificate. */
  certificates: z.array(path).min(1, 'expected at least the issuing certificate'),
  /** The trust anchor the chain leads to. Never served; the CA checks at startup that the chain verifies to it. */
  root: path,
});

const issuingKeySchema = z
  .strictObject({
    /** Names the issuer in URLs (AIA, CRL) and in the database: keep it stable for as long as its leaves are valid. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected a short name of lower-case letters, digits and hyphens, e.g. "e1" or "r3"'),
    /** The subscriber key types it signs leaves for. */
    keyTypes: z.array(z.enum(['ecdsa', 'rsa'])).min(1),
    /** Retired issuers (false) sign nothing new but still serve their chains and CRLs for the leaves they signed. */
    active: z.boolean().default(true),
    /** Profiles it may sign; all when omitted. */
    profiles: z.array(z.string().min(1)).min(1).optional(),
    /** The issuing intermediate's certificate (PEM). The key must be its key: checked with a test signature. */
    certificate: path,
    pkcs11: pkcs11Schema.optional(),
    keyFile: keyFileSchema.optional(),
    /** Served by default (ACME certificate URL). */
    defaultChain: chainSchema,
    /** Served at the certificate URL's `Link: rel="alternate"` URLs, in this order. */
    alternateChains: z.array(chainSchema).default([]),
  })
  .superRefine((v, ctx) => exactlyOne(v, ['pkcs11', 'keyFile'], ctx, 'where the issuing key is'));

/**
 * Issuers as a list, so one can be added or retired by configuration (the first active issuer for a key type and
 * profile signs). Every subscriber key type the CA accepts needs an active issuer.
 */
export const issuersConfigSchema = z
  .array(issuingKeySchema)
  .min(1, 'expected at least one issuer')
  .superRefine((issuers, ctx) => {
    const seen = new Set<string>();
    issuers.forEach((issuer, index) => {
      if (seen.has(issuer.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `the issuer name "${issuer.name}" is used twice; names must be unique` });
      seen.add(issuer.name);
    });
    for (const keyType of ['ecdsa', 'rsa'] as const) {
      if (!issuers.some((i) => i.active && i.keyTypes.includes(keyType))) {
        ctx.addIssue({ code: 'custom', path: [], message: `no active issuer signs ${keyType === 'rsa' ? 'RSA' : 'ECDSA'} subscriber keys; add "${keyType}" to the keyTypes of an active issuer` });
      }
    }
  });

export type IssuingKeyConfig = z.infer<typeof issuingKeySchema>;
export type ChainConfig = z.infer<typeof chainSchema>;
