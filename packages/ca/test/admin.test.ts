// The operator's tools on a seeded database: revocation by serial, account and name (and dry runs that only count),
// blocked keys, paused accounts, and an incident from selection through replacement progress to bulk revocation
// after the deadline — selection resumed after an interruption, each certificate revoked once.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AdminError, CaAdmin, normalizeSerial } from '../src/admin/index.js';
import { FakeClock } from '../src/core/clock.js';
import { StorageAuthority } from '../src/sa/index.js';
import { namesKey } from '../src/sa/incidents.js';
import { BACKENDS, createTestDatabase, databaseSkip, type TestDatabase } from './support/databases.js';
import { seedCertificates, seededCertificate, type SeedOptions } from './support/seed-certificates.js';

const DAY = 86_400_000;
const COUNT = 3000;

for (const backend of BACKENDS) {
const skip = await databaseSkip(backend, 'the admin tools');
describe(`cobble ca admin, on ${backend}`, { skip }, () => {
  let database: TestDatabase;
  let sa: StorageAuthority;
  const clock = new FakeClock(Date.UTC(2026, 5, 1));
  const seed: SeedOptions = { count: COUNT, start: clock.now() - 5 * DAY, spreadMs: 4 * DAY, accounts: 10 };
  let accounts: string[];
  const cert = (index: number) => seededCertificate(index, seed, accounts, ['ecdsa-e1', 'rsa-r1']);
  const revokedAt = async (serial: string) => (await sa.getCertificateBySerial(serial))?.revokedAt;
  let regenerated = 0;
  let admin: CaAdmin;

  before(async () => {
    database = await createTestDatabase(backend, 'admin');
    sa = await StorageAuthority.open(database.url);
    ({ accounts } = await seedCertificates(sa.db, seed));
    admin = new CaAdmin(sa, { clock, batchSize: 97, afterRevocation: async () => void regenerated++ });
  });
  after(async () => {
    await sa?.close();
    await database?.drop();
  });

  test('serials as operators paste them: upper case, colons, a DER sign byte, 0x', () => {
    assert.equal(normalizeSerial('01:AB:CD'), '01abcd');
    assert.equal(normalizeSerial('0x00ff01'), 'ff01');
    assert.equal(normalizeSerial('abc'), '0abc');
    assert.equal(normalizeSerial('xyz'), undefined);
  });

  test('revoke by serial: a dry run counts, the run revokes, unknown serials are reported, a second run revokes none', async () => {
    const serials = [cert(1).serial, cert(2).serial, '01deadbeef'];
    const dry = await admin.revokeSerials(serials, 4, true);
    assert.deepEqual(dry, { matched: 2, revoked: 0, alreadyRevoked: 0, unknown: ['01deadbeef'] });
    assert.equal(await revokedAt(cert(1).serial), undefined, 'the dry run revoked nothing');
    const before = regenerated;
    const done = await admin.revokeSerials(serials, 4);
    assert.equal(done.revoked, 2);
    assert.equal(regenerated, before + 1, 'CRLs are signed again after a revocation');
    assert.equal((await sa.getCertificateBySerial(cert(2).serial))?.revokedReason, 4);
    const again = await admin.revokeSerials(serials, 4);
    assert.equal(again.revoked, 0);
    assert.equal(again.alreadyRevoked, 2);
  });

  test('revoke by account: every unrevoked certificate of that account and no other', async () => {
    const account = accounts[3]!;
    const expected = Array.from({ length: COUNT }, (_, i) => cert(i)).filter((c) => c.accountId === account && !(c.profile === 'shortlived' && c.notBefore + 6 * DAY <= clock.now()));
    assert.equal((await admin.revokeAccount(account, 9, true)).matched, expected.length);
    assert.equal((await admin.revokeAccount(account, 9)).revoked, expected.length);
    assert.equal((await sa.getCertificateBySerial(cert(3).serial))?.revokedReason, 9);
    assert.equal(await revokedAt(cert(4).serial), undefined, 'another account keeps its certificate');
  });

  test('revoke by name: exact names and * patterns', async () => {
    const exact = cert(10).names[0]!;
    assert.equal((await admin.revokeName(exact, 0)).revoked, 1);
    assert.notEqual(await revokedAt(cert(10).serial), undefined);
    // domain7.example is named by certificates 7 and 5007, … ; with COUNT 3000 only 7 has it.
    assert.equal((await admin.revokeName('*.domain7.example', 0, true)).matched, 1);
  });

  test('block a key and pause an account (an unknown account is the operator\'s mistake)', async () => {
    const hash = 'ab'.repeat(32);
    assert.deepEqual(await admin.blockKey(hash, 'reported compromised'), { alreadyBlocked: false });
    assert.equal(await sa.isKeyBlocked(hash), true);
    assert.deepEqual(await admin.blockKey(hash), { alreadyBlocked: true });
    assert.deepEqual(await admin.pause(accounts[0]!), { changed: true });
    assert.equal(await admin.store.isPaused(accounts[0]!), true);
    assert.deepEqual(await admin.pause(accounts[0]!), { changed: false });
    assert.deepEqual(await admin.unpause(accounts[0]!), { changed: true });
    assert.equal(await admin.store.isPaused(accounts[0]!), false);
    await assert.rejects(admin.pause('nobody'), AdminError);
  });

  test('incident: select by time, profile and name pattern; progress follows replacements; revoke after the deadline', async () => {
    const issuedAfter = seed.start + DAY;
    const issuedBefore = seed.start + 3 * DAY;
    const selection = { issuedAfter, issuedBefore, profile: 'classic', namePattern: 'www*' };
    const expected = Array.from({ length: COUNT }, (_, i) => ({ i, ...cert(i) })).filter(
      (c) => c.notBefore >= issuedAfter && c.notBefore < issuedBefore && c.profile === 'classic' && c.names.some((n) => n.startsWith('www')),
    );
    const live = [];
    for (const c of expected) if ((await revokedAt(c.serial)) === undefined) live.push(c);
    assert.ok(live.length > 100, `a selection of some size (${live.length})`);
    const deadline = clock.now() + 2 * DAY;
    assert.equal((await admin.createIncident({ name: 'www-2026', selection, deadline, reason: 4 }, true)).selected, live.length, 'a dry run counts');
    assert.equal(await admin.store.incident('www-2026'), undefined, 'and stores nothing');

    // A selection interrupted after its first batch: the cursor is stored with it; the same command finishes it.
    const interrupted = new CaAdmin(sa, { clock, batchSize: 97, onProgress: (p) => { if (p.phase === 'select' && p.done > 0) throw new Error('interrupted'); } });
    await assert.rejects(interrupted.createIncident({ name: 'www-2026', selection, deadline, reason: 4 }), /interrupted/);
    assert.equal((await admin.store.incident('www-2026'))?.state, 'selecting');
    await assert.rejects(admin.createIncident({ name: 'www-2026', selection: { ...selection, profile: 'shortlived' }, deadline, reason: 4 }), /another selection/);
    const created = await admin.createIncident({ name: 'www-2026', selection, deadline, reason: 4 });
    assert.equal(created.resumed, true);
    assert.equal(created.selected, live.length, 'every selected certificate once');
    assert.equal(created.incident?.state, 'open');
    await assert.rejects(admin.createIncident({ name: 'www-2026', selection, deadline, reason: 4 }), /already exists/);

    // Replacements: one by a newer certificate for the same names, one by an order's `replaces`.
    const [a, b, c] = live;
    await admin.store.noteIssued({ serial: '02aa', namesKey: namesKey(a!.names.map((value) => ({ type: 'dns', value }))), notBefore: clock.now() }, clock.now());
    await admin.store.noteIssued({ serial: '02bb', namesKey: namesKey([{ type: 'dns', value: 'unrelated.example' }]), notBefore: clock.now(), replacesSerial: b!.serial }, clock.now());
    // A certificate for the same names issued *before* c is not its replacement.
    await admin.store.noteIssued({ serial: '02cc', namesKey: namesKey(c!.names.map((value) => ({ type: 'dns', value }))), notBefore: c!.notBefore - 1 }, clock.now());
    const status = await admin.incidentStatus('www-2026');
    assert.deepEqual(status.progress, { selected: live.length, replaced: 2, processed: 0, revoked: 0 });

    await assert.rejects(admin.revokeIncident('www-2026'), /deadline at/);
    clock.advance(2 * DAY + 1);
    assert.equal((await admin.revokeIncident('www-2026', { dryRun: true })).handled, live.length);
    const revoked = await admin.revokeIncident('www-2026');
    assert.equal(revoked.revoked, live.length);
    assert.deepEqual(revoked.progress, { selected: live.length, replaced: 2, processed: live.length, revoked: live.length });
    for (const x of live) assert.equal((await sa.getCertificateBySerial(x.serial))?.revokedReason, 4);
    assert.equal((await admin.store.incident('www-2026'))?.state, 'revoked');
    // Not selected (other profile, other time) stays valid.
    const outside = Array.from({ length: COUNT }, (_, i) => cert(i)).find((x) => x.notBefore < issuedAfter && x.names[0]!.startsWith('www'))!;
    assert.equal(await revokedAt(outside.serial), undefined);
  });

  test('incident by serial list: serials it does not know are skipped, revoked ones are not selected', async () => {
    const serials = [cert(1).serial, cert(2002).serial, cert(2005).serial, '01deadbeef'];
    const created = await admin.createIncident({ name: 'by-serial', selection: { serials }, deadline: clock.now(), reason: 1, explanationUrl: 'https://example.com/x' });
    assert.equal(created.selected, 2, 'cert 1 was revoked earlier; the unknown serial selects nothing');
    assert.deepEqual(await admin.store.incidentOf(cert(2002).serial), { name: 'by-serial', explanationUrl: 'https://example.com/x' });
    assert.equal(await admin.store.incidentOf(cert(2008).serial), undefined);
  });
});
}
