// The `profiles` section (draft-ietf-acme-profiles): what an order may ask for by name. Each profile is both Boulder's
// "validation profile" (lifetimes, reuse, names, identifier types) and its "certificate profile" (validity and the
// optional leaf fields). The defaults are Let's Encrypt's three production profiles as of 2026.
import { z } from 'zod';
import { durationSchema } from './duration.js';

const profileSchema = z.strictObject({
  /** Shown in the directory's meta.profiles. */
  description: z.string().min(1),
  /** Leaf validity (inclusive of the last second, as the BRs count). */
  validity: durationSchema,
  /** How long a valid authorization is reused for new orders of the same account and profile. */
  authorizationReuse: durationSchema,
  /** How long a pending authorization may wait for its challenge. */
  pendingAuthorizationLifetime: durationSchema,
  orderLifetime: durationSchema,
  /** Put a commonName in the subject (the CSR's, if it is one of the names, else the first name that fits 64 characters). */
  commonName: z.boolean(),
  /** keyUsage keyEncipherment for RSA keys. */
  keyEncipherment: z.boolean(),
  subjectKeyIdentifier: z.boolean(),
  maxNames: z.number().int().min(1).max(1000),
  identifierTypes: z.array(z.enum(['dns', 'ip'])).min(1).default(['dns']),
});

export type ProfileConfig = z.infer<typeof profileSchema>;

const letsEncryptProfiles = {
  classic: {
    description: 'The default: 90-day certificates with a subject common name; authorizations reused for 30 days',
    validity: '90d', authorizationReuse: '30d', pendingAuthorizationLifetime: '7d', orderLifetime: '7d',
    commonName: true, keyEncipherment: true, subjectKeyIdentifier: true, maxNames: 100, identifierTypes: ['dns'],
  },
  tlsserver: {
    description: '45-day certificates with only what TLS servers need (no common name, no keyEncipherment, no SKID); authorizations reused for 7 hours',
    validity: '45d', authorizationReuse: '7h', pendingAuthorizationLifetime: '1h', orderLifetime: '8h',
    commonName: false, keyEncipherment: false, subjectKeyIdentifier: false, maxNames: 25, identifierTypes: ['dns'],
  },
  shortlived: {
    description: '160-hour certificates, IP address identifiers allowed; authorizations reused for 7 hours',
    validity: '160h', authorizationReuse: '7h', pendingAuthorizationLifetime: '1h', orderLifetime: '8h',
    commonName: false, keyEncipherment: false, subjectKeyIdentifier: false, maxNames: 25, identifierTypes: ['dns', 'ip'],
  },
} satisfies Record<string, z.input<typeof profileSchema>>;

export const profilesConfigSchema = z
  .strictObject({
    /** The profile of an order that names none. */
    default: z.string().min(1).default('classic'),
    /** Replaces the built-in set when given. */
    definitions: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected a profile name: lower-case letters, digits and hyphens'), profileSchema).prefault(letsEncryptProfiles),
  })
  .superRefine((value, ctx) => {
    if (!(value.default in value.definitions)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `"${value.default}" is not one of the defined profiles (${Object.keys(value.definitions).join(', ')})` });
    }
  });

export type ProfilesConfig = z.infer<typeof profilesConfigSchema>;
