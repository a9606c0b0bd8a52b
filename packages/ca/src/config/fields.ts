// Field schemas shared by the CA's configuration and a remote perspective's: both run a VA.
import { z } from 'zod';

export const port = z.number().int().min(0).max(65535);

export const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:8053"');

/** An issuer domain name as CAA records name it (RFC 8659 §4.2). */
export const caaIdentity = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, 'expected a lower-case domain name such as "letsencrypt.org"');

/** How a VA reaches what it validates. */
export const vaFields = {
  /** Port the VA connects to for http-01. Production: 80. */
  httpPort: port.min(1).default(80),
  /** Port the VA connects to for tls-alpn-01. Production: 443. */
  tlsPort: port.min(1).default(443),
  /** The one recursive resolver for challenges and CAA, "host:port"; point it at a DNSSEC-validating resolver. */
  dnsServer: hostPort.optional(),
  timeoutMs: z.number().int().positive().max(120_000).optional(),
};
