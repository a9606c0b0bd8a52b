// Pre-issuance linting at the CA: a leaf that breaks a lint is refused before the issuer's key signs anything, and
// nothing is stored as issued. The bad leaf comes from a stale profile: 300-day certificates were allowed when the CA
// started (2026-03-14, BR limit 398 days) but not after 2026-03-15 (200 days). The fake clock crosses that date; the
// RA does not clamp validity itself, so only the lint (e_leaf_validity_period) stands between the profile and a
// misissued certificate.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FakeClock } from '../src/core/clock.js';
import { makeCsr, validateHttp01Authorizations } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

let h: Harness;
after(async () => h?.close());

test('a leaf failing a lint: serverInternal, the order invalid, no certificate stored', async () => {
  const clock = new FakeClock(Date.parse('2026-03-14T12:00:00Z'));
  h = await startHarness({
    start: { clock },
    profiles: {
      default: 'stale',
      definitions: {
        stale: {
          description: '300 days, fine before 2026-03-15', validity: '300d', authorizationReuse: '30d', pendingAuthorizationLifetime: '7d',
          orderLifetime: '7d', commonName: true, keyEncipherment: true, subjectKeyIdentifier: true, maxNames: 10,
        },
      },
    },
  });
  const client = await h.client();
  await client.register();
  const names = ['lint.example.com'];
  const created = await client.newOrder(names);
  await validateHttp01Authorizations(client, h.responder, created.json().authorizations);

  clock.set(Date.parse('2026-03-16T00:00:00Z'));
  const csr = await makeCsr(names);
  const problem = assertProblem(await client.post(created.json().finalize, { csr: csr.csrDer.toString('base64url') }), 'serverInternal', 500);
  assert.match(problem.detail, /failed the CA's pre-issuance checks and was not issued/);
  const order = (await client.post(created.header('location')!, undefined)).json();
  assert.equal(order.status, 'invalid');
  assert.equal(order.certificate, undefined);

  const db = new Database(join(h.dataDir, 'ca.sqlite3'), { readonly: true });
  try {
    assert.equal((db.prepare('select count(*) as n from certificates').get() as { n: number }).n, 0, 'nothing stored as issued');
    assert.equal((db.prepare('select count(*) as n from serials').get() as { n: number }).n, 1, 'the serial was reserved before linting');
  } finally {
    db.close();
  }
});

test('at startup, a profile longer than the BRs allow today is refused with the key and the fix', async () => {
  await assert.rejects(
    startHarness({
      profiles: {
        definitions: {
          classic: {
            description: 'too long', validity: '201d', authorizationReuse: '30d', pendingAuthorizationLifetime: '7d',
            orderLifetime: '7d', commonName: true, keyEncipherment: true, subjectKeyIdentifier: true, maxNames: 100,
          },
        },
      },
    }),
    /key "profiles\.definitions\.classic\.validity": 201d is longer than the 200d the Baseline Requirements allow .*shorten it/,
  );
});
