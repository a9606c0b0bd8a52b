// Orders (RFC 8555 §7.4): identifiers through domain policy, a profile, the new-order rate limits, and authorizations
// reused from the same account and profile where one is still valid. An order that `replaces` a certificate
// (RFC 9773) is exempt from the rate limits; an account the operator paused gets none.
import { AcmeProblem, newId, randomPooled, type Account, type Challenge, type ChallengeType, type Identifier, type Order } from '../core/index.js';
import { formatDuration } from '../config/duration.js';
import { checkOrderIdentifiers } from '../policy/index.js';
import type { NewAuthorization } from '../sa/index.js';
import type { RenewalInfo } from './ari.js';
import { ownedBy, type RaContext } from './context.js';
import type { Profile } from './profiles.js';
import { newOrderTransactions } from './ratelimits/index.js';

/** How far back a requested notBefore may reach (no backdating beyond clock skew). */
const MAX_BACKDATE_MS = 3_600_000;

/** The challenges offered for an identifier: dns-01 alone proves a subtree; an IP address has no DNS (RFC 8738 §7). */
function challengeTypes(identifier: Identifier): ChallengeType[] {
  if (identifier.type === 'ip') return ['http-01', 'tls-alpn-01'];
  return identifier.value.startsWith('*.') ? ['dns-01'] : ['http-01', 'dns-01', 'tls-alpn-01'];
}

export class Orders {
  constructor(
    private readonly ctx: RaContext,
    private readonly renewalInfo: RenewalInfo,
  ) {}

  async create(account: Account, request: { identifiers?: unknown; notBefore?: unknown; notAfter?: unknown; profile?: unknown; replaces?: unknown }): Promise<Order> {
    if (await this.renewalInfo.store.isPaused(account.id)) {
      throw new AcmeProblem('unauthorized', 'this account is paused by the CA operator and may not create new orders; contact the CA');
    }
    const profile = this.ctx.profiles.select(request.profile);
    const identifiers = checkOrderIdentifiers(request.identifiers as Identifier[], {
      maxNames: profile.maxNames,
      allowIpIdentifiers: profile.identifierTypes.includes('ip'),
      blockedNames: this.ctx.settings.blockedNames,
      blockedSuffixes: this.ctx.settings.blockedSuffixes,
      allowSpecialPurposeIps: this.ctx.settings.allowSpecialPurposeIps,
    });
    const now = this.ctx.clock.now();
    const { notBefore, notAfter } = this.checkValidityRequest(request.notBefore, request.notAfter, profile, now);
    const orderId = newId();
    const replacedSerial = await this.renewalInfo.claim(account, identifiers, request.replaces, orderId, now);
    // RFC 9773 §5: replacing a certificate is what the CA asked for, so no limit stands in its way.
    const limits = replacedSerial === undefined ? newOrderTransactions(account.id, identifiers) : [];
    await this.ctx.limiter.spend(limits);
    try {
      return await this.store(orderId, account, identifiers, profile, now, notBefore, notAfter, replacedSerial === undefined ? undefined : (request.replaces as string));
    } catch (err) {
      await this.ctx.limiter.refund(limits);
      if (replacedSerial !== undefined) await this.renewalInfo.release(replacedSerial, orderId);
      throw err;
    }
  }

  private async store(
    orderId: string,
    account: Account,
    identifiers: Identifier[],
    profile: Profile,
    now: number,
    notBefore?: number,
    notAfter?: number,
    replaces?: string,
  ): Promise<Order> {
    const base = (identifier: Identifier) => ({ type: identifier.type, value: identifier.value.replace(/^\*\./, ''), wildcard: identifier.value.startsWith('*.') });
    const reusable = await this.ctx.sa.reusableAuthorizations(account.id, profile.name, [...new Set(identifiers.map((i) => base(i).value))], now);
    const pendingExpires = now + profile.pendingAuthorizationLifetime;
    const created: NewAuthorization[] = [];
    const linked: { id: string; expires: number }[] = [];
    for (const identifier of identifiers) {
      const { type, value, wildcard } = base(identifier);
      const reuse = reusable.find((a) => a.type === type && a.value === value && a.wildcard === wildcard);
      if (reuse && (this.ctx.settings.reuseAuthorization?.() ?? true)) {
        linked.push(reuse);
        continue;
      }
      const authzId = newId();
      created.push({
        authz: { id: authzId, accountId: account.id, identifier: { type, value }, wildcard, status: 'pending', expires: pendingExpires, token: randomPooled(32).toString('base64url'), profile: profile.name },
        challenges: challengeTypes(identifier).map((t, index): Challenge => ({ id: `${index}${newId()}`, authzId, type: t, status: 'pending' })),
      });
      linked.push({ id: authzId, expires: pendingExpires });
    }
    const order: Order = {
      id: orderId,
      accountId: account.id,
      status: 'pending',
      expires: Math.min(now + profile.orderLifetime, ...linked.map((a) => a.expires)),
      identifiers,
      notBefore,
      notAfter,
      authzIds: linked.map((a) => a.id),
      createdAt: now,
      profile: profile.name,
      ...(replaces === undefined ? {} : { replaces }),
    };
    await this.ctx.sa.createOrder(order, created);
    // Every authorization reused: the order is ready at once.
    return created.length === 0 ? { ...order, status: 'ready' } : order;
  }

  /** notBefore/notAfter (RFC 8555 §7.4) are honoured within the profile's validity; anything else is refused. */
  private checkValidityRequest(notBeforeIn: unknown, notAfterIn: unknown, profile: Profile, now: number): { notBefore?: number; notAfter?: number } {
    const parse = (value: unknown, field: string): number | undefined => {
      if (value === undefined) return undefined;
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(ms)) throw new AcmeProblem('malformed', `${field} must be an RFC 3339 date-time string, got ${JSON.stringify(value)}`);
      return ms;
    };
    const notBefore = parse(notBeforeIn, 'notBefore');
    const notAfter = parse(notAfterIn, 'notAfter');
    if (notBefore === undefined && notAfter === undefined) return {};
    const start = notBefore ?? now;
    const end = notAfter ?? start + profile.validity - 1000;
    if (notBefore !== undefined && notBefore < now - MAX_BACKDATE_MS) {
      throw new AcmeProblem('malformed', 'notBefore may not be more than one hour in the past (no backdating)');
    }
    if (start > now + profile.orderLifetime) {
      throw new AcmeProblem('malformed', `notBefore may be at most ${formatDuration(profile.orderLifetime)} in the future (the order's lifetime in profile "${profile.name}")`);
    }
    if (end <= start) throw new AcmeProblem('malformed', 'notAfter must be later than notBefore');
    if (end <= now) throw new AcmeProblem('malformed', 'notAfter is in the past');
    if (end - start + 1000 > profile.validity) {
      throw new AcmeProblem('malformed', `the requested validity is longer than profile "${profile.name}" allows (${formatDuration(profile.validity)})`);
    }
    return { notBefore: start, notAfter: end };
  }

  async get(account: Account, id: string): Promise<Order> {
    return ownedBy(await this.ctx.sa.getOrder(id, this.ctx.clock.now()), account, 'order');
  }

  list(account: Account, limit: number, cursor?: { createdAt: number; id: string }): Promise<{ id: string; createdAt: number }[]> {
    return this.ctx.sa.listOrderIds(account.id, limit, cursor);
  }
}
