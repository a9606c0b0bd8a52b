import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KeyFileError, KeyObjectSigner, Pkcs11Error, Pkcs11Session, cryptoKeySigner, ecdsaRawToDer, generateEncryptedKey, loadKeyFileSigner, openSigner,
  newSerialNumber, softHsmAvailable, throwawaySigner, useSoftHsm, verifySignature,
} from '../src/index.js';
import { openssl, tempDir } from './helpers.js';

const data = new TextEncoder().encode('to be signed');

test('ecdsaRawToDer turns r||s into the DER node verifies, including r or s with the high bit set', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  let highBitSeen = false;
  for (let i = 0; i < 40; i++) {
    const msg = Buffer.from(`message ${i}`);
    const raw = nodeSign('sha384', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    if (raw[0] & 0x80 || raw[48] & 0x80) highBitSeen = true;
    assert.ok(nodeVerify('sha384', msg, { key: publicKey, dsaEncoding: 'der' }, ecdsaRawToDer(raw)));
  }
  assert.ok(highBitSeen, 'some signature had a high-bit component');
});

test('software signers sign with the algorithm they announce; mismatched algorithms are refused', async () => {
  for (const [alg, sig] of [['ecdsa-p256', 'ecdsa-with-SHA256'], ['ecdsa-p384', 'ecdsa-with-SHA384'], ['rsa-2048', 'sha256WithRSAEncryption']] as const) {
    const signer = throwawaySigner({ keyAlgorithm: alg, signatureAlgorithm: sig });
    assert.equal(signer.keyAlgorithm, alg);
    assert.ok(verifySignature(signer.publicKey, sig, data, await signer.sign(data)));
    assert.ok(!verifySignature(signer.publicKey, sig, new TextEncoder().encode('other'), await signer.sign(data)));
  }
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  assert.throws(() => new KeyObjectSigner(p384, 'k', 'ecdsa-with-SHA256'), /cannot sign with ecdsa-with-SHA256/);
});

test('serial numbers: 17 octets, positive, 128 random bits, from the given random source', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = newSerialNumber();
    assert.equal(s.length, 17);
    assert.equal(s[0], 1);
    seen.add(Buffer.from(s).toString('hex'));
  }
  assert.equal(seen.size, 200);
  const fixed = newSerialNumber({ randomBytes: (n) => new Uint8Array(n).fill(0xff), prefix: 0x7f });
  assert.equal(Buffer.from(fixed).toString('hex'), '7f' + 'ff'.repeat(16));
  assert.throws(() => newSerialNumber({ prefix: 0x80 }), /prefix/);
  assert.throws(() => newSerialNumber({ randomBytes: () => new Uint8Array(4) }), /returned 4 bytes/);
});

test('encrypted key files: OpenSSL reads them, the right passphrase signs, a wrong one is a clear error', async () => {
  const dir = tempDir('keyfile');
  const { pem, signer } = generateEncryptedKey('ecdsa-p384', 'correct horse battery', 'test');
  const path = join(dir, 'e1.key.pem');
  writeFileSync(path, pem);
  assert.match(pem, /BEGIN ENCRYPTED PRIVATE KEY/);
  assert.equal(openssl('pkey', '-in', path, '-passin', 'pass:correct horse battery', '-noout').status, 0);
  assert.notEqual(openssl('pkey', '-in', path, '-passin', 'pass:wrong', '-noout').status, 0);
  const loaded = loadKeyFileSigner(path, 'correct horse battery');
  assert.deepEqual(loaded.publicKey, signer.publicKey);
  assert.equal(loaded.description, `file:${path}`);
  assert.ok(verifySignature(signer.publicKey, 'ecdsa-with-SHA384', data, await loaded.sign(data)));
  assert.throws(() => loadKeyFileSigner(path, 'wrong passphrase'), (e: unknown) => e instanceof KeyFileError && /wrong passphrase/.test(e.message));
  assert.throws(() => loadKeyFileSigner(join(dir, 'missing.pem'), 'x'), /cannot read the key file \(ENOENT\)/);
  assert.throws(() => generateEncryptedKey('ecdsa-p256', 'short', 't'), /at least 8 characters/);
});

test('PKCS#11 on SoftHSM2: generate, find, sign; wrong PIN, missing and duplicate labels, key mismatch', { skip: !softHsmAvailable() && 'softhsm2 is not installed' }, async () => {
  const hsm = useSoftHsm(tempDir('softhsm'));
  const slot = hsm.initToken('test HSM', '1234', '5678');
  const session = Pkcs11Session.open({ module: hsm.module, tokenLabel: 'test HSM', pin: '1234' });
  try {
    const made = {
      p256: session.generateKeyPair('leafy', 'ecdsa-p256'),
      p384: session.generateKeyPair('E1', 'ecdsa-p384'),
      rsa: session.generateKeyPair('R3', 'rsa-2048'),
    };
    assert.equal(made.p384.description, 'pkcs11:token=test HSM;object=E1');
    for (const [label, generated, alg] of [['leafy', made.p256, 'ecdsa-with-SHA256'], ['E1', made.p384, 'ecdsa-with-SHA384'], ['R3', made.rsa, 'sha256WithRSAEncryption']] as const) {
      assert.equal(generated.signatureAlgorithm, alg);
      const found = await session.signer(label, { expectedPublicKey: generated.publicKey });
      assert.deepEqual(found.publicKey, generated.publicKey);
      assert.ok(verifySignature(found.publicKey, alg, data, await found.sign(data)), `${label} signature verifies`);
    }
    const rsa384 = await session.signer('R3', { signatureAlgorithm: 'sha384WithRSAEncryption' });
    assert.ok(verifySignature(rsa384.publicKey, 'sha384WithRSAEncryption', data, await rsa384.sign(data)));

    assert.throws(() => session.generateKeyPair('E1', 'ecdsa-p384'), (e: unknown) => e instanceof Pkcs11Error && e.reason === 'key-exists');
    await assert.rejects(session.signer('nope'), (e: unknown) => e instanceof Pkcs11Error && e.reason === 'key-missing' && /no private key labelled "nope"/.test(e.message));
    await assert.rejects(session.signer('E1', { expectedPublicKey: made.rsa.publicKey }), (e: unknown) => e instanceof Pkcs11Error && e.reason === 'key-mismatch');
    assert.equal(session.randomBytes(32).length, 32);

    // A second session of the same process on the same token (already logged in) works; by slot ID too.
    const second = Pkcs11Session.open({ module: hsm.module, slot, pin: '1234' });
    assert.ok(verifySignature(made.p384.publicKey, 'ecdsa-with-SHA384', data, await (await second.signer('E1')).sign(data)));
    second.close();
  } finally {
    session.close();
  }
  // Private keys are sign-only and never leave the token (checked with OpenSC's pkcs11-tool, an independent client).
  const listed = spawnSync('pkcs11-tool', ['--module', hsm.module, '--token-label', 'test HSM', '--login', '--pin', '1234', '--list-objects', '--type', 'privkey'], { encoding: 'utf8', env: process.env });
  assert.equal(listed.status, 0, listed.stderr);
  const privateKeys = listed.stdout.split('Private Key Object').slice(1);
  assert.equal(privateKeys.length, 3);
  for (const k of privateKeys) {
    assert.match(k, /Usage:\s+sign\n/);
    assert.match(k, /Access:\s+sensitive, always sensitive, never extractable/);
  }
  assert.throws(() => Pkcs11Session.open({ module: hsm.module, tokenLabel: 'test HSM', pin: '0000' }), (e: unknown) => e instanceof Pkcs11Error && e.reason === 'pin' && /wrong PIN/.test(e.message));
  assert.throws(() => Pkcs11Session.open({ module: hsm.module, tokenLabel: 'no such HSM', pin: '1234' }), (e: unknown) => e instanceof Pkcs11Error && e.reason === 'token' && /tokens present: slot \d+ "test HSM"/.test(e.message));
  assert.throws(() => Pkcs11Session.open({ module: '/nonexistent/libpkcs11.so', tokenLabel: 'x', pin: '1' }), (e: unknown) => e instanceof Pkcs11Error && e.reason === 'module');
  // After the failures the module is usable again.
  const again = Pkcs11Session.open({ module: hsm.module, tokenLabel: 'test HSM', pin: '1234' });
  assert.ok(again.hasObjectLabelled('R3'));
  again.close();
});

test('openSigner gives the same Signer interface for a token key and a key file; cryptoKeySigner adapts WebCrypto keys', { skip: !softHsmAvailable() && 'softhsm2 is not installed' }, async () => {
  const dir = tempDir('open-signer');
  const hsm = useSoftHsm(join(dir, 'softhsm'));
  hsm.initToken('ca HSM', '1234', '5678');
  const setup = Pkcs11Session.open({ module: hsm.module, tokenLabel: 'ca HSM', pin: '1234' });
  const onToken = setup.generateKeyPair('E1', 'ecdsa-p384');
  setup.close();
  const { pem, signer: fileKey } = generateEncryptedKey('rsa-2048', 'passphrase!', 'f');
  writeFileSync(join(dir, 'r3.key.pem'), pem);
  const opened = [
    await openSigner({ pkcs11: { module: hsm.module, tokenLabel: 'ca HSM', keyLabel: 'E1', pin: '1234' }, expectedPublicKey: onToken.publicKey }),
    await openSigner({ keyFile: { path: join(dir, 'r3.key.pem'), passphrase: 'passphrase!' }, expectedPublicKey: fileKey.publicKey }),
  ];
  for (const { signer, close } of opened) {
    assert.ok(verifySignature(signer.publicKey, signer.signatureAlgorithm, data, await signer.sign(data)), signer.description);
    close();
  }
  await assert.rejects(openSigner({ pkcs11: { module: hsm.module, tokenLabel: 'ca HSM', keyLabel: 'E1', pin: '1234' }, expectedPublicKey: fileKey.publicKey }), /not the key of the issuer certificate/);
  await assert.rejects(openSigner({ keyFile: { path: join(dir, 'r3.key.pem'), passphrase: 'passphrase!' }, expectedPublicKey: onToken.publicKey }), /not the expected key/);

  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const adapted = cryptoKeySigner(pair.privateKey, 'webcrypto');
  assert.equal(adapted.keyAlgorithm, 'ecdsa-p256');
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', pair.publicKey));
  assert.deepEqual(adapted.publicKey, spki);
  assert.ok(verifySignature(spki, 'ecdsa-with-SHA256', data, await adapted.sign(data)));
});
