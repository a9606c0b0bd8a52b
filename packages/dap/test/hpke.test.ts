import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes128Gcm } from '@hpke/core';
import { fromHex, hex } from '../src/codec.js';
import { HpkeRecipient, generateKeyPair, open, seal } from '../src/hpke/node.js';
import { openWeb, sealWeb, publicKeyFromPrivateWeb } from '../src/hpke/web.js';

// RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base.
const V = {
  info: fromHex('4f6465206f6e2061204772656369616e2055726e'),
  pkEm: fromHex('37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431'),
  skEm: fromHex('52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736'),
  pkRm: fromHex('3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d'),
  skRm: fromHex('4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8'),
  pt: fromHex('4265617574792069732074727574682c20747275746820626561757479'),
  aad0: fromHex('436f756e742d30'),
  ct0: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
};

test('node:crypto HPKE reproduces RFC 9180 A.1.1 (seal with the fixed ephemeral key, and open)', () => {
  const { enc, ciphertext } = seal(V.pkRm, V.info, V.aad0, V.pt, { publicKey: V.pkEm, privateKey: V.skEm });
  assert.equal(hex(enc), hex(V.pkEm));
  assert.equal(hex(ciphertext), V.ct0);
  assert.equal(hex(open(V.skRm, V.pkEm, V.info, V.aad0, fromHex(V.ct0))), hex(V.pt));
  const r = new HpkeRecipient(V.skRm);
  assert.equal(hex(r.publicKey), hex(V.pkRm));
  const bad = fromHex(V.ct0);
  bad[3] ^= 1;
  assert.throws(() => r.open(V.pkEm, V.info, V.aad0, bad), /decryption failed/);
  assert.throws(() => r.open(V.pkEm, V.info, fromHex('00'), fromHex(V.ct0)), /decryption failed/);
});

test('WebCrypto HPKE reproduces RFC 9180 A.1.1', async () => {
  const { enc, ciphertext } = await sealWeb(V.pkRm, V.info, V.aad0, V.pt, { publicKey: V.pkEm, privateKey: V.skEm });
  assert.equal(hex(enc), hex(V.pkEm));
  assert.equal(hex(ciphertext), V.ct0);
  assert.equal(hex(await openWeb(V.skRm, V.pkRm, V.pkEm, V.info, V.aad0, fromHex(V.ct0))), hex(V.pt));
  assert.equal(hex(await publicKeyFromPrivateWeb(V.skRm)), hex(V.pkRm));
});

test('interop with @hpke/core in both directions', async () => {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  const kp = generateKeyPair();
  const info = new TextEncoder().encode('dap-09 input share\x01\x02');
  const aad = new Uint8Array([1, 2, 3]);
  const msg = new Uint8Array(300).map((_, i) => i & 0xff);
  // @hpke/core seals, we open.
  const pk = await suite.kem.deserializePublicKey(kp.publicKey.slice().buffer);
  const sender = await suite.createSenderContext({ recipientPublicKey: pk, info: info.slice().buffer });
  const ct = new Uint8Array(await sender.seal(msg.slice().buffer, aad.slice().buffer));
  assert.deepEqual(open(kp.privateKey, new Uint8Array(sender.enc), info, aad, ct), msg);
  // We seal, @hpke/core opens.
  const sealed = seal(kp.publicKey, info, aad, msg);
  const sk = await suite.kem.deserializePrivateKey(kp.privateKey.slice().buffer);
  const recipient = await suite.createRecipientContext({ recipientKey: sk, enc: sealed.enc.slice().buffer, info: info.slice().buffer });
  assert.deepEqual(new Uint8Array(await recipient.open(sealed.ciphertext.slice().buffer, aad.slice().buffer)), msg);
});
