// Registration authority: the decisions. Accounts, orders, authorizations, challenges, finalize, revocation. It asks
// the policy module what is allowed, the VA to prove control, the issuer to sign and the SA to remember.
import { createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import {
  AcmeProblem,
  newId,
  randomPooled,
  type Account,
  type Authorization,
  type CertificateRecord,
  type Challenge,
  type ChallengeType,
  type ErrorJson,
  type Order,
} from '../core/index.js';
import { issueLeaf, newSerial, x509, type Hierarchy, type IssuerChain } from '../issuer/index.js';
import { toPem } from '@cobble/pki';
import { checkOrderIdentifiers, checkSubscriberKey } from '../policy/index.js';
import type { StorageAuthority } from '../sa/index.js';
import { parseCsr } from './csr.js';
import type { ValidationRequest, ValidationResult } from '../va/index.js';

export interface Validator {
  validate(req: ValidationRequest): Promise<ValidationResult>;
}

export interface RaConfig {
  orderLifetimeMs: number;
  authorizationLifetimeMs: number;
  validityDays: number;
  maxNames: number;
  challengeWaitMs: number;
  /** Base URL (no trailing slash) of the plain-HTTP AIA/CRL endpoints named in leaves. */
  urlBase: () => string;
}

/** RFC 5280 reason codes a subscriber may ask for (BR 4.9.1.1; privilegeWithdrawn and others are the CA's). */
const SUBSCRIBER_REASONS = new Set([0, 1, 3, 4, 5]);
const MAX_CONTACTS = 10;
/** Off the event loop (libuv thread pool), like the signing. */
const verifyAsync = promisify(verify);
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function checkContacts(contact: unknown): string[] {
  if (contact === undefined) return [];
  if (!Array.isArray(contact)) throw new AcmeProblem('malformed', 'contact must be an array of URIs');
  if (contact.length > MAX_CONTACTS) throw new AcmeProblem('invalidContact', `at most ${MAX_CONTACTS} contacts are accepted`);
  for (const entry of contact) {
    if (typeof entry !== 'string') throw new AcmeProblem('malformed', 'each contact must be a string URI');
    if (!entry.startsWith('mailto:')) {
      throw new AcmeProblem('unsupportedContact', `contact "${entry}" is not supported; only mailto: URIs are`);
    }
    const address = entry.slice('mailto:'.length);
    if (address.includes('?') || address.includes(',')) {
      throw new AcmeProblem('invalidContact', `contact "${entry}": one address per mailto: URI and no header fields`);
    }
    if (!EMAIL.test(address)) throw new AcmeProblem('invalidContact', `contact "${entry}" is not a valid email address`);
  }
  return contact as string[];
}

/** Resolves when `work` settles or after `ms`, whichever is first; the timer does not outlive the wait. */
async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))]);
  } finally {
    clearTimeout(timer);
  }
}

const spkiCache = new Map<string, Buffer>();
/** SPKI DER of an account key; cached by thumbprint, since finalize compares it with every CSR key. */
function spkiOfAccount(account: Account): Buffer {
  let spki = spkiCache.get(account.thumbprint);
  if (!spki) {
    spki = spkiOfJwk(account.jwk as JWK);
    spkiCache.set(account.thumbprint, spki);
    if (spkiCache.size > 10_000) spkiCache.delete(spkiCache.keys().next().value as string);
  }
  return spki;
}

function spkiOfJwk(jwk: JWK): Buffer {
  return createPublicKey({ key: jwk as any, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

export function keyAuthorization(token: string, accountThumbprint: string): string {
  return `${token}.${accountThumbprint}`;
}

export class RegistrationAuthority {
  /** Validations in flight, so close() can wait for them instead of cutting a database write short. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly sa: StorageAuthority,
    private readonly va: Validator,
    private readonly hierarchy: Hierarchy,
    private readonly config: RaConfig,
  ) {}

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  // ---- accounts ----

  async getAccount(id: string): Promise<Account | undefined> {
    return this.sa.getAccount(id);
  }

  async findAccountByKey(thumbprint: string): Promise<Account | undefined> {
    return this.sa.getAccountByThumbprint(thumbprint);
  }

  /** Creates an account, or returns the existing one for the same key (RFC 8555 §7.3.1). */
  async newAccount(request: {
    jwk: JWK;
    thumbprint: string;
    contact: unknown;
    termsAgreed: boolean;
    externalAccountBinding?: Record<string, unknown>;
  }): Promise<{ account: Account; created: boolean }> {
    const existing = await this.sa.getAccountByThumbprint(request.thumbprint);
    if (existing) return { account: existing, created: false };
    const account: Account = {
      id: newId(),
      jwk: request.jwk as Record<string, unknown>,
      thumbprint: request.thumbprint,
      status: 'valid',
      contact: checkContacts(request.contact),
      termsAgreed: request.termsAgreed,
      externalAccountBinding: request.externalAccountBinding,
      createdAt: Date.now(),
    };
    if ((await this.sa.createAccount(account)) === 'exists') {
      // Two concurrent newAccount requests with one key: the other one won; return its account.
      const winner = await this.sa.getAccountByThumbprint(request.thumbprint);
      if (winner) return { account: winner, created: false };
    }
    return { account, created: true };
  }

  async updateAccount(account: Account, update: { contact?: unknown; status?: unknown; termsOfServiceAgreed?: unknown }): Promise<Account> {
    if (update.status !== undefined && update.status !== 'deactivated') {
      throw new AcmeProblem('malformed', `an account's status can only be set to "deactivated", not ${JSON.stringify(update.status)}`);
    }
    const changes: { contact?: string[]; status?: 'deactivated'; termsAgreed?: boolean } = {};
    if (update.contact !== undefined) changes.contact = checkContacts(update.contact);
    if (update.status === 'deactivated') changes.status = 'deactivated';
    if (update.termsOfServiceAgreed === true) changes.termsAgreed = true;
    await this.sa.updateAccount(account.id, changes);
    return (await this.sa.getAccount(account.id))!;
  }

  /** Key rollover (RFC 8555 §7.3.5). Returns the other account's ID when the new key is already in use. */
  async changeKey(account: Account, newJwk: JWK): Promise<{ account: Account } | { conflictAccountId: string }> {
    const thumbprint = await calculateJwkThumbprint(newJwk, 'sha256');
    if (thumbprint === account.thumbprint) throw new AcmeProblem('malformed', 'the new key is the same as the current account key');
    const holder = await this.sa.getAccountByThumbprint(thumbprint);
    if (holder) return { conflictAccountId: holder.id };
    const publicJwk = publicPart(newJwk);
    if ((await this.sa.updateAccountKey(account.id, publicJwk, thumbprint)) === 'conflict') {
      const winner = await this.sa.getAccountByThumbprint(thumbprint);
      return { conflictAccountId: winner?.id ?? account.id };
    }
    return { account: (await this.sa.getAccount(account.id))! };
  }

  // ---- orders ----

  async newOrder(account: Account, request: { identifiers: unknown; notBefore?: unknown; notAfter?: unknown }): Promise<Order> {
    const identifiers = checkOrderIdentifiers(request.identifiers as never, this.config.maxNames);
    const now = Date.now();
    const { notBefore, notAfter } = this.checkValidityRequest(request.notBefore, request.notAfter, now);
    const authzExpires = now + this.config.authorizationLifetimeMs;
    const authorizations = identifiers.map((identifier) => {
      const wildcard = identifier.value.startsWith('*.');
      const authzId = newId();
      // dns-01 is the only way to prove control of a whole subtree (RFC 8555 §7.1.3).
      const types: ChallengeType[] = wildcard ? ['dns-01'] : ['http-01', 'dns-01', 'tls-alpn-01'];
      return {
        authz: {
          id: authzId,
          accountId: account.id,
          identifier: { type: 'dns', value: wildcard ? identifier.value.slice(2) : identifier.value },
          wildcard,
          status: 'pending' as const,
          expires: authzExpires,
          token: randomPooled(32).toString('base64url'),
        },
        challenges: types.map((type, index): Challenge => ({ id: `${index}${newId()}`, authzId, type, status: 'pending' })),
      };
    });
    const order: Order = {
      id: newId(),
      accountId: account.id,
      status: 'pending',
      expires: Math.min(now + this.config.orderLifetimeMs, authzExpires),
      identifiers,
      notBefore,
      notAfter,
      authzIds: authorizations.map((a) => a.authz.id),
      createdAt: now,
    };
    await this.sa.createOrder(order, authorizations);
    return order;
  }

  /** notBefore/notAfter (RFC 8555 §7.4) are honoured within the profile's limits; anything else is refused. */
  private checkValidityRequest(notBeforeIn: unknown, notAfterIn: unknown, now: number): { notBefore?: number; notAfter?: number } {
    const parse = (value: unknown, field: string): number | undefined => {
      if (value === undefined) return undefined;
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(ms)) throw new AcmeProblem('malformed', `${field} must be an RFC 3339 date-time string, got ${JSON.stringify(value)}`);
      return ms;
    };
    const notBefore = parse(notBeforeIn, 'notBefore');
    const notAfter = parse(notAfterIn, 'notAfter');
    if (notBefore === undefined && notAfter === undefined) return {};
    const maxMs = this.config.validityDays * 86_400_000;
    const start = notBefore ?? now;
    const end = notAfter ?? start + maxMs - 1000;
    if (notBefore !== undefined && notBefore < now - 3_600_000) {
      throw new AcmeProblem('malformed', 'notBefore may not be more than one hour in the past (no backdating)');
    }
    if (start > now + this.config.orderLifetimeMs) {
      throw new AcmeProblem('malformed', `notBefore may be at most ${this.config.orderLifetimeMs / 3_600_000} hours in the future`);
    }
    if (end <= start) throw new AcmeProblem('malformed', 'notAfter must be later than notBefore');
    if (end <= now) throw new AcmeProblem('malformed', 'notAfter is in the past');
    if (end - start > maxMs) {
      throw new AcmeProblem('malformed', `the requested validity is longer than the maximum of ${this.config.validityDays} days`);
    }
    return { notBefore: start, notAfter: end };
  }

  async getOrder(id: string): Promise<Order | undefined> {
    return this.sa.getOrder(id);
  }

  async listOrders(accountId: string, limit: number, cursor?: { createdAt: number; id: string }): Promise<{ id: string; createdAt: number }[]> {
    return this.sa.listOrderIds(accountId, limit, cursor);
  }

  // ---- authorizations and challenges ----

  async getAuthorization(id: string): Promise<Authorization | undefined> {
    return this.sa.getAuthorization(id);
  }

  async deactivateAuthorization(authz: Authorization): Promise<Authorization> {
    if (authz.status !== 'pending' && authz.status !== 'valid') {
      throw new AcmeProblem('malformed', `an authorization in status "${authz.status}" cannot be deactivated`);
    }
    await this.sa.deactivateAuthorization(authz.id);
    return (await this.sa.getAuthorization(authz.id))!;
  }

  /**
   * Starts validation of a challenge at once and waits briefly, so a fast validation is already finished when the
   * client first polls. Returns the authorization as it is after that wait.
   */
  async respondToChallenge(account: Account, authz: Authorization, challengeId: string): Promise<Authorization> {
    const challenge = authz.challenges.find((c) => c.id === challengeId);
    if (!challenge) throw new AcmeProblem('malformed', 'no such challenge', { status: 404 });
    if (challenge.status !== 'pending' || authz.status !== 'pending') return authz; // RFC 8555 §7.5.1: idempotent
    if (!(await this.sa.claimChallenge(authz.id, challenge.id))) return (await this.sa.getAuthorization(authz.id))!;
    const validation = this.validate(account, authz, challenge);
    this.inFlight.add(validation);
    void validation.finally(() => this.inFlight.delete(validation));
    if (this.config.challengeWaitMs > 0) await waitAtMost(validation, this.config.challengeWaitMs);
    return (await this.sa.getAuthorization(authz.id))!;
  }

  private async validate(account: Account, authz: Authorization, challenge: Challenge): Promise<void> {
    let result: ValidationResult;
    try {
      result = await this.va.validate({
        type: challenge.type,
        domain: authz.identifier.value,
        token: authz.token,
        keyAuthorization: keyAuthorization(authz.token, account.thumbprint),
      });
    } catch (err) {
      result = { ok: false, problem: { type: 'urn:ietf:params:acme:error:serverInternal', detail: `validation failed: ${(err as Error).message}` }, records: [] };
    }
    const error: ErrorJson | undefined = result.ok
      ? undefined
      : { ...result.problem, status: statusOfType(result.problem.type), identifier: authz.identifier };
    try {
      await this.sa.recordValidation(authz.id, challenge.id, { ok: result.ok, error, records: result.records, at: Date.now() });
    } catch {
      // The database is closing (shutdown); the challenge stays "processing" and the order can be retried.
    }
  }

  // ---- finalize and certificates ----

  async finalizeOrder(account: Account, order: Order, csrB64: unknown): Promise<Order> {
    if (order.status !== 'ready') {
      throw new AcmeProblem('orderNotReady', `the order is "${order.status}", not "ready"; finalize needs every authorization valid`);
    }
    if (typeof csrB64 !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrB64)) {
      throw new AcmeProblem('malformed', 'payload.csr must be the base64url DER of a PKCS#10 CSR');
    }
    const { names, commonName, spki, keyIsRsa } = await this.checkCsr(account, order, Buffer.from(csrB64, 'base64url'));
    const chain = keyIsRsa ? this.hierarchy.rsa : this.hierarchy.ecdsa;
    const validity = this.validityOf(order);
    this.checkIssuerOutlivesLeaf(order, validity.notAfter, chain);
    if (!(await this.sa.beginProcessing(order.id))) {
      throw new AcmeProblem('orderNotReady', 'the order is already being finalized');
    }
    let certificateId: string;
    try {
      const record = await this.issue(account, order, chain, validity, { names, commonName, spki, keyIsRsa });
      await this.sa.storeCertificate(record);
      certificateId = record.id;
    } catch (err) {
      await this.sa.failOrder(order.id, {
        type: 'urn:ietf:params:acme:error:serverInternal',
        detail: 'issuance failed; please create a new order',
        status: 500,
      });
      throw err;
    }
    // What getOrder would read back: a stored certificate makes the order valid (it was ready, so it has no error).
    return { ...order, status: 'valid', certificateId };
  }

  private async checkCsr(account: Account, order: Order, der: Buffer) {
    const csr = parseCsr(der);
    const { key, spki, isRsa } = checkSubscriberKey(csr.spkiDer);
    let signatureOk = false;
    try {
      signatureOk = await verifyAsync(csr.hash, csr.signed, { key, dsaEncoding: 'der' }, csr.signature);
    } catch {
      signatureOk = false;
    }
    if (!signatureOk) throw new AcmeProblem('badCSR', 'the CSR signature does not verify');
    if (Buffer.compare(spki, spkiOfAccount(account)) === 0) {
      throw new AcmeProblem('badCSR', 'the CSR key must not be the account key');
    }
    const cn = csr.commonNames.map((v) => v.toLowerCase());
    const names = new Set<string>([...cn, ...csr.dnsNames.map((n) => n.toLowerCase())]);
    const ordered = new Set(order.identifiers.map((i) => i.value));
    const extra = [...names].filter((n) => !ordered.has(n));
    const missing = [...ordered].filter((n) => !names.has(n));
    if (extra.length || missing.length) {
      const parts = [];
      if (extra.length) parts.push(`not in the order: ${extra.join(', ')}`);
      if (missing.length) parts.push(`missing from the CSR: ${missing.join(', ')}`);
      throw new AcmeProblem('badCSR', `the CSR's names must be exactly the order's identifiers (${parts.join('; ')})`);
    }
    const sorted = [...ordered].sort();
    const commonName = [cn[0], ...sorted].find((n) => n !== undefined && n.length <= 64);
    const sanOrder = commonName ? [commonName, ...sorted.filter((n) => n !== commonName)] : sorted;
    return { names: sanOrder, commonName, spki, keyIsRsa: isRsa };
  }

  /** The leaf's validity: what the order asked for, else from a minute ago for `validityDays`. */
  private validityOf(order: Order): { notBefore: number; notAfter: number } {
    const notBefore = order.notBefore ?? Date.now() - 60_000;
    // BR validity counts both ends inclusively, hence the second taken off.
    return { notBefore, notAfter: order.notAfter ?? notBefore + this.config.validityDays * 86_400_000 - 1000 };
  }

  /**
   * A leaf must not outlive its issuing certificate. Startup checks a leaf issued then; this catches a server running
   * for weeks towards its intermediate's expiry, and a notBefore requested in the future. Checked before the order is
   * marked processing, so the order stays ready for when the operator has put the successor in place.
   */
  private checkIssuerOutlivesLeaf(order: Order, notAfter: number, chain: IssuerChain): void {
    const expires = chain.intermediate.cert.notAfter.getTime();
    if (notAfter <= expires) return;
    const when = new Date(expires).toISOString();
    if (order.notBefore !== undefined || order.notAfter !== undefined) {
      throw new AcmeProblem('malformed', `the requested validity ends after the ${chain.name} issuing certificate expires (${when}); request an earlier notAfter`);
    }
    throw new AcmeProblem('serverInternal', `the ${chain.name} issuing certificate expires ${when}, before a certificate issued now would; the CA operator must put its successor in place`);
  }

  private async issue(
    account: Account,
    order: Order,
    chain: IssuerChain,
    { notBefore, notAfter }: { notBefore: number; notAfter: number },
    leaf: { names: string[]; commonName?: string; spki: Uint8Array; keyIsRsa: boolean },
  ): Promise<CertificateRecord> {
    let serial = '';
    for (let attempt = 0; attempt < 5 && !serial; attempt++) {
      const candidate = newSerial();
      if (await this.sa.reserveSerial(candidate, account.id, notAfter)) serial = candidate;
    }
    if (!serial) throw new Error('could not reserve a unique serial');
    const base = this.config.urlBase();
    const notBeforeDate = new Date(Math.floor(notBefore / 1000) * 1000);
    const notAfterDate = new Date(Math.floor(notAfter / 1000) * 1000);
    const der = await issueLeaf({
      chain,
      serial,
      names: leaf.names,
      commonName: leaf.commonName,
      spkiDer: leaf.spki,
      keyIsRsa: leaf.keyIsRsa,
      notBefore: notBeforeDate,
      notAfter: notAfterDate,
      aiaIssuerUrl: `${base}/aia/${chain.name}.der`,
      crlUrl: `${base}/crl/${chain.name}.crl`,
    });
    return {
      id: newId(),
      serial,
      accountId: account.id,
      orderId: order.id,
      pem: toPem(der, 'CERTIFICATE'),
      issuerName: chain.name,
      notBefore: notBeforeDate.getTime(),
      notAfter: notAfterDate.getTime(),
    };
  }

  async getCertificate(id: string): Promise<CertificateRecord | undefined> {
    return this.sa.getCertificate(id);
  }

  /** The PEM chains for a certificate: [default, ...alternates]. */
  chainsFor(record: CertificateRecord): string[] {
    const chain = record.issuerName === 'rsa' ? this.hierarchy.rsa : this.hierarchy.ecdsa;
    return chain.chainsPem.map((rest) => record.pem + rest);
  }

  issuerChain(name: string): IssuerChain | undefined {
    return name === 'rsa' ? this.hierarchy.rsa : name === 'ecdsa' ? this.hierarchy.ecdsa : undefined;
  }

  /** RFC 8555 §7.6: an account with valid authorizations for every name in the certificate may revoke it too. */
  private async holdsAuthorizationsFor(account: Account, cert: x509.X509Certificate): Promise<boolean> {
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const names = san?.names.items.map((n) => n.value.toLowerCase()) ?? [];
    if (names.length === 0) return false;
    const held = await this.sa.validAuthorizations(account.id, [...new Set(names.map((n) => n.replace(/^\*\./, '')))], Date.now());
    const proven = new Set(held.map((a) => (a.wildcard ? `*.${a.value}` : a.value)));
    return names.every((name) => proven.has(name));
  }

  /**
   * revokeCert (RFC 8555 §7.6): allowed for the account that ordered the certificate, for an account holding valid
   * authorizations for all its names, or for a request signed by the certificate's own key (`signerJwk`).
   */
  async revokeCertificate(request: { certDer: Buffer; reason: unknown; account?: Account; signerJwk?: JWK }): Promise<void> {
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
    const record = await this.sa.getCertificateBySerial(cert.serialNumber.toLowerCase());
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
    if (record.revokedAt !== undefined || !(await this.sa.revokeCertificate(record.serial, reason, Date.now()))) {
      throw new AcmeProblem('alreadyRevoked', 'the certificate is already revoked');
    }
  }
}

function publicPart(jwk: JWK): Record<string, unknown> {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
}

function statusOfType(type: string): number {
  const kind = type.split(':').pop() ?? '';
  return ({ unauthorized: 403, incorrectResponse: 403, caa: 403, serverInternal: 500 } as Record<string, number>)[kind] ?? 400;
}

export { publicPart };
