// CRLs for the URLs named in leaves' CRL distribution points: one full CRL per issuing intermediate, built on demand
// through @cobble/pki's lint-then-sign and cached until a revocation changes it (or an hour passes).
// Sharding, scheduled updates and storage (Boulder's crl-updater/crl-storer) are a later step.
import { CRL_REASONS, issueCrl, type CrlReasonName } from '@cobble/pki';
import type { IssuerChain } from '../issuer/index.js';
import type { StorageAuthority } from '../sa/index.js';
import type { Clock } from '../core/clock.js';

const REFRESH_MS = 3_600_000;
/** BR 4.9.7: a subscriber CRL's nextUpdate is at most ten days after thisUpdate. */
const VALIDITY_MS = 7 * 86_400_000;

const REASON_NAMES = new Map<number, CrlReasonName>(Object.entries(CRL_REASONS).map(([name, code]) => [code, name as CrlReasonName]));

interface Cached {
  der: Buffer;
  builtAt: number;
  stamp: string;
}

export class CrlPublisher {
  private readonly cache = new Map<string, Cached>();
  private readonly building = new Map<string, Promise<Cached>>();

  constructor(
    private readonly sa: StorageAuthority,
    private readonly clock: Clock,
  ) {}

  /** The current DER CRL for `chain`, whose leaves name `url` as their distribution point. */
  async crlFor(chain: IssuerChain, url: string): Promise<Buffer> {
    const now = this.clock.now();
    const stamp = await this.sa.revocationStamp(chain.name);
    const cached = this.cache.get(chain.name);
    if (cached && cached.stamp === stamp && now - cached.builtAt < REFRESH_MS) return cached.der;
    let pending = this.building.get(chain.name);
    if (!pending) {
      pending = this.build(chain, url, stamp).finally(() => this.building.delete(chain.name));
      this.building.set(chain.name, pending);
    }
    const built = await pending;
    this.cache.set(chain.name, built);
    return built.der;
  }

  private async build(chain: IssuerChain, url: string, stamp: string): Promise<Cached> {
    const now = this.clock.now();
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000);
    const revoked = await this.sa.listRevoked(chain.name, now);
    const crl = await issueCrl(
      {
        thisUpdate,
        nextUpdate: new Date(thisUpdate.getTime() + VALIDITY_MS),
        // Seconds since the epoch: increases with every CRL this issuer signs, across restarts.
        number: Math.floor(now / 1000),
        entries: revoked.map((r) => ({
          serialNumber: Buffer.from(r.serial, 'hex'),
          revocationDate: new Date(Math.floor(r.revokedAt / 1000) * 1000),
          reason: REASON_NAMES.get(r.reason),
        })),
        kind: 'subscriber',
        distributionPointUrl: url,
      },
      chain.signer,
      { issuerCertificate: new Uint8Array(chain.intermediate.cert.rawData) },
    );
    return { der: Buffer.from(crl.der), builtAt: now, stamp };
  }
}
