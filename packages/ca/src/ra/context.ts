// What every job of the RA shares: its collaborators and settings, and the ownership check all of them make.
import type { Logger } from 'pino';
import { AcmeProblem, type Account, type CertificateRecord } from '../core/index.js';
import type { Clock } from '../core/clock.js';
import type { Hierarchy, LeafUrls } from '../issuer/index.js';
import type { StorageAuthority } from '../sa/index.js';
import type { Validator } from '../va/index.js';
import type { Profiles } from './profiles.js';
import type { RateLimiter } from './ratelimits/index.js';

export interface RaSettings {
  /** How long a challenge POST waits for a fast validation before answering "processing". */
  challengeWaitMs: number;
  /** At finalize, authorizations validated longer ago than this have CAA checked again. */
  caaRecheckAfterMs: number;
  blockedNames: readonly string[];
  blockedSuffixes: readonly string[];
  allowSpecialPurposeIps: boolean;
  /** Test mode's fault knob: whether to re-use a reusable authorization this time (always, when absent). */
  reuseAuthorization?: () => boolean;
  /** The URLs a new leaf of the issuer with this serial names (AIA base, CRL shard, OCSP), and its shard to store. */
  leafUrls: (issuerName: string, serial: string) => LeafUrls & { crlShard: number };
  /** Told of every revocation (the CRL updater signs the certificate's shard again soon after). */
  onRevoked?: (certificate: CertificateRecord) => void;
}

export interface RaContext {
  sa: StorageAuthority;
  va: Validator;
  hierarchy: Hierarchy;
  profiles: Profiles;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  settings: RaSettings;
}

/** The RA loads what it decides on; a thing of another account is `unauthorized`, a missing one 404. */
export function ownedBy<T extends { accountId: string }>(thing: T | undefined, account: Account, what: string): T {
  if (!thing) throw new AcmeProblem('malformed', `no such ${what}`, { status: 404 });
  if (thing.accountId !== account.id) throw new AcmeProblem('unauthorized', `this ${what} belongs to another account`);
  return thing;
}
