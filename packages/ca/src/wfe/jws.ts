// Authentication of ACME requests (RFC 8555 §6.2–6.4): flattened JSON JWS. `jose` decodes headers, computes
// thumbprints and checks EAB MACs; the account-key signature of every request is checked with node:crypto (below).
import { calculateJwkThumbprint, decodeProtectedHeader, flattenedVerify, type FlattenedJWSInput, type JWK, type ProtectedHeaderParameters } from 'jose';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AcmeProblem, type Account } from '../core/index.js';
import { checkAccountKey } from '../policy/index.js';

export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256', 'ES384', 'EdDSA'];
const EAB_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

export interface ParsedJws {
  header: ProtectedHeaderParameters;
  jws: FlattenedJWSInput;
}

/** Structural checks before any cryptography: flattened form, no unprotected header, an accepted algorithm. */
export function parseJws(body: unknown, accepted = ACCEPTED_ALGORITHMS): ParsedJws {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AcmeProblem('malformed', 'the request body must be a flattened JSON JWS object');
  }
  const jws = body as Record<string, unknown>;
  if ('signatures' in jws) throw new AcmeProblem('malformed', 'use the flattened JWS serialization, not the general one');
  if ('header' in jws) throw new AcmeProblem('malformed', 'the JWS must not have an unprotected header');
  if (typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
    throw new AcmeProblem('malformed', 'the JWS needs string "protected", "payload" and "signature" members');
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws as unknown as FlattenedJWSInput);
  } catch {
    throw new AcmeProblem('malformed', 'the JWS protected header is not valid base64url JSON');
  }
  if (typeof header.alg !== 'string' || !accepted.includes(header.alg)) {
    const problem = new AcmeProblem(
      'badSignatureAlgorithm',
      `JWS algorithm ${JSON.stringify(header.alg)} is not accepted; use one of ${accepted.join(', ')}`,
    );
    problem.algorithms = accepted;
    throw problem;
  }
  if (header.jwk !== undefined && header.kid !== undefined) {
    throw new AcmeProblem('malformed', 'the JWS protected header must contain either "jwk" or "kid", not both');
  }
  if (header.jwk === undefined && header.kid === undefined) {
    throw new AcmeProblem('malformed', 'the JWS protected header must contain "jwk" or "kid"');
  }
  if (header.b64 !== undefined || header.crit !== undefined) {
    throw new AcmeProblem('malformed', 'the JWS must not use "b64" or "crit"');
  }
  return { header, jws: jws as unknown as FlattenedJWSInput };
}

/** Imports a public JWK (rejecting private members and weak keys) and returns the key with its thumbprint. */
export async function importAccountJwk(jwk: unknown, alg: string): Promise<{ key: KeyObject; jwk: JWK; thumbprint: string }> {
  if (typeof jwk !== 'object' || jwk === null) throw new AcmeProblem('malformed', 'the "jwk" header must be a JSON Web Key object');
  const candidate = jwk as JWK;
  if (candidate.d !== undefined || candidate.p !== undefined || candidate.k !== undefined) {
    throw new AcmeProblem('malformed', 'the "jwk" header must hold a public key only');
  }
  if (!['RSA', 'EC', 'OKP'].includes(String(candidate.kty))) {
    throw new AcmeProblem('badPublicKey', `key type ${JSON.stringify(candidate.kty)} is not accepted`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: candidate as any, format: 'jwk' });
    checkAccountKey(key);
  } catch (err) {
    if (err instanceof AcmeProblem) throw err;
    throw new AcmeProblem('malformed', `the JWK cannot be parsed: ${(err as Error).message}`);
  }
  checkKeyFitsAlgorithm(key, alg, 'the key');
  return { key, jwk: candidate, thumbprint: await calculateJwkThumbprint(candidate, 'sha256') };
}

/**
 * How each accepted JWS algorithm is checked with node:crypto: digest, signature encoding and the key it needs.
 * Hand-written instead of jose's flattenedVerify because jose goes through WebCrypto, whose per-call overhead made
 * the signature check of every ACME request about 1 ms of server CPU per issued certificate (bench/acme-issuance
 * profile, 2026-12-04); node:crypto with a kept KeyObject does the same check in under a tenth of that.
 */
const JWS_VERIFIERS: Record<string, { digest: string | null; p1363: boolean; keyType: string; curve?: string }> = {
  RS256: { digest: 'sha256', p1363: false, keyType: 'rsa' },
  ES256: { digest: 'sha256', p1363: true, keyType: 'ec', curve: 'prime256v1' },
  ES384: { digest: 'sha384', p1363: true, keyType: 'ec', curve: 'secp384r1' },
  EdDSA: { digest: null, p1363: false, keyType: 'ed25519' },
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function checkKeyFitsAlgorithm(key: KeyObject, alg: string, what: string): void {
  const verifier = JWS_VERIFIERS[alg];
  const fits =
    verifier !== undefined &&
    key.asymmetricKeyType === verifier.keyType &&
    (verifier.curve === undefined || key.asymmetricKeyDetails?.namedCurve === verifier.curve);
  if (!fits) throw new AcmeProblem('badSignatureAlgorithm', `${what} does not fit algorithm ${alg}`);
}

/** Checks the JWS signature with `key` and returns the decoded payload. `alg` was vetted by `parseJws`. */
export async function verifySignature(jws: FlattenedJWSInput, key: KeyObject, alg: string): Promise<Uint8Array> {
  const verifier = JWS_VERIFIERS[alg];
  const payload = jws.payload as string;
  if (!verifier || !BASE64URL.test(payload) || !BASE64URL.test(jws.signature)) {
    throw new AcmeProblem('malformed', 'JWS verification error: the payload and signature must be base64url');
  }
  const signingInput = Buffer.from(`${jws.protected}.${payload}`, 'ascii');
  const signature = Buffer.from(jws.signature, 'base64url');
  let valid = false;
  try {
    valid = verify(verifier.digest, signingInput, verifier.p1363 ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new AcmeProblem('malformed', 'JWS verification error: the signature does not match the protected header and payload');
  return Buffer.from(payload, 'base64url');
}

/** The payload as JSON, or undefined for POST-as-GET (empty payload). */
export function decodePayload(payload: Uint8Array): unknown {
  if (payload.length === 0) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch {
    throw new AcmeProblem('malformed', 'the JWS payload must be a JSON object (or empty for POST-as-GET)');
  }
}

/** Verifies an External Account Binding (RFC 8555 §7.3.4); returns the EAB key identifier. */
export async function verifyExternalAccountBinding(
  eab: unknown,
  accountJwk: JWK,
  url: string,
  keys: Record<string, string>,
): Promise<string> {
  const { header, jws } = (() => {
    try {
      return parseEab(eab);
    } catch (err) {
      if (err instanceof AcmeProblem) throw new AcmeProblem('malformed', `externalAccountBinding: ${err.message}`);
      throw err;
    }
  })();
  const kid = header.kid;
  if (typeof kid !== 'string' || !(kid in keys)) {
    throw new AcmeProblem('unauthorized', `externalAccountBinding: unknown key identifier ${JSON.stringify(kid)}`);
  }
  if (header.url !== url) throw new AcmeProblem('malformed', 'externalAccountBinding: "url" must be the newAccount URL');
  if (header.nonce !== undefined) throw new AcmeProblem('malformed', 'externalAccountBinding: must not contain a nonce');
  let payload: Uint8Array;
  try {
    ({ payload } = await flattenedVerify(jws, Buffer.from(keys[kid]!, 'base64url'), { algorithms: EAB_ALGORITHMS }));
  } catch {
    throw new AcmeProblem('unauthorized', 'externalAccountBinding: the MAC does not verify with the key for this key identifier');
  }
  let boundKey: JWK;
  try {
    boundKey = JSON.parse(Buffer.from(payload).toString('utf8')) as JWK;
  } catch {
    throw new AcmeProblem('malformed', 'externalAccountBinding: the payload must be the account JWK');
  }
  const [bound, outer] = await Promise.all([calculateJwkThumbprint(boundKey, 'sha256'), calculateJwkThumbprint(accountJwk, 'sha256')]).catch(() => {
    throw new AcmeProblem('malformed', 'externalAccountBinding: the payload is not a valid JWK');
  });
  if (bound !== outer) throw new AcmeProblem('unauthorized', 'externalAccountBinding: the bound key is not the account key');
  return kid;
}

function parseEab(eab: unknown): ParsedJws {
  if (typeof eab !== 'object' || eab === null) throw new AcmeProblem('malformed', 'must be a flattened JWS object');
  const jws = eab as Record<string, unknown>;
  if (typeof jws.protected !== 'string' || typeof jws.payload !== 'string' || typeof jws.signature !== 'string') {
    throw new AcmeProblem('malformed', 'needs string "protected", "payload" and "signature" members');
  }
  const header = decodeProtectedHeader(jws as unknown as FlattenedJWSInput);
  if (typeof header.alg !== 'string' || !EAB_ALGORITHMS.includes(header.alg)) {
    throw new AcmeProblem('malformed', `algorithm must be one of ${EAB_ALGORITHMS.join(', ')}`);
  }
  return { header, jws: jws as unknown as FlattenedJWSInput };
}

/** Small bounded cache of imported account keys: importing is the costly part of verifying a kid request. */
export class AccountKeyCache {
  private readonly keys = new Map<string, KeyObject>();
  constructor(private readonly capacity = 10_000) {}

  async get(account: Account, alg: string): Promise<KeyObject> {
    let key = this.keys.get(account.thumbprint);
    if (!key) {
      try {
        key = createPublicKey({ key: account.jwk as any, format: 'jwk' });
      } catch (err) {
        throw new AcmeProblem('badSignatureAlgorithm', `the account key cannot be imported: ${(err as Error).message}`);
      }
      this.keys.set(account.thumbprint, key);
      if (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value as string);
    }
    checkKeyFitsAlgorithm(key, alg, 'the account key');
    return key;
  }
}
