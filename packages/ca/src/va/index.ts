// Validation authority: proves that an ACME account controls a domain (http-01, dns-01, tls-alpn-01) or an IP address
// (RFC 8738: http-01 and tls-alpn-01).
// The RA calls `validate` and, at finalize, `checkCaa`; the VA never touches storage and never throws for a failed check.
import { checkCaa, isIssuerDomainName } from './caa.js';
import { VaResolver } from './dns.js';
import { validateDns01 } from './dns01.js';
import { validateHttp01 } from './http01.js';
import { ipTarget, type IpTarget } from './ip.js';
import { validateTlsAlpn01 } from './tlsalpn01.js';
import {
  ACME_ERROR_PREFIX, Deadline, ValidationError,
  type CaaRequest, type CaaResult, type VAConfig, type ValidationRecord, type ValidationRequest, type ValidationResult, type Validator,
} from './types.js';

export type { CaaRequest, CaaResult, ChallengeType, VAConfig, ValidationRecord, ValidationRequest, ValidationResult, Validator } from './types.js';
export { dns01Digest } from './dns01.js';
export { ACME_TLS_ALPN, ID_PE_ACME_IDENTIFIER } from './tlsalpn01.js';

export const DEFAULT_VALIDATION_TIMEOUT_MS = 10_000;

const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export class ValidationAuthority implements Validator {
  private readonly resolver: VaResolver;
  private readonly timeoutMs: number;
  private readonly caaIdentities: readonly string[];

  constructor(private readonly config: VAConfig) {
    for (const key of ['httpPort', 'tlsPort'] as const) {
      const port = config[key];
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`VAConfig.${key} must be a TCP port (1-65535), got ${port}`);
    }
    this.timeoutMs = config.timeoutMs ?? DEFAULT_VALIDATION_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError(`VAConfig.timeoutMs must be a positive number of milliseconds, got ${config.timeoutMs}`);
    this.caaIdentities = config.caaIdentities ?? [];
    const badIdentity = this.caaIdentities.find((id) => !isIssuerDomainName(id));
    if (badIdentity !== undefined) throw new RangeError(`VAConfig.caaIdentities: ${JSON.stringify(badIdentity)} is not an issuer domain name (RFC 8659 §4.2)`);
    this.resolver = new VaResolver(config.dnsServer, this.timeoutMs);
  }

  async validate(req: ValidationRequest): Promise<ValidationResult> {
    const records: ValidationRecord[] = [];
    try {
      const ip = identifierOf(req.domain, 'Cannot validate');
      if (!TOKEN.test(req.token)) throw new ValidationError('malformed', `Cannot validate: challenge token ${JSON.stringify(req.token)} is not base64url`);
      if (ip && req.type === 'dns-01') throw new ValidationError('malformed', `Cannot validate ${req.domain} with dns-01: an IP address identifier is validated with http-01 or tls-alpn-01 only (RFC 8738 §7)`);
      if (ip && req.wildcard) throw new ValidationError('malformed', `Cannot validate ${req.domain}: an IP address identifier cannot be a wildcard`);
      const deadline = new Deadline(this.timeoutMs);
      // CAA for this method runs alongside the challenge (as Boulder's does), so it adds no latency; a failed
      // challenge is reported first. Settled here so an unread failure is not an unhandled rejection.
      // CAA is checked for dNSNames only (BR 3.2.2.8; RFC 8659 defines it for domain names): not for an address.
      const caa = ip ? Promise.resolve(undefined) : checkCaa(this.resolver, { domain: req.domain, wildcard: req.wildcard, accountUri: req.accountUri, validationMethod: req.type }, this.caaIdentities, deadline)
        .then(() => undefined, (err: unknown) => err);
      switch (req.type) {
        case 'http-01':
          await validateHttp01(req, this.config, this.resolver, deadline, records, ip);
          break;
        case 'dns-01':
          await validateDns01(req, this.resolver, deadline, records);
          break;
        case 'tls-alpn-01':
          await validateTlsAlpn01(req, this.config.tlsPort, this.resolver, deadline, records, ip);
          break;
        default:
          throw new ValidationError('malformed', `Unsupported challenge type ${JSON.stringify((req as { type: unknown }).type)}`);
      }
      const caaError = await caa;
      if (caaError !== undefined) throw caaError;
      return { ok: true, records };
    } catch (err) {
      return { ok: false, problem: toProblem(err), records };
    }
  }

  /** CAA alone, for the RA's recheck at finalize of an authorization validated long ago. */
  async checkCaa(req: CaaRequest): Promise<CaaResult> {
    try {
      // CAA is checked for dNSNames only (BR 3.2.2.8; RFC 8659 defines it for domain names): an address always passes.
      if (identifierOf(req.domain, 'Cannot check CAA for')) return { ok: true };
      await checkCaa(this.resolver, req, this.caaIdentities, new Deadline(this.timeoutMs));
      return { ok: true };
    } catch (err) {
      return { ok: false, problem: toProblem(err) };
    }
  }

  async close(): Promise<void> {
    this.resolver.cancel();
  }
}

/** The IP address the name is (undefined for a DNS name); throws `malformed` for anything that is neither. */
function identifierOf(name: string, action: string): IpTarget | undefined {
  let ip: IpTarget | undefined;
  try {
    ip = ipTarget(name);
  } catch (err) {
    throw new ValidationError('malformed', `${action} ${(err as Error).message}`);
  }
  if (!ip && !DNS_NAME.test(name)) throw new ValidationError('malformed', `${action} ${JSON.stringify(name)}: not an ASCII DNS name or an IP address`);
  return ip;
}

function toProblem(err: unknown): { type: string; detail: string } {
  return err instanceof ValidationError
    ? { type: ACME_ERROR_PREFIX + err.kind, detail: err.message }
    : { type: `${ACME_ERROR_PREFIX}serverInternal`, detail: `Validation failed on the server's side: ${(err as Error)?.message ?? String(err)}` };
}
