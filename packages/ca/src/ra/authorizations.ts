// Authorizations and challenges (RFC 8555 §7.5): reading and deactivating them, and starting a validation when the
// client answers a challenge. The VA proves control and checks CAA; a success makes the authorization reusable for
// its profile's reuse period, a failure counts against the failed-validations limit.
import { AcmeProblem, type Account, type Authorization, type Challenge, type ErrorJson } from '../core/index.js';
import { problemStatusOfType } from '../core/problems.js';
import type { ValidationResult } from '../va/index.js';
import { ownedBy, type RaContext } from './context.js';
import { failedValidationTransaction } from './ratelimits/index.js';
import { observeValidation } from '../core/metrics.js';

export function keyAuthorization(token: string, accountThumbprint: string): string {
  return `${token}.${accountThumbprint}`;
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

export class Authorizations {
  /** Validations in flight, so close() can wait for them instead of cutting a database write short. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly ctx: RaContext) {}

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async get(account: Account, id: string): Promise<Authorization> {
    return ownedBy(await this.ctx.sa.getAuthorization(id, this.ctx.clock.now()), account, 'authorization');
  }

  async deactivate(account: Account, id: string): Promise<Authorization> {
    const authz = await this.get(account, id);
    if (authz.status !== 'pending' && authz.status !== 'valid') {
      throw new AcmeProblem('malformed', `an authorization in status "${authz.status}" cannot be deactivated`);
    }
    await this.ctx.sa.deactivateAuthorization(authz.id);
    return this.get(account, id);
  }

  /**
   * Starts validation of a challenge at once and waits briefly, so a fast validation is already finished when the
   * client first polls. Returns the authorization as it is after that wait. `accountUri` is the account URL, which
   * CAA `accounturi` parameters name (RFC 8657).
   */
  async respond(account: Account, accountUri: string, authzId: string, challengeId: string): Promise<Authorization> {
    const authz = await this.get(account, authzId);
    const challenge = authz.challenges.find((c) => c.id === challengeId);
    if (!challenge) throw new AcmeProblem('malformed', 'no such challenge', { status: 404 });
    if (challenge.status !== 'pending' || authz.status !== 'pending') return authz; // RFC 8555 §7.5.1: idempotent
    if (!(await this.ctx.sa.claimChallenge(authz.id, challenge.id, this.ctx.clock.now()))) return this.get(account, authzId);
    const validation = this.validate(account, accountUri, authz, challenge);
    this.inFlight.add(validation);
    void validation.finally(() => this.inFlight.delete(validation));
    if (this.ctx.settings.challengeWaitMs > 0) await waitAtMost(validation, this.ctx.settings.challengeWaitMs);
    return this.get(account, authzId);
  }

  private async validate(account: Account, accountUri: string, authz: Authorization, challenge: Challenge): Promise<void> {
    let result: ValidationResult;
    try {
      result = await this.ctx.va.validate({
        type: challenge.type,
        domain: authz.identifier.value,
        token: authz.token,
        keyAuthorization: keyAuthorization(authz.token, account.thumbprint),
        wildcard: authz.wildcard,
        accountUri,
      });
    } catch (err) {
      result = { ok: false, problem: { type: 'urn:ietf:params:acme:error:serverInternal', detail: `validation failed: ${(err as Error).message}` }, records: [] };
    }
    const at = this.ctx.clock.now();
    observeValidation(challenge.type, result.ok ? 'valid' : result.problem.type);
    try {
      if (result.ok) {
        const reuse = this.ctx.profiles.reuseOf(authz.profile);
        await this.ctx.sa.recordValidation(authz.id, challenge, { ok: true, records: result.records, at, validUntil: at + reuse });
      } else {
        const error: ErrorJson = { ...result.problem, status: problemStatusOfType(result.problem.type), identifier: authz.identifier };
        await this.ctx.sa.recordValidation(authz.id, challenge, { ok: false, error, records: result.records, at });
        await this.ctx.limiter.spend([failedValidationTransaction(account.id, authz.identifier)]);
      }
    } catch (err) {
      // The database is closing (shutdown); the challenge stays "processing" and the order can be retried.
      this.ctx.logger.warn({ err, authz: authz.id }, 'could not record a validation outcome');
    }
  }
}
