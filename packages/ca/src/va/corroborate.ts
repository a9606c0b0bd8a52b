// Multi-perspective issuance corroboration (BR 3.2.2.9; Boulder's va.doRemoteOperation): the primary (local) VA
// decides, then remote perspectives in other networks must agree, within the BR quorum, before a validation or CAA
// check counts. A BGP hijack near one network then no longer suffices to get a certificate.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Perspective } from './remote.js';
import { ACME_ERROR_PREFIX, type CaaRequest, type CaaResult, type ValidationRequest, type ValidationResult, type Validator } from './types.js';

type Problem = { type: string; detail: string };

/** BR 3.2.2.9 quorum table: non-corroborations allowed for a number of remote perspectives (none below 2). */
export function allowedFailures(remotes: number): number {
  if (remotes >= 6) return 2;
  if (remotes >= 2) return 1;
  return 0;
}

/** What one corroboration saw, for logs: which perspectives agreed, disagreed or were cut off. */
export interface CorroborationSummary {
  operation: 'validate' | 'caa';
  domain: string;
  passed: string[];
  failed: string[];
  /** Still unanswered when the outcome was decided and the straggler allowance ran out. */
  cutOff: string[];
  /** Distinct RIRs among the passing perspectives. */
  passedRirs: string[];
  corroborated: boolean;
}

export interface CorroborationOptions {
  /**
   * Success needs passing perspectives in at least 2 distinct RIRs (Boulder's rule). Default true; off only where all
   * perspectives run in one place (tests, a lab).
   */
  requireDistinctRirs?: boolean;
  /** After the outcome is decided, how long the remaining perspectives may still answer (for the summary). Default 1000. */
  slowRemoteTimeoutMs?: number;
  /** Called once per corroboration with the summary, after stragglers are answered or cut off. */
  onSummary?: (summary: CorroborationSummary) => void;
}

/** The primary VA corroborated by remote perspectives; both validations and CAA checks go through the same quorum. */
export class CorroboratingValidator implements Validator {
  private readonly requireDistinctRirs: boolean;
  private readonly slowRemoteTimeoutMs: number;

  constructor(
    private readonly primary: Validator,
    private readonly remotes: readonly Perspective[],
    private readonly options: CorroborationOptions = {},
  ) {
    this.requireDistinctRirs = options.requireDistinctRirs ?? true;
    this.slowRemoteTimeoutMs = options.slowRemoteTimeoutMs ?? 1000;
    const names = remotes.map((r) => r.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) throw new RangeError(`remote perspective ${JSON.stringify(duplicate)} is configured twice`);
    // Fail at startup rather than refusing every issuance later.
    if (this.requireDistinctRirs && remotes.length > 0 && new Set(remotes.map((r) => r.rir)).size < 2) {
      throw new RangeError('requireDistinctRirs needs remote perspectives in at least 2 distinct RIRs');
    }
  }

  async validate(req: ValidationRequest): Promise<ValidationResult> {
    const local = await this.primary.validate(req);
    if (!local.ok) return local;
    const problem = await this.corroborate('validate', req.domain, async (remote, signal) => {
      const result = await remote.validate(req, signal);
      return result.ok ? undefined : result.problem;
    });
    return problem ? { ok: false, problem, records: local.records } : local;
  }

  async checkCaa(req: CaaRequest): Promise<CaaResult> {
    const local = await this.primary.checkCaa(req);
    if (!local.ok) return local;
    const problem = await this.corroborate('caa', req.domain, async (remote, signal) => {
      const result = await remote.checkCaa(req, signal);
      return result.ok ? undefined : result.problem;
    });
    return problem ? { ok: false, problem } : local;
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close?.(), ...this.remotes.map((r) => r.close?.())]);
  }

  /** Asks every remote in parallel; resolves to the problem to report, or undefined when corroborated. */
  private async corroborate(
    operation: CorroborationSummary['operation'],
    domain: string,
    ask: (remote: Perspective, signal: AbortSignal) => Promise<Problem | undefined>,
  ): Promise<Problem | undefined> {
    if (this.remotes.length === 0) return undefined;
    const required = this.remotes.length - allowedFailures(this.remotes.length);
    const requiredRirs = this.requireDistinctRirs ? 2 : 1;
    const passed: Perspective[] = [];
    const failed: Perspective[] = [];
    let firstProblem: Problem | undefined;
    const passedRirs = () => new Set(passed.map((r) => r.rir));
    const succeeded = () => passed.length >= required && passedRirs().size >= requiredRirs;
    const decided = () => succeeded() || failed.length > this.remotes.length - required || passed.length + failed.length === this.remotes.length;

    const cutOff = new AbortController();
    let wake: () => void = () => {};
    const answers = this.remotes.map((remote) =>
      ask(remote, cutOff.signal)
        // A Perspective is not supposed to throw; one that does has failed like any other.
        .catch((err: unknown): Problem => ({ type: `${ACME_ERROR_PREFIX}serverInternal`, detail: `perspective ${remote.name}: ${(err as Error)?.message ?? String(err)}` }))
        .then((problem) => {
          if (cutOff.signal.aborted) return;
          if (problem) {
            failed.push(remote);
            firstProblem ??= problem;
          } else {
            passed.push(remote);
          }
          wake();
        }),
    );
    const allAnswered = Promise.all(answers);
    while (!decided()) await new Promise<void>((resolve) => (wake = resolve));
    const corroborated = succeeded();
    const problem: Problem | undefined = corroborated
      ? undefined
      : firstProblem
        ? { type: firstProblem.type, detail: `During secondary validation: ${firstProblem.detail}` }
        : {
            // Enough perspectives agreed, but all from one RIR.
            type: `${ACME_ERROR_PREFIX}serverInternal`,
            detail: `During secondary validation: the passing perspectives are all in ${[...passedRirs()].join(', ')}; ${requiredRirs} distinct RIRs are required`,
          };
    if (passed.length + failed.length < this.remotes.length) {
      const timer = new AbortController();
      await Promise.race([allAnswered, sleep(this.slowRemoteTimeoutMs, undefined, { signal: timer.signal }).catch(() => {})]);
      timer.abort();
    }
    const answered = new Set([...passed, ...failed]);
    cutOff.abort();
    this.options.onSummary?.({
      operation,
      domain,
      passed: passed.map((r) => r.name),
      failed: failed.map((r) => r.name),
      cutOff: this.remotes.filter((r) => !answered.has(r)).map((r) => r.name),
      passedRirs: [...passedRirs()],
      corroborated,
    });
    return problem;
  }
}
