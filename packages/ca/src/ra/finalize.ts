// Finalize (RFC 8555 §7.4) as named steps, in the order Boulder takes them:
//   check CSR → check key policy → re-check CAA per name → check rate limits → reserve serial → lint → sign → store.
// The checks before "reserve serial" leave a ready order ready (the client can fix its CSR or wait out a limit),
// except a CAA refusal, which makes the order invalid as in Boulder. From "reserve serial" on the order is
// processing; a failure there makes it invalid with a problem, never leaves it half issued.
import { promisify } from 'node:util';
import { verify } from 'node:crypto';
import type { JWK } from 'jose';
import { LintFailure, toPem } from '@cobble/pki';
import { AcmeProblem, newId, type Account, type CertificateRecord, type Order, type ProblemDocument } from '../core/index.js';
import { issueLeaf, newSerial, selectIssuer, type IssuerChain, type LeafUrls } from '../issuer/index.js';
import { checkSubscriberKey, spkiSha256, type SubscriberKey } from '../policy/index.js';
import { isTransientDatabaseError, type FinalizeAuthorization } from '../sa/index.js';
import { spkiOfJwk } from './accounts.js';
import { ownedBy, type RaContext } from './context.js';
import { parseCsr, type ParsedCsr } from './csr.js';
import type { RenewalInfo } from './ari.js';
import type { Profile } from './profiles.js';
import { certificateTransactions, type Transaction } from './ratelimits/index.js';
import { observeIssuance } from '../core/metrics.js';

/** Off the event loop (libuv thread pool), like the signing. */
const verifyAsync = promisify(verify);
/** Leaves start a minute in the past, so a client whose clock is a little behind can use them at once. */
const BACKDATE_MS = 60_000;

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

interface LeafRequest {
  dnsNames: string[];
  ipAddresses: string[];
  commonName?: string;
}

export class Finalizer {
  constructor(
    private readonly ctx: RaContext,
    private readonly renewalInfo: RenewalInfo,
  ) {}

  async finalize(account: Account, accountUri: string, orderId: string, csrB64: unknown): Promise<Order> {
    const loaded = await this.ctx.sa.getOrderWithAuthorizations(orderId, this.ctx.clock.now());
    const order = ownedBy(loaded?.order, account, 'order');
    if (order.status !== 'ready') {
      throw new AcmeProblem('orderNotReady', `the order is "${order.status}", not "ready"; finalize needs every authorization valid`);
    }
    const profile = this.ctx.profiles.forOrder(order.profile);
    const csr = this.checkCsr(order, csrB64, profile);
    const key = await this.checkKeyPolicy(account, csr);
    await this.recheckCaa(order, loaded!.authorizations, accountUri);
    const certificateLimits = certificateTransactions(order.identifiers);
    // An RFC 9773 replacement is exempt (its certificate still counts: spent below).
    if (order.replaces === undefined) await this.checkRateLimits(certificateLimits);
    const issuer = this.issuerFor(key, profile);
    const validity = this.validityOf(order, profile);
    this.checkIssuerOutlivesLeaf(order, validity.notAfter, issuer);
    if (!(await this.ctx.sa.beginProcessing(order.id, this.ctx.clock.now()))) {
      throw new AcmeProblem('orderNotReady', 'the order is already being finalized');
    }
    let record: CertificateRecord;
    try {
      const serial = await this.reserveSerial(account, validity.notAfter);
      const urls = this.ctx.settings.leafUrls(issuer.name, serial);
      const der = await this.lintAndSign(issuer, urls, serial, validity, key, csr.leaf, profile);
      record = {
        id: newId(),
        serial,
        accountId: account.id,
        orderId: order.id,
        pem: toPem(der, 'CERTIFICATE'),
        issuerName: issuer.name,
        profile: profile.name,
        notBefore: validity.notBefore,
        notAfter: validity.notAfter,
        crlShard: urls.crlShard,
      };
      await this.ctx.sa.storeCertificate(record, { identifiers: order.identifiers, issuedAt: this.ctx.clock.now() });
    } catch (err) {
      // The database went away (restart, failover, killed connection): the order goes back to ready rather than
      // invalid, and the client is told to retry; if even that write fails, the sweeper releases it later.
      if (isTransientDatabaseError(err)) {
        await this.ctx.sa.releaseProcessing(order.id).catch(() => false);
        const problem = new AcmeProblem('serverInternal', 'the database was briefly unavailable; nothing was issued, please finalize again');
        problem.headers = { 'Retry-After': '1' };
        throw problem;
      }
      const lint = err instanceof LintFailure;
      if (lint) this.ctx.logger.error({ order: order.id, findings: err.findings }, 'a leaf failed pre-issuance linting; nothing was signed');
      await this.ctx.sa.failOrder(order.id, {
        type: 'urn:ietf:params:acme:error:serverInternal',
        detail: lint ? 'the certificate failed the CA\'s pre-issuance checks and was not issued; please create a new order' : 'issuance failed; please create a new order',
        status: 500,
      });
      if (lint) throw new AcmeProblem('serverInternal', 'the certificate failed the CA\'s pre-issuance checks and was not issued; the operator has been alerted');
      throw err;
    }
    await this.ctx.limiter.spend(certificateLimits);
    observeIssuance(profile.name, issuer.name);
    // Issued either way; a missed mark only undercounts an incident's replacements.
    await this.renewalInfo.noteIssued(order, record).catch((err: unknown) => this.ctx.logger.error({ err, order: order.id }, 'could not mark the certificates this one replaces'));
    // What getOrder would read back: a stored certificate makes the order valid (it was ready, so it has no error).
    return { ...order, status: 'valid', certificateId: record.id };
  }

  /** Step 1: a well-formed CSR asking for exactly the order's identifiers. */
  private checkCsr(order: Order, csrB64: unknown, profile: Profile): ParsedCsr & { leaf: LeafRequest } {
    if (typeof csrB64 !== 'string' || !/^[A-Za-z0-9_-]+$/.test(csrB64)) {
      throw new AcmeProblem('malformed', 'payload.csr must be the base64url DER of a PKCS#10 CSR');
    }
    const csr = parseCsr(Buffer.from(csrB64, 'base64url'));
    const cn = csr.commonNames.map((v) => v.toLowerCase());
    const requested = new Set<string>([...cn, ...csr.dnsNames.map((n) => n.toLowerCase()), ...csr.ipAddresses]);
    const ordered = new Set(order.identifiers.map((i) => i.value));
    const extra = [...requested].filter((n) => !ordered.has(n));
    const missing = [...ordered].filter((n) => !requested.has(n));
    if (extra.length || missing.length) {
      const parts = [];
      if (extra.length) parts.push(`not in the order: ${extra.join(', ')}`);
      if (missing.length) parts.push(`missing from the CSR: ${missing.join(', ')}`);
      throw new AcmeProblem('badCSR', `the CSR's names must be exactly the order's identifiers (${parts.join('; ')})`);
    }
    const dnsNames = order.identifiers.filter((i) => i.type === 'dns').map((i) => i.value).sort();
    const ipAddresses = order.identifiers.filter((i) => i.type === 'ip').map((i) => i.value);
    // classic: the CSR's CN if it is one of the names, else the first name that fits (RFC 5280: 64 characters).
    const commonName = profile.commonName ? [cn[0], ...dnsNames].find((n) => n !== undefined && dnsNames.includes(n) && n.length <= 64) : undefined;
    const sanOrder = commonName ? [commonName, ...dnsNames.filter((n) => n !== commonName)] : dnsNames;
    return { ...csr, leaf: { dnsNames: sanOrder, ipAddresses, commonName } };
  }

  /**
   * Step 2: the key is one the CA certifies (type, size, no known weakness), is neither blocked nor the account key,
   * and signed the CSR.
   */
  private async checkKeyPolicy(account: Account, csr: ParsedCsr): Promise<SubscriberKey> {
    const key = checkSubscriberKey(csr.spkiDer);
    if (Buffer.compare(key.spki, spkiOfAccount(account)) === 0) {
      throw new AcmeProblem('badCSR', 'the CSR key must not be the account key');
    }
    if (await this.ctx.sa.isKeyBlocked(spkiSha256(key.spki))) {
      throw new AcmeProblem('badPublicKey', 'the CSR key is blocked (it was reported compromised or blocked by the CA); generate a new key');
    }
    let signatureOk = false;
    try {
      signatureOk = await verifyAsync(csr.hash, csr.signed, { key: key.key, dsaEncoding: 'der' }, csr.signature);
    } catch {
      signatureOk = false;
    }
    if (!signatureOk) throw new AcmeProblem('badCSR', 'the CSR signature does not verify');
    return key;
  }

  /**
   * Step 3: CAA again for every name whose validation is older than the recheck window (BR 3.2.2.8), each name on its
   * own and all at once. Refused with one `caa` subproblem per failing name, and the order becomes invalid.
   */
  private async recheckCaa(order: Order, authzs: FinalizeAuthorization[], accountUri: string): Promise<void> {
    const now = this.ctx.clock.now();
    const dns = authzs.filter((a) => a.identifier.type === 'dns'); // RFC 8738 §9: no CAA for IP addresses
    const stale = dns.filter((a) => a.validatedAt === undefined || now - a.validatedAt > this.ctx.settings.caaRecheckAfterMs);
    const outcomes = await Promise.all(stale.map(async (authz) => ({ authz, result: await this.checkCaa(authz, accountUri) })));
    const named = (a: FinalizeAuthorization) => (a.wildcard ? `*.${a.identifier.value}` : a.identifier.value);
    // The 2020 lesson, as an invariant: what was rechecked and what was reused together are the order's names.
    const covered = new Set([...outcomes.map((o) => named(o.authz)), ...dns.filter((a) => !stale.includes(a)).map(named)]);
    const expected = order.identifiers.filter((i) => i.type === 'dns').map((i) => i.value);
    if (covered.size !== expected.length || expected.some((v) => !covered.has(v))) {
      throw new Error(`CAA recheck covered ${[...covered].join(', ')} but the order names ${expected.join(', ')}`);
    }
    this.ctx.logger.info({ order: order.id, rechecked: outcomes.map((o) => named(o.authz)), reused: dns.length - stale.length }, 'CAA rechecked at finalize');
    const failures: ProblemDocument[] = outcomes.flatMap(({ authz, result }) =>
      result.ok ? [] : [{ ...result.problem, status: 403, identifier: { type: 'dns', value: named(authz) } }],
    );
    if (failures.length === 0) return;
    const detail = `CAA forbids or could not confirm issuance for ${failures.map((f) => f.identifier!.value).join(', ')}; see subproblems`;
    await this.ctx.sa.failOrder(order.id, { type: 'urn:ietf:params:acme:error:caa', detail, status: 403, subproblems: failures });
    throw new AcmeProblem('caa', detail, { subproblems: failures });
  }

  private async checkCaa(authz: FinalizeAuthorization, accountUri: string) {
    if (!authz.validationMethod) {
      return { ok: false as const, problem: { type: 'urn:ietf:params:acme:error:caa', detail: `no record of how ${authz.identifier.value} was validated; create a new order` } };
    }
    try {
      return await this.ctx.va.checkCaa({ domain: authz.identifier.value, wildcard: authz.wildcard, accountUri, validationMethod: authz.validationMethod });
    } catch (err) {
      return { ok: false as const, problem: { type: 'urn:ietf:params:acme:error:serverInternal', detail: `CAA recheck failed: ${(err as Error).message}` } };
    }
  }

  /** Step 4: the certificates-per-domain and per-exact-set limits, checked again (other orders may have spent them). */
  private async checkRateLimits(certificateLimits: Transaction[]): Promise<void> {
    await this.ctx.limiter.check(certificateLimits.map(({ mode: _mode, ...decides }) => decides));
  }

  private issuerFor(key: SubscriberKey, profile: Profile): IssuerChain {
    const keyType = key.isRsa ? 'rsa' : 'ecdsa';
    const issuer = selectIssuer(this.ctx.hierarchy, keyType, profile.name);
    if (!issuer) throw new AcmeProblem('badPublicKey', `this CA has no active issuer for ${keyType.toUpperCase()} keys in profile "${profile.name}"; use another key type`);
    return issuer;
  }

  /** What the order asked for, else from a minute ago for the profile's validity (inclusive, hence a second less). */
  private validityOf(order: Order, profile: Profile): { notBefore: number; notAfter: number } {
    const notBefore = Math.floor((order.notBefore ?? this.ctx.clock.now() - BACKDATE_MS) / 1000) * 1000;
    const notAfter = Math.floor((order.notAfter ?? notBefore + profile.validity - 1000) / 1000) * 1000;
    return { notBefore, notAfter };
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

  /** Step 5: a serial recorded before anything is signed with it; the unique key makes a repeat impossible. */
  private async reserveSerial(account: Account, notAfter: number): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const candidate = newSerial();
      if (await this.ctx.sa.reserveSerial(candidate, account.id, notAfter, this.ctx.clock.now())) return candidate;
    }
    throw new Error('could not reserve a unique serial');
  }

  /** Steps 6 and 7: @cobble/pki lints a throwaway-key copy of the exact TBS, then the issuer's key signs it. */
  private lintAndSign(issuer: IssuerChain, urls: LeafUrls, serial: string, validity: { notBefore: number; notAfter: number }, key: SubscriberKey, leaf: LeafRequest, profile: Profile): Promise<Uint8Array> {
    return issueLeaf(issuer, urls, {
      serialNumber: Buffer.from(serial, 'hex'),
      notBefore: new Date(validity.notBefore),
      notAfter: new Date(validity.notAfter),
      publicKey: key.spki,
      dnsNames: leaf.dnsNames,
      ipAddresses: leaf.ipAddresses,
      commonName: leaf.commonName,
      keyEncipherment: profile.keyEncipherment && key.isRsa,
      subjectKeyIdentifier: profile.subjectKeyIdentifier,
    });
  }
}
