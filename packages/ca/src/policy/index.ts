// Policy authority: which identifiers the CA will certify and which keys it accepts. Pure functions, no I/O.
import { KeyObject, createPublicKey } from 'node:crypto';
import { domainToUnicode } from 'node:url';
import { parse as parseDomain } from 'tldts';
import { AcmeProblem, type Identifier, type ProblemDocument } from '../core/index.js';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why a DNS name cannot be certified, or undefined when it can. `name` is lower-case, without a trailing dot. */
export function domainProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > 253) return 'the name is longer than 253 characters';
  if (name.endsWith('.')) return 'the name must not end with a dot';
  let base = name;
  const wildcard = name.startsWith('*.');
  if (wildcard) base = name.slice(2);
  if (base.includes('*')) return 'a wildcard is only allowed as the whole leftmost label ("*.example.com")';
  const parsed = parseDomain(base);
  if (parsed.isIp || /^[0-9.]+$/.test(base) || base.includes(':')) return 'IP address literals are not DNS names';
  const labels = base.split('.');
  if (!parsed.domain && parsed.isIcann === true && parsed.publicSuffix === base) {
    return wildcard
      ? `a wildcard directly under the public suffix "${base}" is not allowed`
      : `"${base}" is a public suffix, not a registrable domain`;
  }
  if (labels.length < 2) return 'the name has only one label';
  for (const label of labels) {
    if (!LABEL.test(label)) return `the label "${label}" is not a valid DNS label (a-z, 0-9 and inner hyphens, at most 63 characters)`;
    if (label.slice(2, 4) === '--') {
      if (!label.startsWith('xn--')) return `the label "${label}" has hyphens in the third and fourth positions but is not an IDN (xn--) label`;
      const unicode = domainToUnicode(label);
      if (!unicode || unicode === label) return `the label "${label}" is not valid punycode`;
    }
  }
  if (!parsed.publicSuffix || parsed.isIcann !== true) return 'the name does not end in a public top-level domain';
  if (!parsed.domain) {
    return wildcard
      ? `a wildcard directly under the public suffix "${base}" is not allowed`
      : `"${base}" is a public suffix, not a registrable domain`;
  }
  return undefined;
}

/**
 * Checks the identifiers of a new order; returns them normalised (lower case, de-duplicated, sorted) or throws a
 * problem with one subproblem per refused identifier.
 */
export function checkOrderIdentifiers(identifiers: Identifier[], maxNames: number): Identifier[] {
  if (!Array.isArray(identifiers) || identifiers.length === 0) {
    throw new AcmeProblem('malformed', 'the order has no identifiers');
  }
  const subproblems: ProblemDocument[] = [];
  const names = new Set<string>();
  for (const identifier of identifiers) {
    if (typeof identifier !== 'object' || identifier === null || typeof identifier.type !== 'string' || typeof identifier.value !== 'string') {
      throw new AcmeProblem('malformed', 'each identifier must be an object with string "type" and "value"');
    }
    if (identifier.type !== 'dns') {
      subproblems.push({
        type: 'urn:ietf:params:acme:error:unsupportedIdentifier',
        detail: `identifier type "${identifier.type}" is not supported; only "dns" is`,
        status: 400,
        identifier,
      });
      continue;
    }
    const value = identifier.value.toLowerCase();
    const why = domainProblem(value);
    if (why) {
      subproblems.push({
        type: 'urn:ietf:params:acme:error:rejectedIdentifier',
        detail: `cannot issue for "${identifier.value}": ${why}`,
        status: 400,
        identifier,
      });
      continue;
    }
    names.add(value);
  }
  if (subproblems.length === 1) {
    const only = subproblems[0]!;
    const kind = only.type.endsWith('unsupportedIdentifier') ? 'unsupportedIdentifier' : 'rejectedIdentifier';
    throw new AcmeProblem(kind, only.detail, { subproblems });
  }
  if (subproblems.length > 1) {
    const kinds = new Set(subproblems.map((p) => p.type));
    const kind = kinds.size === 1 && [...kinds][0]!.endsWith('unsupportedIdentifier') ? 'unsupportedIdentifier' : kinds.size === 1 ? 'rejectedIdentifier' : 'malformed';
    throw new AcmeProblem(kind, `${subproblems.length} identifiers were refused; see subproblems`, { subproblems });
  }
  if (names.size > maxNames) {
    throw new AcmeProblem('rejectedIdentifier', `an order may hold at most ${maxNames} names, this one has ${names.size}`);
  }
  return [...names].sort().map((value) => ({ type: 'dns', value }));
}

export type KeyDescription = { kind: 'rsa'; bits: number } | { kind: 'ec'; curve: string } | { kind: 'ed25519' | 'ed448' | 'other' };

export function describeKey(key: KeyObject): KeyDescription {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { kind: 'rsa', bits: details.modulusLength ?? 0 };
    case 'ec':
      return { kind: 'ec', curve: details.namedCurve ?? 'unknown' };
    case 'ed25519':
    case 'ed448':
      return { kind: key.asymmetricKeyType };
    default:
      return { kind: 'other' };
  }
}

function rsaProblem(key: KeyObject): string | undefined {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const exponent = key.asymmetricKeyDetails?.publicExponent;
  if (bits < 2048) return `RSA keys must be at least 2048 bits, this one has ${bits}`;
  if (bits > 4096) return `RSA keys larger than 4096 bits are not accepted (this one has ${bits})`;
  if (bits % 8 !== 0) return `RSA key size must be a multiple of 8 bits, this one has ${bits}`;
  if (exponent !== undefined && exponent !== 65537n) return 'RSA public exponent must be 65537';
  return undefined;
}

/** Keys the CA certifies (BR 6.1.5): RSA 2048–4096 with e = 65537, ECDSA P-256 or P-384. Throws badPublicKey. */
export function checkSubscriberKey(spkiDer: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch {
    throw new AcmeProblem('badCSR', 'the CSR public key cannot be parsed');
  }
  const description = describeKey(key);
  if (description.kind === 'rsa') {
    const why = rsaProblem(key);
    if (why) throw new AcmeProblem('badPublicKey', why);
  } else if (description.kind === 'ec') {
    if (description.curve !== 'prime256v1' && description.curve !== 'secp384r1') {
      throw new AcmeProblem('badPublicKey', `ECDSA keys must use P-256 or P-384, not ${description.curve}`);
    }
  } else {
    throw new AcmeProblem('badPublicKey', `the CSR key type "${key.asymmetricKeyType}" is not accepted; use RSA (2048–4096) or ECDSA P-256/P-384`);
  }
  return key;
}

/** Account keys: RSA 2048–4096, ECDSA P-256/P-384/P-521, Ed25519. Throws badPublicKey. */
export function checkAccountKey(key: KeyObject): void {
  const description = describeKey(key);
  if (description.kind === 'rsa') {
    const why = rsaProblem(key);
    if (why) throw new AcmeProblem('badPublicKey', why);
    return;
  }
  if (description.kind === 'ec' && ['prime256v1', 'secp384r1', 'secp521r1'].includes(description.curve)) return;
  if (description.kind === 'ed25519') return;
  throw new AcmeProblem('badPublicKey', 'account keys must be RSA (2048–4096 bits), ECDSA (P-256, P-384, P-521) or Ed25519');
}
