// The `ocsp` section of the CA configuration.
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

export const ocspConfigSchema = z
  .strictObject({
    /**
     * Off by default, as at Let's Encrypt since 2025: CRLs carry revocation. On, leaves name the responder in their AIA
     * and the plain-HTTP port answers OCSP requests (for private CAs whose relying parties still need it).
     */
    enabled: z.boolean().default(false),
    /** nextUpdate - thisUpdate of a response. BR 4.9.10: at least 8 hours, at most 10 days. */
    responseValidity: durationSchema.prefault('1d'),
    /** A signed response is reused this long (or until the certificate's status changes), in milliseconds. */
    cacheMs: z.number().int().min(0).max(3_600_000).default(60_000),
  })
  .refine((c) => c.responseValidity >= 8 * 3_600_000 && c.responseValidity <= 10 * 86_400_000, {
    message: 'ocsp.responseValidity must be between 8h and 10d (BR 4.9.10)',
    path: ['responseValidity'],
  });

export type OcspConfig = z.infer<typeof ocspConfigSchema>;
