// revokeCert (RFC 8555 §7.6): by the account that ordered the certificate, by an account holding valid
// authorizations for all its names, or by a request signed with the certificate's own key.
import { timingSafeEqual } from 'node:crypto';
import type { JWK } from 'jose';
import { AcmeProblem, type Account } from '../core/index.js';
import { x509 } from '../issuer/index.js';
import { spkiOfJwk } from './accounts.js';
import type { RaContext } from './context.js';
import { observeRevocation } from '../core/metrics.js';

/** RFC 5280 reason codes a subscriber may ask for (BR 4.9.1.1; privilegeWithdrawn and others are the CA's). */
const SUBSCRIBER_REASONS = new Set([0, 1, 3, 4, 5]);

export class Revocation {
  constructor(private readonly ctx: RaContext) {}

  /** RFC 8555 §7.6: an account with valid authorizations for every name in the certificate may revoke it too. */
  private async holdsAuthorizationsFor(account: Account, cert: x509.X509Certificate): Promise<boolean> {
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const names = san?.names.items.map((n) => n.value.toLowerCase()) ?? [];
    if (names.length === 0) return false;
    const held = await this.ctx.sa.validAuthorizations(account.id, [...new Set(names.map((n) => n.replace(/^\*\./, '')))], this.ctx.clock.now());
    const proven = new Set(held.map((a) => (a.wildcard ? `*.${a.value}` : a.value)));
    return names.every((name) => proven.has(name));
  }

  async revoke(request: { certDer: Buffer; reason: unknown; account?: Account; signerJwk?: JWK }): Promise<void> {
    const reason = request.reason ?? 0;
    if (typeof reason !== 'number' || !Number.isInteger(reason) || !SUBSCRIBER_REASONS.has(reason)) {
      throw new AcmeProblem('badRevocationReason', `reason ${JSON.stringify(reason)} is not accepted; use one of ${[...SUBSCRIBER_REASONS].join(', ')}`);
    }
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(request.certDer);
    } catch {
      throw new AcmeProblem('malformed', 'payload.certificate is not a DER-encoded certificate');
    }
    const record = await this.ctx.sa.getCertificateBySerial(cert.serialNumber.toLowerCase());
    const storedDer = record ? Buffer.from(new x509.X509Certificate(record.pem).rawData) : undefined;
    if (!record || !storedDer || storedDer.length !== request.certDer.length || !timingSafeEqual(storedDer, request.certDer)) {
      throw new AcmeProblem('malformed', 'this certificate was not issued by this CA', { status: 404 });
    }
    if (request.account) {
      if (request.account.id !== record.accountId && !(await this.holdsAuthorizationsFor(request.account, cert))) {
        throw new AcmeProblem(
          'unauthorized',
          'this account neither ordered the certificate nor holds valid authorizations for all its names; sign the request with the certificate key instead',
        );
      }
    } else if (request.signerJwk) {
      if (Buffer.compare(spkiOfJwk(request.signerJwk), Buffer.from(cert.publicKey.rawData)) !== 0) {
        throw new AcmeProblem('unauthorized', 'the request is signed by a key that is neither the ordering account key nor the certificate key');
      }
    } else {
      throw new AcmeProblem('unauthorized', 'revocation requires an account or the certificate key');
    }
    if (record.revokedAt !== undefined || !(await this.ctx.sa.revokeCertificate(record.serial, reason, this.ctx.clock.now()))) {
      throw new AcmeProblem('alreadyRevoked', 'the certificate is already revoked');
    }
    observeRevocation(reason);
  }
}
