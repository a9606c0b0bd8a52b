// Profiles as the RA applies them: which one an order gets, how long its leaf lives, and the Baseline Requirements'
// hard cap on validity by issuance date (BR 6.3.2), checked at startup and again by the leaf lint at issuance.
import { AcmeProblem } from '../core/index.js';
import { ConfigError } from '../config/errors.js';
import { formatDuration } from '../config/duration.js';
import type { ProfileConfig, ProfilesConfig } from '../config/index.js';

export interface Profile extends ProfileConfig {
  name: string;
}

const DAY = 86_400_000;
/** BR 6.3.2: subscriber certificates issued on or after each date may be valid for at most so many days. */
const BR_VALIDITY_TIMELINE: Array<[from: number, days: number]> = [
  [Date.parse('2029-03-15T00:00:00Z'), 47],
  [Date.parse('2027-03-15T00:00:00Z'), 100],
  [Date.parse('2026-03-15T00:00:00Z'), 200],
];

/** The longest validity (inclusive, in ms) a leaf issued at `at` may have. */
export function brMaxValidityMs(at: number): number {
  return (BR_VALIDITY_TIMELINE.find(([from]) => at >= from)?.[1] ?? 398) * DAY;
}

export class Profiles {
  private readonly byName: Map<string, Profile>;
  readonly defaultName: string;

  constructor(config: ProfilesConfig) {
    this.byName = new Map(Object.entries(config.definitions).map(([name, p]) => [name, { ...p, name }]));
    this.defaultName = config.default;
  }

  /** Refuses, at startup, a profile whose leaves the BRs would not allow today. */
  checkAgainstBaselineRequirements(now: number, source: string): void {
    for (const profile of this.byName.values()) {
      const cap = brMaxValidityMs(now);
      if (profile.validity > cap) {
        throw new ConfigError(
          `${source}: key "profiles.definitions.${profile.name}.validity": ${formatDuration(profile.validity)} is longer than the ${formatDuration(cap)} the Baseline Requirements allow for certificates issued now (BR 6.3.2); shorten it`,
          source,
          `profiles.definitions.${profile.name}.validity`,
        );
      }
    }
  }

  /** The longest validity of any profile: what an issuer must outlive at startup. */
  longestValidity(): number {
    return Math.max(...[...this.byName.values()].map((p) => p.validity));
  }

  /** meta.profiles: name → description. */
  directoryMeta(): Record<string, string> {
    return Object.fromEntries([...this.byName.values()].map((p) => [p.name, p.description]));
  }

  /** The profile a newOrder asked for (or the default); `invalidProfile` for one not advertised. */
  select(requested: unknown): Profile {
    if (requested === undefined) return this.byName.get(this.defaultName)!;
    if (typeof requested !== 'string') throw new AcmeProblem('malformed', 'profile must be a string naming one of the profiles in the directory');
    const profile = this.byName.get(requested);
    if (!profile) throw new AcmeProblem('invalidProfile', `profile "${requested}" is not offered; the directory's meta.profiles lists ${[...this.byName.keys()].join(', ')}`);
    return profile;
  }

  /**
   * How long an authorization of this profile stays reusable once valid. A profile removed from the configuration
   * since gets the shortest reuse of those still offered.
   */
  reuseOf(name: string): number {
    return this.byName.get(name)?.authorizationReuse ?? Math.min(...[...this.byName.values()].map((p) => p.authorizationReuse));
  }

  /** The profile an existing order was created with, at finalize; it may have been removed since (draft §4). */
  forOrder(name: string): Profile {
    const profile = this.byName.get(name);
    if (!profile) throw new AcmeProblem('invalidProfile', `this CA no longer issues under the order's profile "${name}"; create a new order`);
    return profile;
  }
}
