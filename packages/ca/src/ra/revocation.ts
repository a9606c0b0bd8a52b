// revokeCert (RFC 8555 §7.6): by the account that ordered the certificate, by an account holding valid
// authorizations for all its names, or by a request signed with the certificate's own key. Reasons per BR 7.2.2;
// keyCompromise only with proof of the key, and then the key is blocked for every later CSR and account.
import { timingSafeEqual } from 'node:crypto';
import type { JWK } from 'jose';
import { AcmeProblem, type Account, type CertificateRecord } from '../core/index.js';
import { x509 } from '../issuer/index.js';
import { spkiSha256 } from '../policy/index.js';
import { CrlStore } from '../sa/crl.js';
import { spkiOfJwk } from './accounts.js';
import type { RaContext } from './context.js';
import { observeRevocation } from '../core/metrics.js';

const REVOCATION_REASONS = {
  unspecified: 0, keyCompromise: 1, affiliationChanged: 3, superseded: 4, cessationOfOperation: 5, privilegeWithdrawn: 9,
} as const;

/**
 * BR 7.2.2 / 4.9.1.1: what a subscriber may ask for. privilegeWithdrawn (9) is the CA's alone; cACompromise,
 * certificateHold and the rest are never used for subscriber certificates.
 */
const SUBSCRIBER_REASONS = new Set<number>([0, 1, 3, 4, 5]);
const KEY_COMPROMISE = REVOCATION_REASONS.keyCompromise;

export class Revocation {
  private readonly crls: CrlStore;

  constructor(private readonly ctx: RaContext) {
    this.crls = new CrlStore(ctx.sa.db);
  }

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
      const ca = reason === REVOCATION_REASONS.privilegeWithdrawn ? ' (privilegeWithdrawn is for the CA to use)' : '';
      throw new AcmeProblem('badRevocationReason', `reason ${JSON.stringify(reason)} is not accepted${ca}; use one of ${[...SUBSCRIBER_REASONS].join(', ')}`);
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
    const certSpki = Buffer.from(cert.publicKey.rawData);
    let provesKey = false;
    if (request.account) {
      if (request.account.id !== record.accountId && !(await this.holdsAuthorizationsFor(request.account, cert))) {
        throw new AcmeProblem(
          'unauthorized',
          'this account neither ordered the certificate nor holds valid authorizations for all its names; sign the request with the certificate key instead',
        );
      }
    } else if (request.signerJwk) {
      if (Buffer.compare(spkiOfJwk(request.signerJwk), certSpki) !== 0) {
        throw new AcmeProblem('unauthorized', 'the request is signed by a key that is neither the ordering account key nor the certificate key');
      }
      provesKey = true;
    } else {
      throw new AcmeProblem('unauthorized', 'revocation requires an account or the certificate key');
    }
    // Anyone can claim a key is compromised; only a request signed with that key proves it (as Boulder requires), and
    // only a proven claim may block the key for everyone.
    if (reason === KEY_COMPROMISE && !provesKey) {
      throw new AcmeProblem('badRevocationReason', 'keyCompromise needs proof of the key: sign the revocation request (JWS with "jwk") with the certificate\'s private key');
    }
    const now = this.ctx.clock.now();
    if (reason === KEY_COMPROMISE) await this.ctx.sa.blockKey(spkiSha256(certSpki), 'key-compromise', now, `revocation of ${record.serial}`);
    if (record.revokedAt === undefined && (await this.ctx.sa.revokeCertificate(record.serial, reason, now))) {
      observeRevocation(reason);
      this.revoked({ ...record, revokedAt: now, revokedReason: reason });
      return;
    }
    // Already revoked: a proven key compromise still upgrades the reason (CRLs and OCSP then say keyCompromise, and
    // relying parties that care distrust it from the original date on), as Boulder does.
    if (reason === KEY_COMPROMISE && (await this.crls.upgradeToKeyCompromise(record.serial))) {
      const current = await this.ctx.sa.getCertificateBySerial(record.serial);
      if (current) this.revoked(current);
      return;
    }
    throw new AcmeProblem('alreadyRevoked', 'the certificate is already revoked');
  }

  private revoked(record: CertificateRecord): void {
    this.ctx.logger.info({ serial: record.serial, reason: record.revokedReason, issuer: record.issuerName }, 'certificate revoked');
    this.ctx.settings.onRevoked?.(record);
  }
}
