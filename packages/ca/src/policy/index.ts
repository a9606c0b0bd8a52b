// Policy authority: which identifiers the CA will certify and which keys it accepts. Pure functions, no I/O.
// domain.ts and ip.ts judge one identifier, keys.ts one key; this file puts an order's identifiers together.
import { AcmeProblem, combinedProblem, type Identifier, type ProblemDocument } from '../core/index.js';
import { type Blocklist, type Refusal, dnsNameRefusal, normaliseDnsName } from './domain.js';
import { ipRefusal } from './ip.js';

export { domainProblem } from './domain.js';
export { checkAccountKey, checkSubscriberKey, describeKey, spkiSha256, type KeyDescription, type SubscriberKey } from './keys.js';

export interface IdentifierPolicy {
  /** The most identifiers one order may hold, counted after de-duplication. */
  maxNames: number;
  /** Accept RFC 8738 identifiers of type "ip" (Let's Encrypt does only in its short-lived profile). */
  allowIpIdentifiers?: boolean;
  /** Also accept loopback, private and other special-purpose addresses: private and test CAs only. */
  allowSpecialPurposeIps?: boolean;
  /** Names refused with their wildcard (`example.com` also blocks `*.example.com`). */
  blockedNames?: readonly string[];
  /** Names refused with everything under them (`example.net` blocks `example.net`, `a.example.net`, `*.example.net`). */
  blockedSuffixes?: readonly string[];
}

// Configured lists are long-lived arrays; their normalised sets are built once, not per order.
const normalisedLists = new WeakMap<readonly string[], ReadonlySet<string>>();
function normalisedSet(list: readonly string[]): ReadonlySet<string> {
  let set = normalisedLists.get(list);
  if (!set) {
    set = new Set(list.map((name) => normaliseDnsName(name).replace(/\.$/, '')));
    normalisedLists.set(list, set);
  }
  return set;
}

const ORDER = { dns: 0, ip: 1 } as Record<string, number>;

/**
 * Checks the identifiers of a new order; returns them normalised (dns names lower-cased), de-duplicated and sorted (dns
 * before ip, each by value), or throws a problem with one subproblem per refused identifier: malformed for bad syntax,
 * rejectedIdentifier for what policy refuses, unsupportedIdentifier for a type the CA does not take. `policy` may still
 * be the bare maxNames number.
 */
export function checkOrderIdentifiers(identifiers: Identifier[], policy: IdentifierPolicy | number): Identifier[] {
  const { maxNames, allowIpIdentifiers = false, allowSpecialPurposeIps = false, blockedNames = [], blockedSuffixes = [] } = typeof policy === 'number' ? { maxNames: policy } : policy;
  if (!Array.isArray(identifiers) || identifiers.length === 0) {
    throw new AcmeProblem('malformed', 'the order has no identifiers');
  }
  const blocklist: Blocklist = { names: normalisedSet(blockedNames), suffixes: normalisedSet(blockedSuffixes) };
  const subproblems: ProblemDocument[] = [];
  const accepted = new Map<string, Identifier>();
  for (const identifier of identifiers) {
    if (typeof identifier !== 'object' || identifier === null || typeof identifier.type !== 'string' || typeof identifier.value !== 'string') {
      throw new AcmeProblem('malformed', 'each identifier must be an object with string "type" and "value"');
    }
    let value = identifier.value;
    let refusal: Refusal | { kind: 'unsupportedIdentifier'; detail: string } | undefined;
    if (identifier.type === 'dns') {
      value = normaliseDnsName(value);
      refusal = dnsNameRefusal(value, blocklist);
    } else if (identifier.type === 'ip' && allowIpIdentifiers) {
      refusal = ipRefusal(value, { allowSpecialPurpose: allowSpecialPurposeIps });
    } else {
      const supported = allowIpIdentifiers ? '"dns" and "ip" are' : 'only "dns" is';
      refusal = { kind: 'unsupportedIdentifier', detail: `identifier type "${identifier.type}" is not supported; ${supported}` };
    }
    if (refusal) {
      const detail = refusal.kind === 'unsupportedIdentifier' ? refusal.detail : `cannot issue for "${identifier.value}": ${refusal.detail}`;
      subproblems.push({ type: `urn:ietf:params:acme:error:${refusal.kind}`, detail, status: 400, identifier: { type: identifier.type, value: identifier.value } });
      continue;
    }
    accepted.set(`${identifier.type}:${value}`, { type: identifier.type, value });
  }
  if (subproblems.length > 0) {
    throw combinedProblem(subproblems, subproblems.length === 1 ? subproblems[0]!.detail : `${subproblems.length} identifiers were refused; see subproblems`);
  }
  if (accepted.size > maxNames) {
    throw new AcmeProblem('rejectedIdentifier', `an order may hold at most ${maxNames} identifiers, this one has ${accepted.size}`);
  }
  return [...accepted.values()].sort((a, b) => ORDER[a.type]! - ORDER[b.type]! || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
