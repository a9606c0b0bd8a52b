// The negative-path suite: each malformed or unauthorized request gets the right ACME problem type and HTTP status,
// and the server keeps serving afterwards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlattenedSign } from 'jose';
import { AcmeTestClient, issueViaHttp01, makeCsr, newAccountKey, validateHttp01Authorizations } from './support/acme.js';
import { withRegisteredAccount, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

let h: Harness;
let client: AcmeTestClient;

withRegisteredAccount((started) => ({ h, client } = started));

/** An order whose authorizations are all valid, so finalize can be attempted. */
async function readyOrder(names: string[]): Promise<{ url: string; order: any }> {
  const created = await client.newOrder(names);
  assert.equal(created.status, 201, created.text());
  const order = created.json();
  await validateHttp01Authorizations(client, h.responder, order.authorizations);
  const url = created.header('location')!;
  const ready = await client.poll(url, (s) => s !== 'pending');
  assert.equal(ready.json().status, 'ready');
  return { url, order: ready.json() };
}

describe('nonces', () => {
  test('an unknown nonce is badNonce (400) and the response carries a fresh, usable Replay-Nonce', async () => {
    const jws = await client.sign(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'nonce.example.com' }] }, {
      protectedOverrides: { nonce: 'bm90LWEtcmVhbC1ub25jZQ' },
    });
    const response = await client.postJws(client.directory.newOrder, jws);
    assertProblem(response, 'badNonce', 400);
    const fresh = response.header('replay-nonce');
    assert.ok(fresh && fresh.length >= 16, 'badNonce must carry a Replay-Nonce');
    const retry = await client.postJws(
      client.directory.newOrder,
      await client.sign(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'nonce.example.com' }] }, { protectedOverrides: { nonce: fresh } }),
    );
    assert.equal(retry.status, 201, retry.text());
  });

  test('a replayed nonce is badNonce (400)', async () => {
    const nonce = await client.nonce();
    const url = client.accountUrl!;
    const first = await client.postJws(url, await client.sign(url, undefined, { protectedOverrides: { nonce } }));
    assert.equal(first.status, 200, first.text());
    const replay = await client.postJws(url, await client.sign(url, undefined, { protectedOverrides: { nonce } }));
    assertProblem(replay, 'badNonce', 400);
  });

  test('a missing nonce is badNonce (400)', async () => {
    const url = client.accountUrl!;
    assertProblem(await client.postJws(url, await client.sign(url, undefined, { omitNonce: true })), 'badNonce', 400);
  });

  test('newNonce answers HEAD with 200 and GET with 204, both with a Replay-Nonce and no caching', async () => {
    const head = await client.http('HEAD', client.directory.newNonce);
    assert.equal(head.status, 200);
    assert.ok(head.header('replay-nonce'));
    assert.equal(head.header('cache-control'), 'no-store');
    const get = await client.http('GET', client.directory.newNonce);
    assert.equal(get.status, 204);
    assert.ok(get.header('replay-nonce'));
    assert.ok(get.links('index').length === 1);
  });
});

describe('JWS checks', () => {
  test('a "url" that is not the request URL is unauthorized (403)', async () => {
    const jws = await client.sign(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'url.example.com' }] });
    assertProblem(await client.postJws(client.accountUrl!, jws), 'unauthorized', 403);
  });

  test('the HS256 algorithm is badSignatureAlgorithm (400) and the problem lists the accepted algorithms', async () => {
    const url = client.directory.newOrder;
    const header = { alg: 'HS256', kid: client.accountUrl, nonce: await client.nonce(), url };
    const jws = await new FlattenedSign(new TextEncoder().encode('{"identifiers":[{"type":"dns","value":"hs.example.com"}]}'))
      .setProtectedHeader(header)
      .sign(new Uint8Array(32).fill(7));
    const problem = assertProblem(await client.postJws(url, jws), 'badSignatureAlgorithm', 400);
    assert.deepEqual(problem.algorithms, ['RS256', 'ES256', 'ES384', 'EdDSA']);
  });

  test('alg "none" is badSignatureAlgorithm (400)', async () => {
    const url = client.directory.newOrder;
    const header = { alg: 'none', kid: client.accountUrl, nonce: await client.nonce(), url };
    const jws = {
      protected: Buffer.from(JSON.stringify(header)).toString('base64url'),
      payload: Buffer.from('{"identifiers":[{"type":"dns","value":"none.example.com"}]}').toString('base64url'),
      signature: '',
    };
    assertProblem(await client.postJws(url, jws), 'badSignatureAlgorithm', 400);
  });

  test('a tampered payload fails signature verification: malformed (400)', async () => {
    const url = client.directory.newOrder;
    const jws = await client.sign(url, { identifiers: [{ type: 'dns', value: 'good.example.com' }] });
    jws.payload = Buffer.from(JSON.stringify({ identifiers: [{ type: 'dns', value: 'evil.example.com' }] })).toString('base64url');
    assertProblem(await client.postJws(url, jws), 'malformed', 400);
  });

  test('a signature by another key, a mangled signature, and a DER-encoded ECDSA signature are malformed (400)', async () => {
    const url = client.directory.newOrder;
    const payload = { identifiers: [{ type: 'dns', value: 'sig.example.com' }] };
    const other = await newAccountKey('ES256');
    const byOther = await client.sign(url, payload, { key: { ...other, alg: 'ES256' }, protectedOverrides: { kid: client.accountUrl, jwk: undefined } });
    assertProblem(await client.postJws(url, byOther), 'malformed', 400);
    const mangled = await client.sign(url, payload);
    mangled.signature = `${String(mangled.signature).slice(0, -2)}+/`;
    assertProblem(await client.postJws(url, mangled), 'malformed', 400);
    const der = await client.sign(url, payload);
    const raw = Buffer.from(String(der.signature), 'base64url');
    // The same r and s as an ASN.1 SEQUENCE: valid ECDSA, but not the JWS (IEEE P1363) form.
    const integer = (b: Buffer) => { const v = b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b; return Buffer.concat([Buffer.from([2, v.length]), v]); };
    const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
    der.signature = Buffer.concat([Buffer.from([0x30, body.length]), body]).toString('base64url');
    assertProblem(await client.postJws(url, der), 'malformed', 400);
  });

  test('an algorithm that does not fit the account key is badSignatureAlgorithm (400)', async () => {
    const url = client.directory.newOrder;
    const jws = await client.sign(url, { identifiers: [{ type: 'dns', value: 'alg.example.com' }] });
    const header = JSON.parse(Buffer.from(String(jws.protected), 'base64url').toString());
    jws.protected = Buffer.from(JSON.stringify({ ...header, alg: 'ES384' })).toString('base64url');
    assertProblem(await client.postJws(url, jws), 'badSignatureAlgorithm', 400);
  });

  test('a JWS with both "jwk" and "kid" is malformed (400)', async () => {
    const url = client.directory.newOrder;
    const jws = await client.sign(url, { identifiers: [] }, { protectedOverrides: { jwk: client.key.jwk } });
    assertProblem(await client.postJws(url, jws), 'malformed', 400);
  });

  test('"jwk" where an account "kid" is required is malformed (400)', async () => {
    const url = client.directory.newOrder;
    assertProblem(await client.postJws(url, await client.sign(url, { identifiers: [] }, { useJwk: true })), 'malformed', 400);
  });

  test('an unknown account "kid" is accountDoesNotExist (400)', async () => {
    const url = client.directory.newOrder;
    const kid = client.accountUrl!.replace(/[^/]+$/, 'AAAAAAAAAAAAAAAA');
    assertProblem(await client.postJws(url, await client.sign(url, { identifiers: [] }, { protectedOverrides: { kid } })), 'accountDoesNotExist', 400);
  });

  test('a wrong Content-Type is refused with a malformed problem (415)', async () => {
    const url = client.directory.newOrder;
    const response = await client.postJws(url, await client.sign(url, { identifiers: [] }), 'application/json');
    assertProblem(response, 'malformed', 415);
  });

  test('a body that is not JSON is malformed (400)', async () => {
    const response = await client.http('POST', client.directory.newOrder, '{not json', { 'Content-Type': 'application/jose+json' });
    assertProblem(response, 'malformed', 400);
  });

  test('an unprotected header is malformed (400)', async () => {
    const url = client.directory.newOrder;
    const jws = await client.sign(url, { identifiers: [] });
    assertProblem(await client.postJws(url, { ...jws, header: { kid: 'x' } }), 'malformed', 400);
  });
});

describe('accounts', () => {
  test('a deactivated account\'s "kid" is unauthorized (403)', async () => {
    const other = await h.client();
    assert.equal((await other.register()).status, 201);
    const deactivated = await other.post(other.accountUrl!, { status: 'deactivated' });
    assert.equal(deactivated.status, 200);
    assert.equal(deactivated.json().status, 'deactivated');
    assertProblem(await other.newOrder(['deact.example.com']), 'unauthorized', 403);
    assertProblem(await other.post(other.accountUrl!, undefined), 'unauthorized', 403);
  });

  test('onlyReturnExisting for an unknown key is accountDoesNotExist (400)', async () => {
    const stranger = await h.client();
    const response = await stranger.post(stranger.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
    assertProblem(response, 'accountDoesNotExist', 400);
  });

  test('contacts: a non-mailto URI is unsupportedContact, a bad address invalidContact (400)', async () => {
    const stranger = await h.client();
    assertProblem(await stranger.register({ contact: ['tel:+15555550100'] }), 'unsupportedContact', 400);
    assertProblem(await stranger.register({ contact: ['mailto:not an address'] }), 'invalidContact', 400);
    assertProblem(await stranger.register({ contact: ['mailto:a@example.com?subject=x'] }), 'invalidContact', 400);
  });

  test('another account\'s order is unauthorized (403); a missing one is 404', async () => {
    const created = await client.newOrder(['mine.example.com']);
    const other = await h.client();
    await other.register();
    assertProblem(await other.post(created.header('location')!, undefined), 'unauthorized', 403);
    assertProblem(await client.post(created.header('location')!.replace(/[^/]+$/, 'nope'), undefined), 'malformed', 404);
  });
});

describe('orders and identifiers', () => {
  test('IP literals as dns names and bad syntax are malformed, bare public suffixes rejectedIdentifier; one subproblem each', async () => {
    const response = await client.newOrder(['1.2.3.4', 'co.uk', 'bad_name.example.com', 'ok.example.com']);
    const problem = assertProblem(response, 'malformed', 400);
    assert.equal(problem.subproblems.length, 3);
    const types = Object.fromEntries(problem.subproblems.map((p: any) => [p.identifier.value, p.type.split(':').pop()]));
    assert.deepEqual(types, { '1.2.3.4': 'malformed', 'bad_name.example.com': 'malformed', 'co.uk': 'rejectedIdentifier' });
  });

  test('a wildcard directly under a public suffix is rejectedIdentifier (400)', async () => {
    assertProblem(await client.newOrder(['*.com']), 'rejectedIdentifier', 400);
    assertProblem(await client.newOrder(['*.co.uk']), 'rejectedIdentifier', 400);
    assertProblem(await client.newOrder(['foo.*.example.com']), 'malformed', 400);
  });

  test('an ip identifier outside a profile that allows them is unsupportedIdentifier (400)', async () => {
    const response = await client.post(client.directory.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    assertProblem(response, 'unsupportedIdentifier', 400);
  });

  test('mixed refusals are malformed with typed subproblems', async () => {
    const response = await client.post(client.directory.newOrder, {
      identifiers: [{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'co.uk' }],
    });
    const problem = assertProblem(response, 'malformed', 400);
    assert.deepEqual(problem.subproblems.map((p: any) => p.type.split(':').pop()).sort(), ['rejectedIdentifier', 'unsupportedIdentifier']);
  });

  test('an empty order is malformed (400)', async () => {
    assertProblem(await client.post(client.directory.newOrder, { identifiers: [] }), 'malformed', 400);
  });

  test('polling an order needs POST-as-GET: a payload is malformed (400)', async () => {
    const created = await client.newOrder(['pag.example.com']);
    assertProblem(await client.post(created.header('location')!, {}), 'malformed', 400);
  });
});

describe('finalize', () => {
  test('finalize before the order is ready is orderNotReady (403)', async () => {
    const created = await client.newOrder(['early.example.com']);
    const csr = await makeCsr(['early.example.com']);
    const response = await client.post(created.json().finalize, { csr: csr.csrDer.toString('base64url') });
    assertProblem(response, 'orderNotReady', 403);
  });

  test('a CSR with a name that is not in the order is badCSR (400)', async () => {
    const { order } = await readyOrder(['extra.example.com']);
    const csr = await makeCsr(['extra.example.com', 'sneaky.example.com']);
    const problem = assertProblem(await client.post(order.finalize, { csr: csr.csrDer.toString('base64url') }), 'badCSR', 400);
    assert.match(problem.detail, /sneaky\.example\.com/);
  });

  test('a CSR missing one of the order\'s names is badCSR (400)', async () => {
    const { order } = await readyOrder(['m1.example.com', 'm2.example.com']);
    const csr = await makeCsr(['m1.example.com']);
    assertProblem(await client.post(order.finalize, { csr: csr.csrDer.toString('base64url') }), 'badCSR', 400);
  });

  test('a CSR with a 1024-bit RSA key is badPublicKey (400)', async () => {
    const { order, url } = await readyOrder(['weak.example.com']);
    const csr = await makeCsr(['weak.example.com'], 'rsa-1024');
    const problem = assertProblem(await client.post(order.finalize, { csr: csr.csrDer.toString('base64url') }), 'badPublicKey', 400);
    assert.match(problem.detail, /2048/);
    // A refused CSR leaves the order ready: a good CSR still succeeds.
    const good = await makeCsr(['weak.example.com'], 'rsa-2048');
    const finalized = await client.post(order.finalize, { csr: good.csrDer.toString('base64url') });
    assert.equal(finalized.status, 200, finalized.text());
    assert.equal((await client.poll(url)).json().status, 'valid');
  });

  test('a CSR whose signature does not verify is badCSR (400)', async () => {
    const { order } = await readyOrder(['sig.example.com']);
    const csr = await makeCsr(['sig.example.com']);
    const der = Buffer.from(csr.csrDer);
    der[der.length - 5] = der[der.length - 5]! ^ 0xff; // inside the signature value
    assertProblem(await client.post(order.finalize, { csr: der.toString('base64url') }), 'badCSR', 400);
  });

  test('garbage instead of a CSR is badCSR (400)', async () => {
    const { order } = await readyOrder(['garbage.example.com']);
    assertProblem(await client.post(order.finalize, { csr: Buffer.from('not a csr').toString('base64url') }), 'badCSR', 400);
  });

  test('a CSR signed with the account key is badCSR (400)', async () => {
    const { order } = await readyOrder(['acctkey.example.com']);
    const x509 = await import('@peculiar/x509');
    const { webcrypto } = await import('node:crypto');
    const jwk = await (await import('jose')).exportJWK(client.key.privateKey);
    const privateKey = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const publicKey = await webcrypto.subtle.importKey('jwk', client.key.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=acctkey.example.com',
      keys: { privateKey, publicKey } as never,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as never,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'acctkey.example.com' }])],
    });
    assertProblem(await client.post(order.finalize, { csr: Buffer.from(csr.rawData).toString('base64url') }), 'badCSR', 400);
  });
});

describe('revocation', () => {
  test('unsupported reason codes are badRevocationReason and a second revocation alreadyRevoked', async () => {
    const issued = await issueViaHttp01(client, h.responder, ['rev-neg.example.com']);
    const der = Buffer.from(issued.chainPem.split('-----END CERTIFICATE-----')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, ''), 'base64');
    const certificate = der.toString('base64url');
    assertProblem(await client.post(client.directory.revokeCert, { certificate, reason: 7 }), 'badRevocationReason', 400);
    assertProblem(await client.post(client.directory.revokeCert, { certificate, reason: 6 }), 'badRevocationReason', 400);
    const other = await h.client();
    await other.register();
    assertProblem(await other.post(other.directory.revokeCert, { certificate, reason: 4 }), 'unauthorized', 403);
    assert.equal((await client.post(client.directory.revokeCert, { certificate, reason: 4 })).status, 200);
    assertProblem(await client.post(client.directory.revokeCert, { certificate }), 'alreadyRevoked', 400);
  });
});

test('after all of the above the server still serves: directory, and a full issuance', async () => {
  const directory = await client.http('GET', client.directory.newNonce.replace('/acme/new-nonce', '/directory'));
  assert.equal(directory.status, 200);
  const issued = await issueViaHttp01(client, h.responder, ['still-alive.example.com']);
  assert.match(issued.chainPem, /BEGIN CERTIFICATE/);
});

test('a plain GET of a POST-as-GET resource is 405 with Allow: POST', async () => {
  const created = await client.newOrder(['get.example.com']);
  const response = await client.http('GET', created.header('location')!);
  assertProblem(response, 'malformed', 405);
  assert.equal(response.header('allow'), 'POST');
  assertProblem(await client.http('GET', client.directory.newAccount), 'malformed', 405);
});

test('an unknown path is a malformed problem with 404', async () => {
  assertProblem(await client.http('GET', client.directory.newNonce.replace('/acme/new-nonce', '/nothing-here')), 'malformed', 404);
});
