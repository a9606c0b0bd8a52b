// Fault knobs for people testing an ACME client's retry logic (issue 12): a share of nonces refused, of requests
// answered with serverInternal or a dropped connection, of validations failed; slow answers and validations. One
// object holds the settings (from `testMode.faults`, changed through the management API), draws from a seedable random
// source so a test sees the same faults on every run, and counts what it injected so the test can check the CA really
// refused something.
import { z } from 'zod';
import { ACME_ERROR_PREFIX, type CaaRequest, type CaaResult, type ValidationRequest, type ValidationResult, type Validator } from '../va/types.js';

const percent = z.number().min(0).max(100);

export const faultsConfigSchema = z.strictObject({
  /** Share of JWS nonces refused with badNonce although valid. */
  badNoncePercent: percent.default(0),
  /** Share of ACME requests (not GET /directory nor newNonce, so clients can start) answered with serverInternal. */
  serverInternalPercent: percent.default(0),
  /** Share of ACME requests (the same ones) whose connection is closed without an answer. */
  connectionResetPercent: percent.default(0),
  /** Every request (all of them) waits this long before it is handled. */
  responseDelayMs: z.number().int().min(0).max(60_000).default(0),
  /** Every validation waits this long before it starts. */
  validationDelayMs: z.number().int().min(0).max(60_000).default(0),
  /** Share of validations that fail with incorrectResponse without looking at the challenge. */
  validationFailPercent: percent.default(0),
  /**
   * Share of new orders' names that re-use a still-valid authorization of the account and profile (100: always, as
   * the profile allows; Pebble re-uses half of the time). Clients must cope with both.
   */
  authorizationReusePercent: percent.default(100),
  /** Seed of the random source deciding which requests fail; the same seed gives the same sequence of faults. */
  seed: z.number().int().min(0).max(0xffff_ffff).optional(),
});

export type FaultSettings = z.infer<typeof faultsConfigSchema>;
export type FaultSettingsInput = z.input<typeof faultsConfigSchema>;

/** How many faults were injected since the CA started. */
export interface FaultCounts {
  badNonce: number;
  serverInternal: number;
  connectionReset: number;
  responseDelayed: number;
  validationDelayed: number;
  validationFailed: number;
  authorizationNotReused: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * mulberry32: a seedable 32-bit generator in a few lines. Node's crypto cannot be seeded, and fault decisions need
 * repeatability, not unpredictability, so a dependency for this is not worth it.
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

export class Faults {
  private settings!: FaultSettings;
  private random!: () => number;
  private readonly injected: FaultCounts = { badNonce: 0, serverInternal: 0, connectionReset: 0, responseDelayed: 0, validationDelayed: 0, validationFailed: 0, authorizationNotReused: 0 };

  constructor(settings: FaultSettingsInput = {}) {
    this.set(settings);
  }

  /** The settings in force, in the shape `set` and the configuration take. */
  get(): FaultSettings {
    return { ...this.settings };
  }

  /** Replaces every setting (a key left out is off); throws a ZodError for bad input. Restarts the random sequence. */
  set(input: unknown): FaultSettings {
    this.settings = faultsConfigSchema.parse(input);
    this.random = mulberry32(this.settings.seed ?? Math.floor(Math.random() * 0x1_0000_0000));
    return this.get();
  }

  counts(): FaultCounts {
    return { ...this.injected };
  }

  /** Called once per nonce check: true when this valid nonce is to be refused. */
  rejectNonce(): boolean {
    return this.draw(this.settings.badNoncePercent, 'badNonce');
  }

  /**
   * Called by the WFE on every request: waits `responseDelayMs`, then says how to fail it, if at all. `startUp`
   * requests (the directory, newNonce) are only slowed: a client must be able to start before it can retry.
   */
  async beforeRequest(startUp: boolean): Promise<'connectionReset' | 'serverInternal' | undefined> {
    const { responseDelayMs, connectionResetPercent, serverInternalPercent } = this.settings;
    if (responseDelayMs > 0) {
      this.injected.responseDelayed++;
      await sleep(responseDelayMs);
    }
    if (startUp) return undefined;
    if (this.draw(connectionResetPercent, 'connectionReset')) return 'connectionReset';
    if (this.draw(serverInternalPercent, 'serverInternal')) return 'serverInternal';
    return undefined;
  }

  failValidation(): boolean {
    return this.draw(this.settings.validationFailPercent, 'validationFailed');
  }

  /** Called for each name of a new order that has a reusable authorization: false when a fresh one is to be made. */
  reuseAuthorization(): boolean {
    return !this.draw(100 - this.settings.authorizationReusePercent, 'authorizationNotReused');
  }

  async delayValidation(): Promise<void> {
    const ms = this.settings.validationDelayMs;
    if (ms <= 0) return;
    this.injected.validationDelayed++;
    await sleep(ms);
  }

  private draw(percentage: number, count: keyof FaultCounts): boolean {
    // No draw when off: a knob at 0 does not shift the sequence the others see.
    if (percentage <= 0 || this.random() * 100 >= percentage) return false;
    this.injected[count]++;
    return true;
  }
}

/**
 * The Validator the RA gets in test mode: delays and fails validations as the Faults say; CAA checks pass through.
 * No close(): whoever made the inner validator closes it.
 */
export class FaultyValidator implements Validator {
  constructor(
    private readonly inner: Validator,
    private readonly faults: Faults,
  ) {}

  async validate(req: ValidationRequest): Promise<ValidationResult> {
    await this.faults.delayValidation();
    if (this.faults.failValidation()) {
      return {
        ok: false,
        problem: { type: `${ACME_ERROR_PREFIX}incorrectResponse`, detail: `test mode's validationFailPercent failed this ${req.type} validation of ${req.domain} on purpose` },
        records: [],
      };
    }
    return this.inner.validate(req);
  }

  checkCaa(req: CaaRequest): Promise<CaaResult> {
    return this.inner.checkCaa(req);
  }
}
