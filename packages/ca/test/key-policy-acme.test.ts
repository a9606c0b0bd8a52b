// Key policy as subscribers meet it: blocked keys (the table keyed by SPKI SHA-256) refused for accounts and CSRs,
// and the weak-key checks reaching finalize. Authorization reuse is per account and per profile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPublicKey as publicKeyOf, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { join } from 'node:path';
import { spkiSha256 } from '../src/policy/index.js';
import { StorageAuthority } from '../src/sa/index.js';
import { makeCsr, newAccountKey, validateHttp01Authorizations, type AcmeTestClient } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

let h: Harness;
let client: AcmeTestClient;
/** A second connection to the CA's database, as an operator's admin tool would have. */
let sa: StorageAuthority;
before(async () => {
  h = await startHarness();
  client = await h.client();
  await client.register();
  sa = await StorageAuthority.openSqlite(join(h.dataDir, 'ca.sqlite3'));
});
after(async () => {
  await sa?.close();
  await h?.close();
});

const spkiOfJwk = (jwk: object) => publicKeyOf({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'der' });

describe('blocked keys', () => {
  test('a blocked account key cannot register, nor be rolled over to', async () => {
    const key = await newAccountKey('ES256');
    await sa.blockKey(spkiSha256(spkiOfJwk(key.jwk)), 'admin', Date.now(), 'test');
    const blocked = await h.client(key);
    const problem = assertProblem(await blocked.register(), 'badPublicKey', 400);
    assert.match(problem.detail, /blocked/);
  });

  test('a CSR with a blocked key is badPublicKey at finalize; the order stays ready for another key', async () => {
    const names = ['blocked-csr.example.com'];
    const created = await client.newOrder(names);
    await validateHttp01Authorizations(client, h.responder, created.json().authorizations);
    const csr = await makeCsr(names);
    await sa.blockKey(spkiSha256(spkiOfJwk(csr.publicJwk)), 'key-compromise', Date.now());
    assertProblem(await client.post(created.json().finalize, { csr: csr.csrDer.toString('base64url') }), 'badPublicKey', 400);
    assert.equal((await client.post(created.header('location')!, undefined)).json().status, 'ready');
    const other = await makeCsr(names);
    assert.equal((await client.post(created.json().finalize, { csr: other.csrDer.toString('base64url') })).status, 200);
  });
});

/** The private key of a fixture modulus from its primes, as a JWK node:crypto and WebCrypto import. */
function rsaJwk(p: bigint, q: bigint, e: bigint): webcrypto.JsonWebKey {
  const inverse = (a: bigint, m: bigint) => {
    let [oldR, r, oldS, s] = [a % m, m, 1n, 0n];
    while (r !== 0n) {
      const quotient = oldR / r;
      [oldR, r] = [r, oldR - quotient * r];
      [oldS, s] = [s, oldS - quotient * s];
    }
    return ((oldS % m) + m) % m;
  };
  const d = inverse(e, (p - 1n) * (q - 1n));
  const b64 = (n: bigint) => Buffer.from(n.toString(16).padStart(Math.ceil(n.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');
  return { kty: 'RSA', n: b64(p * q), e: b64(e), d: b64(d), p: b64(p), q: b64(q), dp: b64(d % (p - 1n)), dq: b64(d % (q - 1n)), qi: b64(inverse(q, p)), alg: 'RS256', ext: true };
}

async function csrWithFixtureKey(fixtureName: string, names: string[]): Promise<Buffer> {
  const fixture = JSON.parse(readFileSync(new URL(`./fixtures/${fixtureName}`, import.meta.url), 'utf8'));
  const [p, q] = fixture.primes ? fixture.primes.map((x: { p: string }) => BigInt(`0x${x.p}`)) : [BigInt(`0x${fixture.p}`), BigInt(`0x${fixture.q}`)];
  assert.equal((p * q).toString(16), fixture.n.replace(/^0+/, ''), `${fixtureName}: n = p·q`);
  const jwk = rsaJwk(p, q, BigInt(fixture.e));
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const privateKey = await webcrypto.subtle.importKey('jwk', jwk, algorithm, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true }, algorithm, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [names[0]!] }],
    keys: { privateKey, publicKey } as never,
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  return Buffer.from(csr.rawData);
}

describe('weak RSA keys at finalize, with real weak moduli', () => {
  for (const [fixture, weakness] of [['rsa-roca.json', /ROCA/], ['rsa-fermat.json', /Fermat/]] as const) {
    test(`${fixture}: badPublicKey naming the weakness`, async () => {
      const names = [`${fixture.replace('.json', '')}.example.com`];
      const created = await client.newOrder(names);
      await validateHttp01Authorizations(client, h.responder, created.json().authorizations);
      const csr = await csrWithFixtureKey(fixture, names);
      const problem = assertProblem(await client.post(created.json().finalize, { csr: csr.toString('base64url') }), 'badPublicKey', 400);
      assert.match(problem.detail, weakness);
    });
  }
});

describe('authorization reuse is per account and per profile', () => {
  test('a valid classic authorization is reused by a classic order of the same account only', async () => {
    const names = ['reuse.example.com'];
    const first = await client.newOrder(names);
    await validateHttp01Authorizations(client, h.responder, first.json().authorizations);
    const again = (await client.newOrder(names)).json();
    assert.equal(again.status, 'ready');
    assert.deepEqual(again.authorizations, first.json().authorizations);
    const tlsserver = (await client.newOrder(names, { profile: 'tlsserver' })).json();
    assert.equal(tlsserver.status, 'pending', 'another profile validates afresh');
    assert.equal(tlsserver.profile, 'tlsserver');
    const stranger = await h.client();
    await stranger.register();
    assert.equal((await stranger.newOrder(names)).json().status, 'pending', 'another account validates afresh');
  });
});
