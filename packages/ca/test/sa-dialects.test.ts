// The SA on SQLite, PostgreSQL and MariaDB: the same migrations and queries read back the same values (numbers as
// numbers, case-sensitive keys), the challenge claim and finalize's processing mark are won exactly once under
// concurrency, serials stay unique, the sweeper completes or releases orders left processing, and the pool survives
// its connections being killed (what a database restart looks like to the CA).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { newId, type Account, type Challenge, type Order } from '../src/core/index.js';
import { StorageAuthority, isTransientDatabaseError } from '../src/sa/index.js';
import { CrlStore } from '../src/sa/crl.js';
import { BACKENDS, MARIADB_URL, createTestDatabase, databaseSkip, type TestDatabase } from './support/databases.js';

const NOW = 1_790_000_000_000;

function account(thumbprint = newId() + newId()): Account {
  return { id: newId(), jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, thumbprint, status: 'valid', contact: ['mailto:a@example.com'], termsAgreed: true, createdAt: NOW };
}

/** An order for `names`, each with a pending authorization and an http-01 and a dns-01 challenge. */
async function createOrder(sa: StorageAuthority, accountId: string, names: string[]) {
  const authzs = names.map((value) => {
    const id = newId();
    const challenges: Challenge[] = (['http-01', 'dns-01'] as const).map((type) => ({ id: newId(), authzId: id, type, status: 'pending' }));
    return { authz: { id, accountId, identifier: { type: 'dns' as const, value }, wildcard: false, status: 'pending' as const, expires: NOW + 86_400_000, token: newId(), profile: 'classic' }, challenges };
  });
  const order: Order = {
    id: newId(), accountId, status: 'pending', expires: NOW + 86_400_000, identifiers: names.map((value) => ({ type: 'dns', value })),
    authzIds: authzs.map((a) => a.authz.id), createdAt: NOW, profile: 'classic',
  };
  await sa.createOrder(order, authzs);
  return { order, authzs };
}

async function validateAll(sa: StorageAuthority, authzs: Awaited<ReturnType<typeof createOrder>>['authzs']) {
  for (const { authz, challenges } of authzs) {
    assert.equal(await sa.claimChallenge(authz.id, challenges[0]!.id, NOW), true);
    await sa.recordValidation(authz.id, challenges[0]!, { ok: true, records: [], at: NOW, validUntil: NOW + 30 * 86_400_000 });
  }
}

for (const backend of BACKENDS) {
  const skip = await databaseSkip(backend, 'the SA dialect tests');
  describe(`SA on ${backend}`, { skip }, () => {
    let database: TestDatabase;
    let sa: StorageAuthority;
    before(async () => {
      database = await createTestDatabase(backend, 'sa_dialects');
      sa = await StorageAuthority.open(database.url, { poolSize: 8 });
    });
    after(async () => {
      await sa?.close();
      await database?.drop();
    });

    test('migrations run once and again (a second front end starting) without error', async () => {
      const second = await StorageAuthority.open(database.url);
      await second.close();
      assert.equal(sa.dialect, backend === 'mariadb' ? 'mysql' : backend);
    });

    test('values read back with their JS types; keys differing only in case are different keys', async () => {
      const a = account('AbCdEf' + newId());
      const b = account(a.thumbprint.toLowerCase());
      assert.notEqual(a.thumbprint, b.thumbprint);
      assert.equal(await sa.createAccount(a), 'created');
      assert.equal(await sa.createAccount(b), 'created', 'a thumbprint differing only in case is another key');
      assert.equal(await sa.createAccount({ ...account(a.thumbprint) }), 'exists');
      const read = await sa.getAccount(a.id);
      assert.deepEqual(read, { ...a, externalAccountBinding: undefined });
      assert.equal(typeof read!.createdAt, 'number');
      assert.equal((await sa.getAccountByThumbprint(b.thumbprint))?.id, b.id);

      const { order } = await createOrder(sa, a.id, ['numbers.example.com']);
      const loaded = await sa.getOrderWithAuthorizations(order.id, NOW);
      assert.equal(loaded?.order.status, 'pending');
      assert.equal(loaded?.order.expires, order.expires);
      assert.equal(typeof loaded?.order.expires, 'number');
      assert.equal(loaded?.authorizations[0]?.wildcard, false);
      assert.equal(typeof loaded?.authorizations[0]?.expires, 'number');
      assert.deepEqual((await sa.listOrderIds(a.id, 10)).map((o) => [o.id, o.createdAt]), [[order.id, NOW]]);
    });

    test('of 16 concurrent claims on the two challenges of one authorization, exactly one wins', async () => {
      const acct = account();
      await sa.createAccount(acct);
      const { authzs } = await createOrder(sa, acct.id, ['claim.example.com']);
      const [{ authz, challenges }] = authzs as [typeof authzs[0]];
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => sa.claimChallenge(authz.id, challenges[i % 2]!.id, NOW)));
      assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
      const stored = await sa.getAuthorization(authz.id, NOW);
      assert.deepEqual(stored?.challenges.map((c) => c.status).sort(), ['pending', 'processing']);
      // Claims and outcomes take locks in the same order: running them together must not deadlock.
      const won = stored!.challenges.find((c) => c.status === 'processing')!;
      await Promise.all([
        sa.recordValidation(authz.id, won, { ok: true, records: [], at: NOW, validUntil: NOW + 1000 }),
        ...challenges.map((c) => sa.claimChallenge(authz.id, c.id, NOW)),
      ]);
      assert.equal((await sa.getAuthorization(authz.id, NOW))?.status, 'valid');
      assert.equal(await sa.claimChallenge(authz.id, won.id, NOW), false, 'a valid authorization is not claimed again');
    });

    test('an order is marked processing once; serials are unique; storing completes the order', async () => {
      const acct = account();
      await sa.createAccount(acct);
      const { order, authzs } = await createOrder(sa, acct.id, ['a.example.com', 'b.example.com']);
      await validateAll(sa, authzs);
      assert.equal((await sa.getOrder(order.id, NOW))?.status, 'ready');
      const marks = await Promise.all(Array.from({ length: 8 }, () => sa.beginProcessing(order.id, NOW)));
      assert.equal(marks.filter(Boolean).length, 1);
      assert.equal((await sa.getOrder(order.id, NOW))?.status, 'processing');

      const serial = newId().replace(/[^a-f0-9]/g, '') + 'ab12cd';
      const reservations = await Promise.all(Array.from({ length: 6 }, () => sa.reserveSerial(serial, acct.id, NOW + 1000, NOW)));
      assert.equal(reservations.filter(Boolean).length, 1, 'one reservation of a serial succeeds');
      await sa.storeCertificate({ id: newId(), serial, accountId: acct.id, orderId: order.id, pem: 'PEM', issuerName: 'int-ecdsa', profile: 'classic', notBefore: NOW, notAfter: NOW + 1000, crlShard: 3 }, { identifiers: order.identifiers, issuedAt: NOW });
      assert.equal((await sa.getOrder(order.id, NOW))?.status, 'valid');
      assert.equal(await sa.revokeCertificate(serial, 1, NOW + 5), true);
      assert.equal(await sa.revokeCertificate(serial, 1, NOW + 6), false);
      const shardPages = [];
      for await (const page of new CrlStore(sa.db).revokedEntries('int-ecdsa', 3, NOW)) shardPages.push(...page);
      assert.deepEqual(shardPages, [{ serial, revokedAt: NOW + 5, reason: 1 }], 'the revocation is listed in the certificate\'s CRL shard');
    });

    test('the sweeper releases a stuck order without a certificate and completes one whose certificate was stored', async () => {
      const acct = account();
      await sa.createAccount(acct);
      const stuck = await createOrder(sa, acct.id, ['stuck.example.com']);
      const stored = await createOrder(sa, acct.id, ['stored.example.com']);
      const fresh = await createOrder(sa, acct.id, ['fresh.example.com']);
      for (const o of [stuck, stored, fresh]) await validateAll(sa, o.authzs);
      assert.equal(await sa.beginProcessing(stuck.order.id, NOW), true);
      assert.equal(await sa.beginProcessing(stored.order.id, NOW + 1), true);
      assert.equal(await sa.beginProcessing(fresh.order.id, NOW + 60_000), true);
      // A certificate row whose order was not completed: what a crash between the two writes would leave if they were
      // not one transaction (they are); the sweeper must still settle it as valid.
      const certId = newId();
      await sa.db.insertInto('certificates').values({
        id: certId, serial: 'feed' + Date.now().toString(16), account_id: acct.id, order_id: stored.order.id, pem: 'PEM', issuer_name: 'int-ecdsa',
        not_before: NOW, not_after: NOW + 1000, revoked_at: null, revoked_reason: null, profile: 'classic',
      } as never).execute();

      const swept = await sa.sweepProcessing(NOW + 30_000);
      assert.deepEqual(swept, { released: [stuck.order.id], completed: [stored.order.id], interrupted: [] });
      assert.equal((await sa.getOrder(stuck.order.id, NOW))?.status, 'ready');
      assert.equal((await sa.getOrder(stored.order.id, NOW))?.certificateId, certId);
      assert.equal((await sa.getOrder(stored.order.id, NOW))?.status, 'valid');
      assert.equal((await sa.getOrder(fresh.order.id, NOW))?.status, 'processing', 'a finalize younger than the timeout is left alone');
      assert.deepEqual(await sa.sweepProcessing(NOW + 30_000), { released: [], completed: [], interrupted: [] });
      // Released: it can be finalized again.
      assert.equal(await sa.beginProcessing(stuck.order.id, NOW + 40_000), true);
      assert.equal(await sa.releaseProcessing(stuck.order.id), true);
      assert.equal((await sa.getOrder(stuck.order.id, NOW))?.status, 'ready');
    });

    test('the sweeper fails a challenge whose validation never reported, and its authorization; a younger one is left alone', async () => {
      const acct = account();
      await sa.createAccount(acct);
      const { order, authzs } = await createOrder(sa, acct.id, ['dead-validation.example.com', 'slow-validation.example.com']);
      const [dead, slow] = authzs as [(typeof authzs)[0], (typeof authzs)[0]];
      assert.equal(await sa.claimChallenge(dead.authz.id, dead.challenges[0]!.id, NOW), true);
      assert.equal(await sa.claimChallenge(slow.authz.id, slow.challenges[0]!.id, NOW + 60_000), true);

      const swept = await sa.sweepProcessing(NOW + 30_000);
      assert.deepEqual(swept.interrupted, [dead.challenges[0]!.id]);
      const failed = await sa.getAuthorization(dead.authz.id, NOW);
      assert.equal(failed?.status, 'invalid');
      const challenge = failed?.challenges.find((c) => c.id === dead.challenges[0]!.id);
      assert.equal(challenge?.status, 'invalid');
      assert.equal(challenge?.error?.type, 'urn:ietf:params:acme:error:serverInternal');
      assert.equal((await sa.getOrder(order.id, NOW))?.status, 'invalid', 'the order fails with its authorization: the client orders again');
      assert.equal((await sa.getAuthorization(slow.authz.id, NOW))?.challenges.find((c) => c.id === slow.challenges[0]!.id)?.status, 'processing');

      // The validation reports after all: the failed challenge and authorization stay failed.
      await sa.recordValidation(dead.authz.id, dead.challenges[0]!, { ok: true, records: [], at: NOW + 40_000, validUntil: NOW + 86_400_000 });
      assert.equal((await sa.getAuthorization(dead.authz.id, NOW))?.status, 'invalid');
      assert.equal((await sa.getAuthorization(dead.authz.id, NOW))?.challenges.find((c) => c.id === dead.challenges[0]!.id)?.status, 'invalid');
      assert.deepEqual((await sa.sweepProcessing(NOW + 30_000)).interrupted, []);
    });

    // An embedded database has no connections to lose.
    if (backend !== 'sqlite') test('killed connections (a database restart, to the client) fail at most the queries in flight; the pool reconnects', async () => {
      const acct = account();
      await sa.createAccount(acct);
      // Fill the pool with connections, then kill them all on the server side.
      await Promise.all(Array.from({ length: 8 }, () => sa.getAccountByThumbprint(acct.thumbprint)));
      assert.ok((await database.killConnections()) >= 1, 'the SA had connections to kill');
      await new Promise((r) => setTimeout(r, 200));
      let failures = 0;
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          assert.equal((await sa.getAccountByThumbprint(acct.thumbprint))?.id, acct.id);
          break;
        } catch (err) {
          assert.ok(isTransientDatabaseError(err), `a lost connection is reported as transient: ${(err as Error).message}`);
          failures++;
        }
      }
      assert.ok(failures <= 8, `recovered after ${failures} failed queries`);
      // And every pooled connection works again.
      const reads = await Promise.all(Array.from({ length: 16 }, () => sa.getAccountByThumbprint(acct.thumbprint).then(() => 'ok', (e: Error) => e.message)));
      assert.ok(reads.filter((r) => r === 'ok').length >= 8, JSON.stringify(reads));
      assert.equal((await sa.getAccount(acct.id))?.id, acct.id);
    });
  });
}

const mariadbSkip = await databaseSkip('mariadb', 'the MariaDB collation check');
test('MariaDB: a database with a case-insensitive default collation is refused, naming the fix', { skip: mariadbSkip }, async () => {
  const name = `cobble_ci_${process.pid}`;
  const admin = await mysql.createConnection({ uri: MARIADB_URL });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    const url = new URL(MARIADB_URL);
    url.pathname = `/${name}`;
    await assert.rejects(StorageAuthority.open(url.toString()), /utf8mb4_general_ci.*ALTER DATABASE `cobble_ci_\d+` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin/);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  }
});

test('an unknown database URL scheme is refused with the accepted forms', async () => {
  await assert.rejects(StorageAuthority.open('oracle://x/y'), /unsupported database URL "oracle:\/\/x\/y": expected sqlite:<file>, postgres:\/\/.* or mysql:\/\//);
});
