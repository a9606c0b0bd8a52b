// Domain and key policy, without a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { AcmeProblem } from '../src/index.js';
import { checkAccountKey, checkOrderIdentifiers, checkSubscriberKey, domainProblem } from '../src/policy/index.js';

test('acceptable names: registrable domains and subdomains under ICANN suffixes, IDN labels, wildcards', () => {
  for (const name of ['example.com', 'www.example.com', 'a-b.example.co.uk', 'xn--bcher-kva.example.com', '*.example.com', 'x.github.io', `${'a'.repeat(63)}.com`]) {
    assert.equal(domainProblem(name), undefined, name);
  }
});

test('refused names say why', () => {
  const cases: Array<[string, RegExp]> = [
    ['com', /public suffix/],
    ['co.uk', /public suffix/],
    ['*.com', /wildcard directly under the public suffix/],
    ['*.co.uk', /wildcard/],
    ['1.2.3.4', /IP address/],
    ['localhost', /one label/],
    ['foo.localhost', /public top-level domain/],
    ['host.internal', /public top-level domain/],
    ['example.com.', /trailing|dot/],
    ['a..example.com', /label/],
    ['-a.example.com', /label/],
    ['under_score.example.com', /label/],
    ['ab--cd.example.com', /third and fourth/],
    ['xn--zz.example.com', /punycode/],
    ['foo.*.example.com', /leftmost/],
    [`${'a'.repeat(64)}.com`, /label/],
    [`${'a.'.repeat(127)}com`, /253/],
  ];
  for (const [name, why] of cases) {
    const problem = domainProblem(name);
    assert.ok(problem, `${name} should be refused`);
    assert.match(problem, why, name);
  }
});

test('order identifiers are lower-cased, de-duplicated and sorted', () => {
  const result = checkOrderIdentifiers(
    [{ type: 'dns', value: 'B.example.com' }, { type: 'dns', value: 'a.example.com' }, { type: 'dns', value: 'b.EXAMPLE.com' }],
    100,
  );
  assert.deepEqual(result, [{ type: 'dns', value: 'a.example.com' }, { type: 'dns', value: 'b.example.com' }]);
  assert.throws(() => checkOrderIdentifiers([{ type: 'dns', value: 'a.example.com' }, { type: 'dns', value: 'b.example.com' }], 1), /at most 1 names/);
});

test('subscriber keys: RSA 2048-4096 and P-256/P-384 only', () => {
  const spki = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) => key.export({ type: 'spki', format: 'der' });
  assert.doesNotThrow(() => checkSubscriberKey(spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)));
  assert.doesNotThrow(() => checkSubscriberKey(spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey)));
  assert.doesNotThrow(() => checkSubscriberKey(spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)));
  const refuse = (der: Buffer, pattern: RegExp) =>
    assert.throws(() => checkSubscriberKey(der), (err: unknown) => err instanceof AcmeProblem && err.type.endsWith(':badPublicKey') && pattern.test(err.message));
  refuse(spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), /at least 2048/);
  refuse(spki(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey), /65537/);
  refuse(spki(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey), /P-256 or P-384/);
  refuse(spki(generateKeyPairSync('ed25519').publicKey), /not accepted/);
  assert.throws(() => checkSubscriberKey(Buffer.from('not a key')), (err: unknown) => err instanceof AcmeProblem && err.type.endsWith(':badCSR'));
});

test('account keys: also P-521 and Ed25519, still no weak RSA', () => {
  assert.doesNotThrow(() => checkAccountKey(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey));
  assert.doesNotThrow(() => checkAccountKey(generateKeyPairSync('ed25519').publicKey));
  assert.throws(() => checkAccountKey(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), /at least 2048/);
  assert.throws(() => checkAccountKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), /account keys must be/);
});
