// Issued certificates as subscribers fetch them: the leaf with each of its issuer's chains.
import type { CertificateRecord } from '../core/index.js';
import type { IssuerChain } from '../issuer/index.js';
import type { RaContext } from './context.js';

export class Certificates {
  constructor(private readonly ctx: RaContext) {}

  get(id: string): Promise<CertificateRecord | undefined> {
    return this.ctx.sa.getCertificate(id);
  }

  /** The issuer by name, retired ones included (their leaves still need chains). */
  issuer(name: string): IssuerChain | undefined {
    return this.ctx.hierarchy.issuers.find((i) => i.name === name);
  }

  /** The PEM chains for a certificate: [default, ...alternates]. */
  chainsFor(record: CertificateRecord): string[] {
    const chain = this.issuer(record.issuerName);
    if (!chain) throw new Error(`certificate ${record.serial} names issuer "${record.issuerName}", which is not configured (keep retired issuers with active: false)`);
    return chain.chainsPem.map((rest) => record.pem + rest);
  }
}
