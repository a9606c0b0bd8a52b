// dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<domain> holding base64url(SHA-256(keyAuthorization)).
import { createHash } from 'node:crypto';
import type { VaResolver } from './dns.js';
import { Deadline, ValidationError, type ValidationRecord, type ValidationRequest } from './types.js';

export function dns01Digest(keyAuthorization: string): string {
  return createHash('sha256').update(keyAuthorization).digest('base64url');
}

export async function validateDns01(req: ValidationRequest, resolver: VaResolver, deadline: Deadline, records: ValidationRecord[]): Promise<void> {
  const name = `_acme-challenge.${req.domain}`;
  records.push({ hostname: req.domain });
  const values = await resolver.txt(name, deadline);
  const expected = dns01Digest(req.keyAuthorization);
  if (values.includes(expected)) return;
  if (values.length === 0) {
    throw new ValidationError('unauthorized', `No TXT record found at ${name}; expected one with the value "${expected}"`);
  }
  const shown = values.slice(0, 5).map((v) => JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v)).join(', ');
  const more = values.length > 5 ? ` and ${values.length - 5} more` : '';
  throw new ValidationError('unauthorized', `Incorrect TXT record at ${name}: found ${shown}${more}; expected "${expected}"`);
}
