// Which DNS names the CA will certify (BR 3.2.2.4, RFC 8555 §7.1.4, RFC 5890). Pure functions, no I/O.
import idn from 'idn-hostname';
import { parse as parseDomain } from 'tldts';

/** Why an identifier is refused: `malformed` for syntax, `rejectedIdentifier` for a well-formed name the CA will not certify. */
export interface Refusal {
  kind: 'malformed' | 'rejectedIdentifier';
  detail: string;
}

/** Names refused by configuration, already normalised (lower case, no trailing dot). */
export interface Blocklist {
  /** Blocks the name itself and its wildcard. */
  names: ReadonlySet<string>;
  /** Blocks the name and every name under it. */
  suffixes: ReadonlySet<string>;
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// BR 3.2.2.4 (since 2026-03-15): no certificates for names in the IP reverse-lookup zones.
const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'];

const malformed = (detail: string): Refusal => ({ kind: 'malformed', detail });
const rejected = (detail: string): Refusal => ({ kind: 'rejectedIdentifier', detail });

/** The normalised form of a dns identifier: ASCII letters lower-cased, nothing else touched (so no Unicode case folding
 * can turn a non-ASCII input, e.g. U+212A KELVIN SIGN, into an ASCII name). */
export function normaliseDnsName(value: string): string {
  return value.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

// An A-label must be the IDNA2008 encoding of a valid U-label (RFC 5890 §2.3.2.1, RFC 5891 §5.4). idn-hostname decodes
// each xn-- label and checks the U-label against the RFC 5892 derived properties (PVALID, CONTEXTJ, CONTEXTO: symbols
// and emoji that UTS #46 alone lets through are refused), NFC, the hyphen and leading-mark rules and RFC 5893 bidi
// (across the whole name, hence one call per name), and re-encodes it to the very same A-label (RFC 5891 §4.4), which
// rules out every other encoding of one U-label. That is IDNA2008 registration-side validity, all a CA needs: it never
// maps input, it only accepts or refuses A-labels.
function idnProblem(name: string): string | undefined {
  try {
    idn.isIdnHostname(name);
    return undefined;
  } catch (err) {
    return `the name is not valid IDNA2008: ${(err as Error).message}`;
  }
}

function syntaxProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) return 'the name has non-ASCII characters; internationalised names must be sent as A-labels ("xn--")';
  if (/[A-Z]/.test(name)) return 'the name has upper-case letters';
  if (name.endsWith('.')) return 'the name must not end with a dot';
  if (name.length > 253) return 'the name is longer than 253 characters';
  const wildcard = name.startsWith('*.');
  const base = wildcard ? name.slice(2) : name;
  if (base.includes('*')) return 'a wildcard is only allowed as the whole leftmost label ("*.example.com")';
  if (/^[0-9.]+$/.test(base) || base.includes(':')) return 'the name is an IP address; use an identifier of type "ip"';
  const labels = base.split('.');
  let idnLabels = false;
  // "*.com" has two labels; that it is a wildcard over a public suffix is policy, said below.
  if (labels.length + (wildcard ? 1 : 0) < 2) return 'the name has only one label';
  for (const label of labels) {
    if (label.length === 0) return 'the name has an empty label';
    if (label.length > 63) return `the label "${label}" is longer than 63 characters`;
    if (!LDH_LABEL.test(label)) return `the label "${label}" is not a valid DNS label (a-z, 0-9 and inner hyphens only)`;
    if (label.slice(2, 4) === '--') {
      if (!label.startsWith('xn--')) return `the label "${label}" has hyphens in the third and fourth positions but is not an IDN (xn--) label`;
      idnLabels = true;
    }
  }
  return idnLabels ? idnProblem(base) : undefined;
}

/**
 * Why a dns identifier value cannot be certified, or undefined when it can. `name` must already be normalised
 * (`normaliseDnsName`); upper-case letters are refused here so a caller that forgot cannot bypass the blocklist.
 */
export function dnsNameRefusal(name: string, blocklist?: Blocklist): Refusal | undefined {
  const syntax = syntaxProblem(name);
  if (syntax) return malformed(syntax);
  const wildcard = name.startsWith('*.');
  const base = wildcard ? name.slice(2) : name;
  if (REVERSE_ZONES.some((zone) => base === zone || base.endsWith(`.${zone}`))) {
    return rejected(`names in the IP reverse-lookup zones (${REVERSE_ZONES.join(', ')}) are not certified`);
  }
  // ICANN section only: a private-section suffix (github.io) is a registrable domain to a CA, as in Boulder.
  const parsed = parseDomain(base, { allowPrivateDomains: false, extractHostname: false });
  if (!parsed.publicSuffix || parsed.isIcann !== true) return rejected('the name does not end in a public top-level domain');
  if (!parsed.domain) {
    return rejected(wildcard ? `a wildcard directly under the public suffix "${base}" is not allowed` : `"${base}" is a public suffix, not a registrable domain`);
  }
  if (blocklist) {
    const blocked = blocklist.names.has(base) ? base : blockedSuffix(base, blocklist.suffixes);
    if (blocked !== undefined) return rejected(`the name is blocked by policy ("${blocked}")`);
  }
  return undefined;
}

function blockedSuffix(name: string, suffixes: ReadonlySet<string>): string | undefined {
  for (let candidate = name; suffixes.size > 0; ) {
    if (suffixes.has(candidate)) return candidate;
    const dot = candidate.indexOf('.');
    if (dot < 0) break;
    candidate = candidate.slice(dot + 1);
  }
  return undefined;
}

/** Why a DNS name cannot be certified, or undefined when it can. `name` is lower-case, without a trailing dot. */
export function domainProblem(name: string): string | undefined {
  return dnsNameRefusal(name)?.detail;
}
