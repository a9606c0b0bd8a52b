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

/** A subscriber key the CA accepts, with the SPKI to put in the certificate. */
export interface SubscriberKey {
  key: KeyObject;
  /** Canonical DER SubjectPublicKeyInfo, whatever the CSR's encoding was. */
  spki: Buffer;
  isRsa: boolean;
}

// Canonical SPKI prefixes (SEQUENCE, AlgorithmIdentifier ecPublicKey + named curve, BIT STRING header) of an
// uncompressed P-256 / P-384 point. A CSR key in exactly this form skips OpenSSL's SPKI decoder and re-encoder, which
// cost about 0.5 ms per finalize (bench/acme-issuance profile); importing the point as a JWK still checks it is on the curve.
const EC_SPKI_PREFIXES = [
  { crv: 'P-256', prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), coordinate: 32 },
  { crv: 'P-384', prefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), coordinate: 48 },
];

function canonicalEcKey(spkiDer: Buffer): SubscriberKey | undefined {
  for (const { crv, prefix, coordinate } of EC_SPKI_PREFIXES) {
    if (spkiDer.length !== prefix.length + 1 + 2 * coordinate || spkiDer[prefix.length] !== 0x04) continue;
    if (!spkiDer.subarray(0, prefix.length).equals(prefix)) continue;
    const point = spkiDer.subarray(prefix.length + 1);
    const jwk = { kty: 'EC', crv, x: point.subarray(0, coordinate).toString('base64url'), y: point.subarray(coordinate).toString('base64url') };
    try {
      return { key: createPublicKey({ key: jwk, format: 'jwk' }), spki: spkiDer, isRsa: false };
    } catch {
      throw new AcmeProblem('badPublicKey', `the CSR's ${crv} public key is not a point on the curve`);
    }
  }
  return undefined;
}

/** Keys the CA certifies (BR 6.1.5): RSA 2048–4096 with e = 65537, ECDSA P-256 or P-384. Throws badPublicKey. */
export function checkSubscriberKey(spkiDer: Uint8Array): SubscriberKey {
  const der = Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength);
  const fast = canonicalEcKey(der);
  if (fast) return fast;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
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
  if (description.kind === 'ec') {
    // Certificates carry the uncompressed point (RFC 5480 §2.2: the form every client supports; Go's parser takes no
    // other), whatever form the CSR used.
    const jwk = key.export({ format: 'jwk' });
    const entry = EC_SPKI_PREFIXES.find((e) => e.crv === jwk.crv)!;
    return { key, spki: Buffer.concat([entry.prefix, Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]), isRsa: false };
  }
  // Re-encoded by OpenSSL, so the certificate carries the canonical SPKI whatever the CSR's encoding was.
  return { key, spki: key.export({ type: 'spki', format: 'der' }), isRsa: true };
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
