// DNS lookups for the VA: one c-ares resolver per VA, pointed at the configured server, bounded by the validation deadline.
import { promises as dnsPromises, type CaaRecord } from 'node:dns';
import { Deadline, ValidationError } from './types.js';

export interface ResolvedAddresses {
  v4: string[];
  v6: string[];
}

// Codes that mean "the name has no records of this type", not "the lookup failed".
const NO_DATA = new Set(['ENODATA', 'ENOTFOUND']);

export class VaResolver {
  private readonly resolver: dnsPromises.Resolver;
  private readonly serverLabel: string;

  constructor(server: string | undefined, timeoutMs: number) {
    // c-ares retries on its own; keep each try short so a lost UDP packet costs little of the validation budget.
    this.resolver = new dnsPromises.Resolver({ timeout: Math.max(200, Math.min(2000, Math.floor(timeoutMs / 3))), tries: 3 });
    if (server) this.resolver.setServers([server]);
    this.serverLabel = server ?? this.resolver.getServers().join(', ');
  }

  cancel(): void {
    this.resolver.cancel();
  }

  /** A and AAAA together; throws a `dns` problem when neither yields an address. */
  async addresses(hostname: string, deadline: Deadline): Promise<ResolvedAddresses> {
    const [a, aaaa] = await Promise.allSettled([
      this.bounded(this.resolver.resolve4(hostname), deadline, 'A', hostname),
      this.bounded(this.resolver.resolve6(hostname), deadline, 'AAAA', hostname),
    ]);
    const v4 = a.status === 'fulfilled' ? a.value : [];
    const v6 = aaaa.status === 'fulfilled' ? aaaa.value : [];
    if (v4.length > 0 || v6.length > 0) return { v4, v6 };
    // Report a real failure (timeout, SERVFAIL, NXDOMAIN) before the generic "no addresses".
    for (const [result, type] of [[a, 'A'], [aaaa, 'AAAA']] as const) {
      if (result.status === 'rejected') {
        const err = result.reason as NodeJS.ErrnoException;
        if (err instanceof ValidationError) throw err;
        if (err.code !== 'ENODATA') throw this.problem(err, type, hostname);
      }
    }
    throw new ValidationError('dns', `No valid IP addresses found for ${hostname} (no A or AAAA records at DNS server ${this.serverLabel})`);
  }

  /** TXT records at `name`, each record's strings joined; [] when the name has no TXT records. */
  async txt(name: string, deadline: Deadline): Promise<string[]> {
    const records = await this.orEmpty(this.resolver.resolveTxt(name), deadline, 'TXT', name);
    return records.map((chunks) => chunks.join(''));
  }

  /**
   * CAA records at `name` as c-ares reports them (CNAMEs followed by the recursive resolver); [] for NODATA and
   * NXDOMAIN. Every other outcome (SERVFAIL, incl. DNSSEC-bogus, REFUSED, timeout) throws a `dns` problem.
   */
  caa(name: string, deadline: Deadline): Promise<CaaRecord[]> {
    return this.orEmpty(this.resolver.resolveCaa(name), deadline, 'CAA', name);
  }

  private async orEmpty<T>(query: Promise<T[]>, deadline: Deadline, type: string, name: string): Promise<T[]> {
    try {
      return await this.bounded(query, deadline, type, name);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      if (NO_DATA.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw this.problem(err as NodeJS.ErrnoException, type, name);
    }
  }

  private bounded<T>(query: Promise<T>, deadline: Deadline, type: string, name: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ValidationError('dns', `DNS problem: query timed out looking up ${type} for ${name} at DNS server ${this.serverLabel}`)),
        deadline.remaining(),
      );
    });
    return Promise.race([query, timeout]).finally(() => clearTimeout(timer));
  }

  private problem(err: NodeJS.ErrnoException, type: string, name: string): ValidationError {
    const at = `at DNS server ${this.serverLabel}`;
    switch (err.code) {
      case 'ENOTFOUND':
        return new ValidationError('dns', `DNS problem: NXDOMAIN looking up ${type} for ${name} ${at} - check that a DNS record exists for this domain`);
      case 'ETIMEOUT':
        return new ValidationError('dns', `DNS problem: query timed out looking up ${type} for ${name} ${at}`);
      case 'ESERVFAIL':
        return new ValidationError('dns', `DNS problem: SERVFAIL looking up ${type} for ${name} ${at} - the domain's nameservers may be malfunctioning`);
      case 'EREFUSED':
        return new ValidationError('dns', `DNS problem: REFUSED looking up ${type} for ${name} ${at} - the nameserver refused to answer`);
      case 'ECONNREFUSED':
        return new ValidationError('dns', `DNS problem: could not reach DNS server ${this.serverLabel} looking up ${type} for ${name}`);
      default:
        return new ValidationError('dns', `DNS problem: ${err.code ?? err.message} looking up ${type} for ${name} ${at}`);
    }
  }
}
