// An RA in the test's own process, without HTTP: a real SQLite SA in memory, the profiles and rate limits from a
// config (defaults unless given), a fake clock, and whatever validator and hierarchy the test hands in.
import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import pino from 'pino';
import { parseCaConfig, type CaConfigInput } from '../../src/index.js';
import { FakeClock } from '../../src/core/clock.js';
import { crlUrl, shardOf } from '../../src/crl/index.js';
import type { Account } from '../../src/core/index.js';
import type { Hierarchy } from '../../src/issuer/index.js';
import { Profiles, RegistrationAuthority } from '../../src/ra/index.js';
import { RateLimiter } from '../../src/ra/ratelimits/index.js';
import { StorageAuthority } from '../../src/sa/index.js';
import type { Validator } from '../../src/va/index.js';

export interface TestRa {
  ra: RegistrationAuthority;
  sa: StorageAuthority;
  clock: FakeClock;
  account: Account;
  close(): Promise<void>;
}

/** A validator that accepts every challenge and every CAA check. */
export const acceptingValidator: Validator = {
  validate: async () => ({ ok: true, records: [] }),
  checkCaa: async () => ({ ok: true }),
};

export async function startTestRa(options: { hierarchy: Hierarchy; validator?: Validator; config?: CaConfigInput; clock?: FakeClock }): Promise<TestRa> {
  const config = parseCaConfig(options.config ?? {}, 'test config');
  const clock = options.clock ?? new FakeClock();
  const sa = await StorageAuthority.openSqlite(':memory:');
  const limiter = new RateLimiter(config.rateLimits, { clock });
  const ra = new RegistrationAuthority({
    sa,
    va: options.validator ?? acceptingValidator,
    hierarchy: options.hierarchy,
    profiles: new Profiles(config.profiles),
    limiter,
    clock,
    logger: pino({ level: 'silent' }),
    settings: {
      challengeWaitMs: 5_000,
      caaRecheckAfterMs: config.caa.recheckAfter,
      blockedNames: config.policy.blockedNames,
      blockedSuffixes: config.policy.blockedSuffixes,
      allowSpecialPurposeIps: config.policy.allowSpecialPurposeIps,
      leafUrls: (issuerName, serial) => {
        const crlShard = shardOf(serial, config.crl.shards);
        return { urlBase: 'http://127.0.0.1:1', crlShard, crlUrl: crlUrl('http://127.0.0.1:1', issuerName, crlShard) };
      },
    },
  });
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK;
  const account: Account = { id: 'test-account', thumbprint: 'test-thumbprint', jwk, status: 'valid', contact: [], termsAgreed: true, createdAt: clock.now() };
  if ((await sa.createAccount(account)) !== 'created') throw new Error('could not create the test account');
  return {
    ra,
    sa,
    clock,
    account,
    async close() {
      await ra.close();
      await limiter.close();
      await sa.close();
    },
  };
}
