// Accounts: creation and lookup, contact updates, deactivation, key rollover, the accepted JWS algorithms, EAB.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FlattenedSign } from 'jose';
import { StorageAuthority } from '../src/sa/index.js';
import { AcmeTestClient, newAccountKey, type AccountAlg } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

describe('accounts', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      acme: { termsOfService: 'https://example.com/tos', website: 'https://example.com' },
      caa: { identities: ['cobble.example'] },
    });
  });
  after(async () => {
    await h?.close();
  });

  test('the directory lists every resource and the configured meta', async () => {
    const client = await h.client();
    const d = client.directory;
    for (const key of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange']) assert.match(d[key], /^https:\/\/127\.0\.0\.1:\d+\/acme\//);
    assert.deepEqual(Object.keys(d.meta.profiles).sort(), ['classic', 'shortlived', 'tlsserver']);
    assert.match(d.meta.profiles.tlsserver, /45-day/);
    assert.deepEqual({ ...d.meta, profiles: undefined }, { termsOfService: 'https://example.com/tos', website: 'https://example.com', caaIdentities: ['cobble.example'], profiles: undefined });
  });

  test('newAccount: 201 with Location; the same key again: 200 and the same account; onlyReturnExisting finds it', async () => {
    const client = await h.client();
    const created = await client.register({ termsOfServiceAgreed: true, contact: ['mailto:one@example.com'] });
    assert.equal(created.status, 201);
    const location = created.header('location')!;
    assert.match(location, /\/acme\/acct\/[A-Za-z0-9_-]+$/);
    assert.equal(created.json().status, 'valid');
    assert.deepEqual(created.json().contact, ['mailto:one@example.com']);
    assert.equal(created.json().termsOfServiceAgreed, true);
    assert.ok(created.links('index').length === 1);
    const again = await client.register({ termsOfServiceAgreed: true });
    assert.equal(again.status, 200);
    assert.equal(again.header('location'), location);
    const existing = await client.post(client.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
    assert.equal(existing.status, 200);
    assert.equal(existing.header('location'), location);
  });

  test('account update: contacts replaced, POST-as-GET reads it back, bad status refused', async () => {
    const client = await h.client();
    await client.register();
    const updated = await client.post(client.accountUrl!, { contact: ['mailto:two@example.com', 'mailto:three@example.com'] });
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.json().contact, ['mailto:two@example.com', 'mailto:three@example.com']);
    const read = await client.post(client.accountUrl!, undefined);
    assert.deepEqual(read.json().contact, ['mailto:two@example.com', 'mailto:three@example.com']);
    assertProblem(await client.post(client.accountUrl!, { status: 'revoked' }), 'malformed', 400);
    assertProblem(await client.post(client.accountUrl!, { contact: ['mailto:bad'] }), 'invalidContact', 400);
    // One account cannot touch another's URL.
    const other = await h.client();
    await other.register();
    assertProblem(await other.post(client.accountUrl!, { contact: [] }), 'unauthorized', 403);
  });

  test('deactivation is final: later requests are unauthorized, pending authorizations are cancelled, the key cannot make a new account', async () => {
    const client = await h.client();
    await client.register();
    const pending = (await client.newOrder(['pending-at-deactivation.example.com'])).json();
    const deactivated = await client.post(client.accountUrl!, { status: 'deactivated' });
    assert.equal(deactivated.json().status, 'deactivated');
    assertProblem(await client.post(client.accountUrl!, { status: 'deactivated' }), 'unauthorized', 403);
    const again = await client.register();
    assert.equal(again.status, 200);
    assert.equal(again.json().status, 'deactivated');
    // The server's own database (read from this process) shows the pending authorization cancelled.
    const sa = await StorageAuthority.openSqlite(join(h.dataDir, 'ca.sqlite3'));
    try {
      const authz = await sa.getAuthorization(pending.authorizations[0].split('/').pop(), Date.now());
      assert.equal(authz?.status, 'deactivated');
    } finally {
      await sa.close();
    }
  });

  describe('key rollover', () => {
    async function keyChangeJws(client: AcmeTestClient, newKey: Awaited<ReturnType<typeof newAccountKey>>, overrides: { url?: string; account?: string; oldKey?: unknown; nonce?: string } = {}) {
      const url = client.directory.keyChange;
      const inner = await new FlattenedSign(
        new TextEncoder().encode(JSON.stringify({ account: overrides.account ?? client.accountUrl, oldKey: overrides.oldKey ?? client.key.jwk })),
      )
        .setProtectedHeader({ alg: newKey.alg, jwk: newKey.jwk, url: overrides.url ?? url, ...(overrides.nonce ? { nonce: overrides.nonce } : {}) } as never)
        .sign(newKey.privateKey);
      return { url, inner };
    }

    test('rolls the account to a new key: the old key stops working, the new one works with the same kid', async () => {
      const client = await h.client();
      await client.register();
      const oldKey = client.key;
      const newKey = await newAccountKey('ES384');
      const { url, inner } = await keyChangeJws(client, newKey);
      const response = await client.post(url, inner);
      assert.equal(response.status, 200, response.text());
      assert.equal(response.json().key.crv, 'P-384');
      // Old key: the signature no longer matches the account key.
      assertProblem(await client.post(client.accountUrl!, undefined), 'badSignatureAlgorithm', 400);
      client.key = newKey;
      assert.equal((await client.post(client.accountUrl!, undefined)).status, 200);
      assert.equal((await client.newOrder(['rolled.example.com'])).status, 201);
      // The old key is free again: it can create a fresh account.
      const fresh = await h.client(oldKey);
      assert.equal((await fresh.register()).status, 201);
    });

    test('an inner JWS that carries a nonce is accepted (RFC 8555 §7.3.5: it MAY omit one)', async () => {
      const client = await h.client();
      await client.register();
      const newKey = await newAccountKey('EdDSA');
      const { url, inner } = await keyChangeJws(client, newKey, { nonce: 'aW5uZXItbm9uY2U' });
      const response = await client.post(url, inner);
      assert.equal(response.status, 200, response.text());
      assert.equal(response.json().key.kty, 'OKP');
    });

    test('a new key that already belongs to another account is a 409 with that account\'s Location', async () => {
      const a = await h.client();
      await a.register();
      const b = await h.client();
      await b.register();
      const { url, inner } = await keyChangeJws(a, b.key);
      const response = await a.post(url, inner);
      assertProblem(response, 'malformed', 409);
      assert.equal(response.header('location'), b.accountUrl);
    });

    test('inner JWS problems are refused: wrong url, wrong account, wrong oldKey', async () => {
      const client = await h.client();
      await client.register();
      const newKey = await newAccountKey();
      const wrongUrl = await keyChangeJws(client, newKey, { url: client.directory.newOrder });
      assertProblem(await client.post(wrongUrl.url, wrongUrl.inner), 'malformed', 400);
      const wrongAccount = await keyChangeJws(client, newKey, { account: client.accountUrl + 'x' });
      assertProblem(await client.post(wrongAccount.url, wrongAccount.inner), 'malformed', 400);
      const wrongOld = await keyChangeJws(client, newKey, { oldKey: newKey.jwk });
      assertProblem(await client.post(wrongOld.url, wrongOld.inner), 'unauthorized', 403);
      // Nothing changed: the original key still works.
      assert.equal((await client.post(client.accountUrl!, undefined)).status, 200);
    });
  });

  test('every accepted JWS algorithm works for newAccount and newOrder', async () => {
    for (const alg of ['RS256', 'ES256', 'ES384', 'EdDSA'] as AccountAlg[]) {
      const client = await h.client(await newAccountKey(alg));
      const created = await client.register();
      assert.equal(created.status, 201, `${alg}: ${created.text()}`);
      assert.equal((await client.newOrder([`${alg.toLowerCase()}.example.com`])).status, 201, alg);
    }
  });

  test('orders list: the account\'s orders, newest first, only for the account itself', async () => {
    const client = await h.client();
    await client.register();
    const urls = [];
    for (const name of ['l1.example.com', 'l2.example.com', 'l3.example.com']) urls.push((await client.newOrder([name])).header('location'));
    const ordersUrl = (await client.post(client.accountUrl!, undefined)).json().orders;
    const list = await client.post(ordersUrl, undefined);
    assert.equal(list.status, 200);
    assert.deepEqual([...list.json().orders].sort(), [...urls].sort());
    const other = await h.client();
    await other.register();
    assertProblem(await other.post(ordersUrl, undefined), 'unauthorized', 403);
  });

  test('orders list pages: 100 per page, Link rel="next" to the rest, every order exactly once', async () => {
    const client = await h.client();
    await client.register();
    const created = new Set<string>();
    for (let i = 0; i < 103; i++) created.add((await client.newOrder([`page${i}.example.com`])).header('location')!);
    const ordersUrl = (await client.post(client.accountUrl!, undefined)).json().orders;
    const first = await client.post(ordersUrl, undefined);
    assert.equal(first.json().orders.length, 100);
    const next = first.links('next');
    assert.equal(next.length, 1);
    const second = await client.post(next[0]!, undefined);
    assert.equal(second.json().orders.length, 3);
    assert.deepEqual(second.links('next'), []);
    const listed = [...first.json().orders, ...second.json().orders];
    assert.equal(new Set(listed).size, 103);
    assert.deepEqual(new Set(listed), created);
  });
});

describe('external account binding', () => {
  let h: Harness;
  const hmacKey = Buffer.alloc(32, 9).toString('base64url');
  before(async () => {
    h = await startHarness({ acme: { externalAccountBinding: { required: true, keys: { 'kid-1': hmacKey } } } });
  });
  after(async () => {
    await h?.close();
  });

  async function eab(client: AcmeTestClient, kid: string, key: string) {
    return new FlattenedSign(new TextEncoder().encode(JSON.stringify(client.key.jwk)))
      .setProtectedHeader({ alg: 'HS256', kid, url: client.directory.newAccount })
      .sign(Buffer.from(key, 'base64url'));
  }

  test('the directory says an external account is required, and newAccount without one is refused', async () => {
    const client = await h.client();
    assert.equal(client.directory.meta.externalAccountRequired, true);
    assertProblem(await client.register({ termsOfServiceAgreed: true }), 'externalAccountRequired', 400);
  });

  test('a valid binding creates the account; a wrong MAC key or unknown kid is unauthorized', async () => {
    const client = await h.client();
    assertProblem(await client.register({ externalAccountBinding: await eab(client, 'kid-1', Buffer.alloc(32, 1).toString('base64url')) }), 'unauthorized', 403);
    assertProblem(await client.register({ externalAccountBinding: await eab(client, 'kid-2', hmacKey) }), 'unauthorized', 403);
    const created = await client.register({ termsOfServiceAgreed: true, externalAccountBinding: await eab(client, 'kid-1', hmacKey) });
    assert.equal(created.status, 201, created.text());
  });

  test('a binding over a different key than the account key is unauthorized', async () => {
    const client = await h.client();
    const other = await h.client();
    const binding = await eab(other, 'kid-1', hmacKey);
    assertProblem(await client.register({ externalAccountBinding: binding }), 'unauthorized', 403);
  });
});
