// The `crl` section of the CA configuration.
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

export const crlConfigSchema = z
  .strictObject({
    /**
     * CRL shards per issuer. Each leaf names one shard in its CRL distribution point, chosen at issuance and stored
     * with it; raising or lowering the count later only affects new leaves (shards already published stay served).
     */
    shards: z.number().int().min(1).max(1024).default(16),
    /** Every shard is signed again this often, revoked or not (its nextUpdate is further out: `validity`). */
    updateInterval: durationSchema.prefault('6h'),
    /** nextUpdate - thisUpdate. BR 4.9.7: at most ten days for a subscriber CRL. */
    validity: durationSchema.prefault('7d'),
    /**
     * After a revocation, how long the updater waits for more before signing the shard again (milliseconds). A fetch of
     * the shard meanwhile waits for the new CRL.
     */
    revocationDelayMs: z.number().int().min(0).max(60_000).default(500),
  })
  .refine((c) => c.validity <= 10 * 86_400_000, { message: 'crl.validity must be at most 10d (BR 4.9.7)', path: ['validity'] })
  .refine((c) => c.updateInterval > 0 && c.updateInterval < c.validity, {
    message: 'crl.updateInterval must be more than 0 and less than crl.validity, so that a fresh CRL is out before the last one expires',
    path: ['updateInterval'],
  });

export type CrlConfig = z.infer<typeof crlConfigSchema>;
