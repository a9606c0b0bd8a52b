// Key policy, without a server: the subscriber and account keys the CA accepts, and the weak RSA moduli it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type KeyObject, checkPrimeSync, createPublicKey, generateKeyPairSync, generatePrimeSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AcmeProblem } from '../src/index.js';
import { checkAccountKey, checkSubscriberKey, spkiSha256 } from '../src/policy/index.js';

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const bitLength = (n: bigint) => n.toString(2).length;
const isPrime = (n: bigint) => checkPrimeSync(n, { checks: 32 });
const toBase64url = (n: bigint) => Buffer.from(n.toString(16).padStart(Math.ceil(n.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');
/** An RSA public key with any modulus: OpenSSL does not check that n is a product of two primes. */
const rsaKey = (n: bigint, e = 65537n) => createPublicKey({ key: { kty: 'RSA', n: toBase64url(n), e: toBase64url(e) }, format: 'jwk' });

const badPublicKey = (pattern: RegExp) => (err: unknown) =>
  err instanceof AcmeProblem && err.type === 'urn:ietf:params:acme:error:badPublicKey' && err.status === 400 && pattern.test(err.message);
/** Refused both as a CSR key and as an account key. */
function refusedEverywhere(key: KeyObject, pattern: RegExp) {
  assert.throws(() => checkSubscriberKey(spki(key)), badPublicKey(pattern));
  assert.throws(() => checkAccountKey(key), badPublicKey(pattern));
}

interface RocaFixture { n: string; e: number; primorialPrimes: number; primes: Array<{ p: string; k: string; a: string }> }
interface FermatFixture { n: string; e: number; p: string; q: string }
const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as T;
const big = (hex: string) => BigInt(`0x${hex}`);

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (base %= modulus; exponent > 0n; exponent >>= 1n, base = (base * base) % modulus) {
    if (exponent & 1n) result = (result * base) % modulus;
  }
  return result;
}

test('RSA 2048, 3072 and 4096 with e = 65537 pass, and the certificate gets the canonical SPKI', () => {
  for (const modulusLength of [2048, 3072, 4096]) {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength });
    const accepted = checkSubscriberKey(spki(publicKey));
    assert.equal(accepted.isRsa, true);
    assert.deepEqual(accepted.spki, spki(publicKey), `${modulusLength}`);
    assert.doesNotThrow(() => checkAccountKey(publicKey), `${modulusLength}`);
  }
});

test('RSA sizes other than 2048, 3072 and 4096 bits, and exponents other than 65537, are badPublicKey', () => {
  refusedEverywhere(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, /must be 2048, 3072 or 4096 bits, this one has 1024/);
  // Any odd number of the size will do: the size is judged before the modulus is.
  refusedEverywhere(rsaKey((1n << 2046n) | 1n), /this one has 2047/);
  refusedEverywhere(rsaKey((1n << 2055n) | 1n), /this one has 2056/); // a multiple of 8 between the sizes
  refusedEverywhere(rsaKey((1n << 8191n) | 1n), /this one has 8192/);
  refusedEverywhere(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey, /exponent must be 65537, this one is 3/);
  const sound = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const n = BigInt(`0x${Buffer.from(sound.export({ format: 'jwk' }).n!, 'base64url').toString('hex')}`);
  refusedEverywhere(rsaKey(n, 65539n), /exponent must be 65537, this one is 65539/);
});

test('an RSA modulus with a prime factor below 1000 is badPublicKey', () => {
  // A 2048-bit n = 3·m and n = 997·p·q (997 the largest prime below 1000, p and q real primes).
  let m = (1n << 2047n) / 3n + 1n;
  m += 1n - (m % 2n); // odd, so 3 is the smallest factor of 3m
  refusedEverywhere(rsaKey(3n * m), /small prime factor \(3\)/);
  for (;;) {
    const p = generatePrimeSync(1024, { bigint: true });
    const q = generatePrimeSync(1014, { bigint: true });
    const n = 997n * p * q;
    if (bitLength(n) !== 2048) continue;
    refusedEverywhere(rsaKey(n), /small prime factor \(997\)/);
    break;
  }
});

test('a real ROCA-vulnerable modulus (fixture) is badPublicKey', () => {
  const roca = fixture<RocaFixture>('rsa-roca.json');
  // The fixture is what it claims: n = p1·p2, 2048 bits, each prime p = k·M + (65537^a mod M) with M the product of
  // the first 126 primes, the form Infineon's RSALib used for 2048-bit keys.
  const M = (() => {
    const primes: bigint[] = [];
    for (let c = 2n; primes.length < roca.primorialPrimes; c++) if (primes.every((p) => c % p !== 0n)) primes.push(c);
    return primes.reduce((product, p) => product * p, 1n);
  })();
  assert.equal(roca.primorialPrimes, 126);
  const n = big(roca.n);
  assert.equal(bitLength(n), 2048);
  assert.equal(roca.primes.reduce((product, { p }) => product * big(p), 1n), n);
  for (const { p, k, a } of roca.primes) {
    assert.ok(isPrime(big(p)));
    assert.equal(big(p), big(k) * M + modPow(65537n, big(a), M));
  }
  refusedEverywhere(rsaKey(n, BigInt(roca.e)), /ROCA-vulnerable Infineon library \(CVE-2017-15361\)/);
});

test('a real Fermat-factorable modulus (fixture) is badPublicKey; primes only moderately close pass', () => {
  const fermat = fixture<FermatFixture>('rsa-fermat.json');
  const [n, p, q] = [big(fermat.n), big(fermat.p), big(fermat.q)];
  // The fixture is what it claims: two real 1024-bit primes, 2^515 < q − p < 2^516, making a 2048-bit n.
  assert.equal(p * q, n);
  assert.equal(bitLength(n), 2048);
  assert.ok(isPrime(p) && isPrime(q));
  assert.equal(bitLength(q - p), 516);
  refusedEverywhere(rsaKey(n, BigInt(fermat.e)), /Fermat-factorable: .* \d+ round\(s\) of Fermat's method/);
  // A square n = p² (p = q) is the extreme case: the first round factors it.
  for (;;) {
    const prime = generatePrimeSync(1024, { bigint: true });
    if (bitLength(prime * prime) !== 2048) continue;
    refusedEverywhere(rsaKey(prime * prime), /Fermat-factorable: .* 1 round\(s\)/);
    break;
  }
  // q − p ≈ 2^530 would take Fermat's method some 2^33 rounds: beyond the bound, so such a key passes.
  let far = p + (1n << 530n);
  while (!isPrime(far)) far += 2n;
  assert.equal(bitLength(p * far), 2048);
  assert.doesNotThrow(() => checkSubscriberKey(spki(rsaKey(p * far))));
});

test('ECDSA P-256 and P-384 pass; P-521, secp256k1, Ed25519 and Ed448 are badPublicKey for certificates', () => {
  for (const namedCurve of ['P-256', 'P-384']) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve });
    const accepted = checkSubscriberKey(spki(publicKey));
    assert.equal(accepted.isRsa, false);
    assert.deepEqual(accepted.spki, spki(publicKey));
  }
  const refuse = (key: KeyObject, pattern: RegExp) => assert.throws(() => checkSubscriberKey(spki(key)), badPublicKey(pattern));
  refuse(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey, /P-256 or P-384, not secp521r1/);
  refuse(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey, /P-256 or P-384, not secp256k1/);
  refuse(generateKeyPairSync('ed25519').publicKey, /key type "ed25519" is not accepted/);
  refuse(generateKeyPairSync('ed448').publicKey, /key type "ed448" is not accepted/);
  assert.throws(() => checkSubscriberKey(Buffer.from('not a key')), (err: unknown) => err instanceof AcmeProblem && err.type.endsWith(':badCSR'));
});

test('account keys: P-256, P-384 and Ed25519 pass; P-521, secp256k1 and Ed448 are badPublicKey', () => {
  for (const key of [
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
    generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
    generateKeyPairSync('ed25519').publicKey,
  ]) {
    assert.doesNotThrow(() => checkAccountKey(key), key.asymmetricKeyType);
  }
  for (const key of [
    generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey,
    generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
    generateKeyPairSync('ed448').publicKey,
  ]) {
    assert.throws(() => checkAccountKey(key), badPublicKey(/account keys must be RSA \(2048, 3072 or 4096 bits\), ECDSA \(P-256 or P-384\) or Ed25519/));
  }
});

test('spkiSha256 is the hex SHA-256 of exactly the bytes given', () => {
  // FIPS 180-2 test vectors: SHA-256 of "" and of "abc".
  assert.equal(spkiSha256(new Uint8Array()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const padded = Buffer.from('xabcx');
  assert.equal(spkiSha256(padded.subarray(1, 4)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
