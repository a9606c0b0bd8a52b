// CAA (RFC 8659 §3–4) with RFC 8657's `accounturi` and `validationmethods`: may this CA issue for a name, to this
// account, after this validation method? Hand-written because the policy is the CA's own: the DNS work is c-ares'.
import type { CaaRecord as CaresCaaRecord } from 'node:dns';
import type { VaResolver } from './dns.js';
import { ValidationError, type CaaRequest, type Deadline } from './types.js';

/** One CAA resource record (RFC 8659 §4.1). */
export interface CaaRecord {
  flags: number;
  tag: string;
  value: string;
}

/** The relevant RRset (RFC 8659 §3): the first non-empty CAA RRset found climbing from the name towards the root. */
export interface RelevantCaa {
  /** The name the records were found at. */
  name: string;
  records: CaaRecord[];
}

export interface CaaPolicy {
  /** Our issuer domain names; empty means none are configured, and then any issue/issuewild record forbids. */
  identities: readonly string[];
  wildcard: boolean;
  accountUri: string;
  validationMethod: string;
}

export type CaaDecision = { ok: true } | { ok: false; reason: string };

const CRITICAL = 0x80;

// Tags this CA understands: RFC 8659's three, plus ones registered for other purposes (BR Appendix A contacts,
// RFC 9495 issuemail) that never authorise TLS issuance, so a critical flag on them must not block it.
const KNOWN_TAGS = new Set(['issue', 'issuewild', 'iodef', 'contactemail', 'contactphone', 'issuemail']);

// RFC 8659 §4.2 ABNF.
const LABEL = '[A-Za-z0-9](?:-*[A-Za-z0-9])*';
const ISSUER_DOMAIN_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const PARAMETER = new RegExp(`^[ \\t]*(${LABEL})[ \\t]*=[ \\t]*([\\x21-\\x3a\\x3c-\\x7e]*)[ \\t]*$`);
// RFC 8657 §4: value = [*(label ",") label], label = 1*(ALPHA / DIGIT / "-").
const VALIDATION_METHODS = /^(?:[A-Za-z0-9-]+(?:,[A-Za-z0-9-]+)*)?$/;

export function isIssuerDomainName(name: string): boolean {
  return ISSUER_DOMAIN_NAME.test(name);
}

/**
 * c-ares reports a record as `{ critical: <flags>, <tag>: <value> }`. A record whose tag is literally "critical"
 * therefore arrives as `{ critical: <value> }` with its flags lost; it is read as critical, so an unknown critical
 * property can never slip through as a non-critical one.
 */
export function fromCares(raw: CaresCaaRecord): CaaRecord {
  const { critical, ...rest } = raw as unknown as Record<string, unknown>;
  const entry = Object.entries(rest)[0];
  if (typeof critical !== 'number' || !entry) return { flags: CRITICAL, tag: 'critical', value: String(critical) };
  return { flags: critical, tag: entry[0], value: String(entry[1]) };
}

/**
 * Climbs from `domain` up to (not including) the root. All lookups start at once, as Boulder's do, but are read in
 * climbing order: a lookup that fails before the first non-empty RRset is reached fails the check, never "no CAA".
 */
export async function findRelevantCaa(resolver: VaResolver, domain: string, deadline: Deadline): Promise<RelevantCaa | undefined> {
  const labels = domain.split('.');
  const names = labels.map((_, i) => labels.slice(i).join('.'));
  // Settled up front, so a lookup above the relevant RRset that fails later is not an unhandled rejection.
  const lookups = names.map((name) => resolver.caa(name, deadline).then(
    (records) => ({ records }),
    (error: unknown) => ({ error }),
  ));
  for (const [i, name] of names.entries()) {
    const result = await lookups[i]!;
    if ('error' in result) throw result.error;
    if (result.records.length > 0) return { name, records: result.records.map(fromCares) };
  }
  return undefined;
}

interface IssueValue {
  /** '' when the value names no CA (e.g. ";"): nobody may issue under this record. */
  issuer: string;
  parameters: [tag: string, value: string][];
}

/** RFC 8659 §4.2 issue-value; undefined when it does not parse (such a record authorises nobody). */
function parseIssueValue(value: string): IssueValue | undefined {
  const semicolon = value.indexOf(';');
  const issuer = (semicolon === -1 ? value : value.slice(0, semicolon)).replace(/^[ \t]+|[ \t]+$/g, '');
  if (issuer !== '' && !ISSUER_DOMAIN_NAME.test(issuer)) return undefined;
  const parameters: [string, string][] = [];
  const rest = semicolon === -1 ? '' : value.slice(semicolon + 1);
  if (rest.trim() !== '') {
    for (const part of rest.split(';')) {
      const match = PARAMETER.exec(part);
      if (!match) return undefined;
      parameters.push([match[1]!.toLowerCase(), match[2]!]);
    }
  }
  return { issuer, parameters };
}

/** Why one issue/issuewild record does not authorise this request, or undefined when it does. */
function refusal(record: CaaRecord, policy: CaaPolicy): { reason: string; namesUs: boolean } | undefined {
  const parsed = parseIssueValue(record.value);
  if (!parsed) return { reason: 'has a value that does not parse (RFC 8659 §4.2)', namesUs: false };
  if (parsed.issuer === '') return { reason: 'allows no CA to issue', namesUs: false };
  if (!policy.identities.some((id) => id.toLowerCase() === parsed.issuer.toLowerCase())) {
    return { reason: `names ${parsed.issuer}, not this CA`, namesUs: false };
  }
  const values = (tag: string) => parsed.parameters.filter(([t]) => t === tag).map(([, v]) => v);
  const accountUris = values('accounturi');
  if (accountUris.length > 1) return { reason: 'has more than one accounturi parameter (RFC 8657: unsatisfiable)', namesUs: true };
  if (accountUris.length === 1 && accountUris[0] !== policy.accountUri) {
    return { reason: `is limited to the account ${accountUris[0]}, not ${policy.accountUri}`, namesUs: true };
  }
  const methods = values('validationmethods');
  if (methods.length > 1) return { reason: 'has more than one validationmethods parameter (unsatisfiable)', namesUs: true };
  if (methods.length === 1) {
    if (!VALIDATION_METHODS.test(methods[0]!)) return { reason: 'has a malformed validationmethods parameter (RFC 8657: unsatisfiable)', namesUs: true };
    if (!methods[0]!.split(',').includes(policy.validationMethod)) {
      return { reason: `is limited to the validation methods ${methods[0] || '(none)'}, not ${policy.validationMethod}`, namesUs: true };
    }
  }
  return undefined;
}

const show = (record: CaaRecord) => `${record.flags} ${record.tag} ${JSON.stringify(record.value)}`;

/** RFC 8659 §4 and RFC 8657 over a relevant RRset. */
export function evaluateCaa(records: readonly CaaRecord[], policy: CaaPolicy): CaaDecision {
  const critical = records.find((r) => (r.flags & CRITICAL) !== 0 && !KNOWN_TAGS.has(r.tag.toLowerCase()));
  if (critical) return { ok: false, reason: `the record ${show(critical)} has an unknown property marked critical` };
  const withTag = (tag: string) => records.filter((r) => r.tag.toLowerCase() === tag);
  const issueWild = withTag('issuewild');
  // issuewild governs wildcards when present (§4.3); otherwise issue governs both.
  const governing = policy.wildcard && issueWild.length > 0 ? issueWild : withTag('issue');
  // An RRset without issue/issuewild records (only iodef, unknown tags...) does not restrict issuance (§4.2, §4.3).
  if (governing.length === 0) return { ok: true };
  const refusals: { record: CaaRecord; reason: string; namesUs: boolean }[] = [];
  for (const record of governing) {
    const why = refusal(record, policy);
    if (!why) return { ok: true };
    refusals.push({ record, ...why });
  }
  // The most useful explanation first: a record naming this CA says what else the subscriber must change.
  const first = refusals.find((r) => r.namesUs) ?? refusals[0]!;
  const tag = governing === issueWild ? 'issuewild' : 'issue';
  const more = refusals.length - 1;
  const others = more === 0 ? '' : more === 1 ? `; the other ${tag} record does not authorise it either` : `; the ${more} other ${tag} records do not authorise it either`;
  const ours = policy.identities.length > 0 ? `this CA's CAA identities: ${policy.identities.join(', ')}` : 'this CA has no CAA identities configured';
  return { ok: false, reason: `the record ${show(first.record)} ${first.reason}${others}; ${ours}` };
}

/** The whole check for one name; throws a `caa` (forbidden) or `dns` (lookup failed) ValidationError. */
export async function checkCaa(resolver: VaResolver, req: CaaRequest, identities: readonly string[], deadline: Deadline): Promise<void> {
  const subject = req.wildcard ? `*.${req.domain}` : req.domain;
  let relevant: RelevantCaa | undefined;
  try {
    relevant = await findRelevantCaa(resolver, req.domain, deadline);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.kind, `While processing CAA for ${subject}: ${err.message}`);
    throw err;
  }
  if (!relevant) return;
  const decision = evaluateCaa(relevant.records, { identities, wildcard: req.wildcard, accountUri: req.accountUri, validationMethod: req.validationMethod });
  if (!decision.ok) {
    throw new ValidationError('caa', `While processing CAA for ${subject}: CAA record for ${relevant.name} prevents issuance: ${decision.reason}`);
  }
}
