// ACME Renewal Information (RFC 9773): the suggested renewal window of a certificate, and `replaces` in newOrder.
// A certificate is named by base64url(AKI keyIdentifier) "." base64url(serial's DER content bytes). The window sits
// at 2/3 of the lifetime (1/2 below ten days) and is shifted per certificate by a hash of its serial, so that
// certificates issued together do not all renew together. A certificate selected by an incident, or revoked, gets a
// window wholly in the past: its client renews at once.
import { createHash } from 'node:crypto';
import { subjectKeyIdentifierOfCertificate } from '@cobble/pki';
import { AcmeProblem, type Account, type CertificateRecord, type Identifier, type Order } from '../core/index.js';
import { x509 } from '../issuer/index.js';
import { IncidentStore, namesKey } from '../sa/incidents.js';
import type { RaContext } from './context.js';

const DAY = 86_400_000;
/** How often clients are asked to check again: six hours, as Let's Encrypt does (RFC 9773 §4.3.1). */
export const RETRY_AFTER_SECONDS = 6 * 3600;

export interface RenewalWindow {
  start: number;
  end: number;
}

export interface RenewalInfoResult {
  suggestedWindow: RenewalWindow;
  explanationURL?: string;
  retryAfterSeconds: number;
}

/** An INTEGER's DER content bytes for a serial in hex (a leading zero byte when the top bit is set). */
export function serialDerBytes(serialHex: string): Buffer {
  let bytes = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
  return bytes[0]! >= 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

/** The lower-case hex the SA keys serials by, from DER content bytes. */
function serialHexOf(der: Buffer): string {
  let bytes = der;
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return bytes.toString('hex');
}

/** RFC 9773 §4.1: the unique identifier of a certificate, from its issuer's key identifier and its serial. */
export function certificateId(authorityKeyId: Uint8Array, serialHex: string): string {
  return `${Buffer.from(authorityKeyId).toString('base64url')}.${serialDerBytes(serialHex).toString('base64url')}`;
}

/** Splits a certificate ID; a malformed one is the client's mistake. */
export function parseCertificateId(id: string): { keyId: string; serial: string } {
  const parts = id.split('.');
  if (parts.length !== 2 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) {
    throw new AcmeProblem('malformed', `${JSON.stringify(id)} is not an RFC 9773 certificate ID (base64url(AKI keyIdentifier) "." base64url(serial), no padding)`);
  }
  const serial = Buffer.from(parts[1]!, 'base64url');
  if (serial.length === 0 || serial.length > 32 || (serial[0]! & 0x80) !== 0) throw new AcmeProblem('malformed', `the serial part of ${JSON.stringify(id)} is not a positive DER INTEGER`);
  return { keyId: Buffer.from(parts[0]!, 'base64url').toString('hex'), serial: serialHexOf(serial) };
}

/** The computed window: centred at 2/3 of the lifetime (1/2 below ten days), 1/45 of it wide, shifted by jitter. */
export function suggestedWindow(cert: Pick<CertificateRecord, 'serial' | 'notBefore' | 'notAfter'>): RenewalWindow {
  // notAfter is the last second of validity (RFC 5280 §4.1.2.5).
  const lifetime = cert.notAfter - cert.notBefore + 1000;
  const ideal = cert.notBefore + (lifetime < 10 * DAY ? lifetime / 2 : (lifetime * 2) / 3);
  const width = lifetime / 45;
  // Deterministic per certificate: the same answer on every request and every server, spread across certificates.
  const jitter = createHash('sha256').update(cert.serial).digest().readUInt32BE(0) / 2 ** 32 - 0.5;
  const start = Math.floor((ideal - width / 2 + jitter * width) / 1000) * 1000;
  return { start, end: Math.max(start + 1000, Math.floor((ideal + width / 2 + jitter * width) / 1000) * 1000) };
}

/** A window wholly in the past (as Boulder's RenewalInfoImmediately): renew now. */
export function immediateWindow(now: number): RenewalWindow {
  const start = Math.floor((now - 3_600_000) / 1000) * 1000;
  return { start, end: start + 1_800_000 };
}

function sanNames(pem: string): string[] {
  const san = new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension);
  return san?.names.items.map((n) => n.value.toLowerCase()) ?? [];
}

export class RenewalInfo {
  readonly store: IncidentStore;
  /** Hex key identifier of each issuing certificate → issuer name. */
  private readonly issuerByKeyId = new Map<string, string>();

  constructor(private readonly ctx: RaContext) {
    this.store = new IncidentStore(ctx.sa.db);
    for (const chain of ctx.hierarchy.issuers) {
      const ski = subjectKeyIdentifierOfCertificate(new Uint8Array(chain.intermediate.cert.rawData));
      if (ski) this.issuerByKeyId.set(Buffer.from(ski).toString('hex'), chain.name);
    }
  }

  /** The certificate an ID names, if this CA issued it under the issuer the ID's key identifier names. */
  private async lookup(id: string): Promise<CertificateRecord | undefined> {
    const { keyId, serial } = parseCertificateId(id);
    const issuer = this.issuerByKeyId.get(keyId);
    const record = issuer === undefined ? undefined : await this.ctx.sa.getCertificateBySerial(serial);
    return record?.issuerName === issuer ? record : undefined;
  }

  /** RFC 9773 §4.2: the RenewalInfo object for a certificate ID; 404 for a certificate this CA does not know. */
  async get(id: string): Promise<RenewalInfoResult> {
    const record = await this.lookup(id);
    if (!record) throw new AcmeProblem('malformed', `no certificate issued by this CA has the ID ${id}`, { status: 404 });
    const now = this.ctx.clock.now();
    const result = (window: RenewalWindow, explanationURL?: string): RenewalInfoResult => ({
      suggestedWindow: window,
      ...(explanationURL ? { explanationURL } : {}),
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
    const override = await this.store.windowOverride(record.serial);
    if (override) return result(override, override.explanationUrl);
    const incident = await this.store.incidentOf(record.serial);
    if (incident) return result(immediateWindow(now), incident.explanationUrl);
    if (record.revokedAt !== undefined) return result(immediateWindow(now));
    return result(suggestedWindow(record));
  }

  /**
   * RFC 9773 §5: checks `replaces` of a new order — the certificate exists, was ordered by the same account, shares
   * an identifier with the order — and claims it for `orderId`. A certificate already claimed by an order that is not
   * invalid is `alreadyReplaced` (409). Returns the replaced certificate's serial (undefined without `replaces`).
   */
  async claim(account: Account, identifiers: readonly Identifier[], replaces: unknown, orderId: string, now: number): Promise<string | undefined> {
    if (replaces === undefined) return undefined;
    if (typeof replaces !== 'string') throw new AcmeProblem('malformed', '"replaces" must be a string: the RFC 9773 certificate ID of the certificate this order replaces');
    const record = await this.lookup(replaces);
    if (!record) throw new AcmeProblem('malformed', `"replaces" names no certificate issued by this CA (${replaces})`);
    if (record.accountId !== account.id) throw new AcmeProblem('unauthorized', 'the certificate named in "replaces" was ordered by another account');
    const names = new Set(sanNames(record.pem));
    if (!identifiers.some((i) => names.has(i.value.toLowerCase()))) {
      throw new AcmeProblem('malformed', 'the order shares no identifier with the certificate named in "replaces"');
    }
    const alreadyReplaced = () => new AcmeProblem('alreadyReplaced', `the certificate ${replaces} is already being replaced by another order`);
    // Two tries: a competing claim can be released (its order failed to be created) between our insert and read.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.store.claimReplacement(record.serial, orderId, account.id, now)) return record.serial;
      const holder = await this.store.replacingOrder(record.serial);
      if (holder === undefined) continue;
      const holding = await this.ctx.sa.getOrder(holder, now);
      if (holding && holding.status !== 'invalid') throw alreadyReplaced();
      if (await this.store.takeOverReplacement(record.serial, holder, orderId, account.id, now)) return record.serial;
    }
    throw alreadyReplaced();
  }

  release(serial: string, orderId: string): Promise<void> {
    return this.store.releaseReplacement(serial, orderId);
  }

  /** After issuance: the incident certificates the new one replaces (by `replaces`, or the same names) are replaced. */
  async noteIssued(order: Order, record: CertificateRecord): Promise<void> {
    const replacesSerial = order.replaces === undefined ? undefined : parseCertificateId(order.replaces).serial;
    await this.store.noteIssued({ serial: record.serial, namesKey: namesKey(order.identifiers), notBefore: record.notBefore, replacesSerial }, this.ctx.clock.now());
  }
}
