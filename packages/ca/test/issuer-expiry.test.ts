// A leaf never outlives its issuing certificate: finalize refuses (and leaves the order ready) when the intermediate
// expires before the leaf would, whether from the default validity or a requested notBefore/notAfter.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AcmeProblem } from '../src/index.js';
import type { Account, Order } from '../src/core/index.js';
import type { Hierarchy, IssuerChain } from '../src/issuer/index.js';
import type { RegistrationAuthority } from '../src/ra/index.js';
import { makeCsr } from './support/acme.js';
import { startTestRa, type TestRa } from './support/ra.js';

const DAY = 86_400_000;
let t: TestRa;
let ra: RegistrationAuthority;
let account: Account;
const accountUri = 'https://127.0.0.1/acme/acct/test-account';

/** A self-signed P-384 CA certificate valid for `days` from now, standing in for the issuing intermediate. */
async function shortLivedIssuer(name: 'ecdsa' | 'rsa', days: number): Promise<IssuerChain> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=expiring ${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
    keys: keys as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  const signer = {
    keyAlgorithm: 'ecdsa-p384',
    signatureAlgorithm: 'ecdsa-with-SHA384',
    publicKey: new Uint8Array(cert.publicKey.rawData),
    description: 'stand-in issuer that never signs',
    sign: async () => {
      throw new Error('stand-in issuer: asked to sign');
    },
  } as unknown as IssuerChain['signer'];
  return { name, keyTypes: [name], active: true, intermediate: { cert, pem: cert.toString('pem') }, signer, root: cert, chainsPem: [cert.toString('pem')], chainRoots: [cert] };
}

before(async () => {
  const hierarchy = { issuers: [await shortLivedIssuer('ecdsa', 30), await shortLivedIssuer('rsa', 30)] } as unknown as Hierarchy;
  t = await startTestRa({ hierarchy });
  ({ ra, account } = t);
});

after(async () => {
  await t?.close();
});

/** An order for `name`, validated (the stand-in VA accepts everything) and therefore ready. */
async function readyOrder(name: string, validity: { notBefore?: string; notAfter?: string } = {}): Promise<Order> {
  const order = await ra.orders.create(account, { identifiers: [{ type: 'dns', value: name }], ...validity });
  for (const authzId of order.authzIds) {
    const authz = await ra.authorizations.get(account, authzId);
    const http01 = authz.challenges.find((c) => c.type === 'http-01')!;
    assert.equal((await ra.authorizations.respond(account, accountUri, authzId, http01.id)).status, 'valid');
  }
  const ready = await ra.orders.get(account, order.id);
  assert.equal(ready.status, 'ready');
  return ready;
}

test('default validity past the intermediate: serverInternal naming the issuer, order still ready, nothing signed', async () => {
  const order = await readyOrder('default.example.com');
  const { csrDer } = await makeCsr(['default.example.com']);
  await assert.rejects(ra.finalizer.finalize(account, accountUri, order.id, csrDer.toString('base64url')), (err: unknown) => {
    assert.ok(err instanceof AcmeProblem, String(err));
    assert.match(err.type, /:serverInternal$/);
    assert.match(err.message, /ecdsa issuing certificate expires .*successor/);
    return true;
  });
  assert.equal((await ra.orders.get(account, order.id)).status, 'ready');
});

test('a requested notAfter past the intermediate: malformed, asking for an earlier notAfter', async () => {
  const notAfter = new Date(Date.now() + 60 * DAY).toISOString();
  const order = await readyOrder('requested.example.com', { notAfter });
  const { csrDer } = await makeCsr(['requested.example.com']);
  await assert.rejects(ra.finalizer.finalize(account, accountUri, order.id, csrDer.toString('base64url')), (err: unknown) => {
    assert.ok(err instanceof AcmeProblem, String(err));
    assert.match(err.type, /:malformed$/);
    assert.match(err.message, /requested validity ends after the ecdsa issuing certificate expires .*earlier notAfter/);
    return true;
  });
});

test('a requested notAfter inside the intermediate\'s lifetime passes the check and reaches the signer', async () => {
  const notAfter = new Date(Date.now() + 10 * DAY).toISOString();
  const order = await readyOrder('inside.example.com', { notAfter });
  const { csrDer } = await makeCsr(['inside.example.com']);
  // The stand-in signer refuses to sign, which proves the expiry check let the request through to issuance.
  await assert.rejects(ra.finalizer.finalize(account, accountUri, order.id, csrDer.toString('base64url')), /stand-in issuer: asked to sign/);
});
