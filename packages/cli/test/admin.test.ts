// `cobble ca admin` as an operator runs it, as child processes on a seeded CA database: an incident selected and
// counted, its bulk revocation killed with SIGKILL mid-way and run again — every selected certificate ends revoked
// exactly once, the ones revoked before the kill keep their revocation time — and errors that name what to fix.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageAuthority } from '../../ca/src/sa/index.js';
import { seedCertificates, seededCertificate } from '../../ca/test/support/seed-certificates.js';

const bin = fileURLToPath(new URL('../bin/cobble.js', import.meta.url));
const DAY = 86_400_000;
const COUNT = 30_000;

function admin(config: string, ...args: string[]) {
  return spawnSync(process.execPath, [bin, 'ca', 'admin', '--config', config, ...args], { encoding: 'utf8', timeout: 120_000 });
}

describe('cobble ca admin (child processes)', () => {
  let dir: string;
  let config: string;
  let sa: StorageAuthority;
  const start = Date.now() - 5 * DAY;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cobble-cli-admin-'));
    config = join(dir, 'ca.yaml');
    writeFileSync(config, `dataDir: ${join(dir, 'data')}\nlog: { level: error }\n`);
    sa = await StorageAuthority.open(`sqlite:${join(dir, 'data', 'ca.sqlite3')}`);
    await seedCertificates(sa.db, { count: COUNT, start, spreadMs: 4 * DAY, accounts: 50, batch: 2000 });
  });
  after(async () => {
    await sa?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const revokedNow = async () =>
    new Map(
      (await sa.db.selectFrom('certificates').select(['serial', 'revoked_at', 'revoked_reason']).where('revoked_at', 'is not', null).execute()).map((r) => [
        r.serial,
        `${r.revoked_at}/${r.revoked_reason}`,
      ]),
    );

  test('incident create: a dry run counts, the run selects; status reports it', () => {
    const select = ['--issued-after', new Date(start - 1000).toISOString(), '--name-pattern', '*.example', '--reason', 'superseded', '--deadline', '0s'];
    const dry = admin(config, 'incident', 'create', 'everything', ...select, '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`dry run: ${COUNT} certificate\\(s\\) match; no incident was stored`));
    const created = admin(config, 'incident', 'create', 'everything', ...select, '--explanation-url', 'https://status.example.com/everything');
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`incident everything: ${COUNT} certificate\\(s\\) selected`));
    const status = admin(config, 'incident', 'status', 'everything');
    assert.match(status.stdout, new RegExp(`\\(open\\).*: ${COUNT} selected, 0 replaced \\(0\\.0%\\), 0 revoked`));
    const dryRevoke = admin(config, 'incident', 'revoke', 'everything', '--dry-run');
    assert.match(dryRevoke.stdout, new RegExp(`dry run: ${COUNT} certificate\\(s\\) left to revoke`));
  });

  test('incident revoke, SIGKILLed mid-way and run again, revokes every selected certificate exactly once', async () => {
    assert.equal((await revokedNow()).size, 0);
    // Small batches, so that the kill lands between many committed transactions.
    const child = spawn(process.execPath, [bin, 'ca', 'admin', '--config', config, 'incident', 'revoke', 'everything', '--batch', '50'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let processed = 0;
    for (let i = 0; i < 2000 && processed < 2000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      processed = Number((await sa.db.selectFrom('incident_certificates').select((eb) => eb.fn.count<number>('processed_at').as('n')).executeTakeFirst())?.n ?? 0);
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const afterKill = await revokedNow();
    assert.ok(afterKill.size >= 2000 && afterKill.size < COUNT, `killed mid-way: ${afterKill.size} of ${COUNT} revoked`);
    // Committed batches are whole: every certificate marked processed is revoked, and no other is.
    const processedAfterKill = Number((await sa.db.selectFrom('incident_certificates').select((eb) => eb.fn.count<number>('processed_at').as('n')).executeTakeFirst())?.n);
    assert.equal(processedAfterKill, afterKill.size);

    const again = admin(config, 'incident', 'revoke', 'everything');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`revoked ${COUNT - afterKill.size} certificate\\(s\\) in this run; now ${COUNT} selected, 0 replaced \\(0\\.0%\\), ${COUNT} revoked`));
    const final = await revokedNow();
    assert.equal(final.size, COUNT, 'every selected certificate is revoked');
    for (const [serial, stamp] of afterKill) assert.equal(final.get(serial), stamp, `revoked once: ${serial} keeps its revocation time and reason`);
    for (const stamp of final.values()) assert.match(stamp, /\/4$/, 'with the incident\'s reason (superseded)');
    const third = admin(config, 'incident', 'revoke', 'everything');
    assert.match(third.stdout, /revoked 0 certificate\(s\) in this run/);
    assert.match(admin(config, 'incident', 'list').stdout, /^everything\trevoked\t/m);
  });

  test('revoke by serial file and account; pause and unpause; block a key', async () => {
    const serials = join(dir, 'serials.txt');
    const known = seededCertificate(7, { count: COUNT, start, spreadMs: 4 * DAY }, [], ['x']).serial;
    writeFileSync(serials, `# from the report\n${known.toUpperCase()}\n01:de:ad:be:ef\n`);
    const revoked = admin(config, 'revoke', '--serials-file', serials, '--reason', 'keyCompromise');
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked 0 certificate\(s\); 1 already revoked/);
    assert.match(revoked.stdout, /not issued by this CA: 01deadbeef/);
    const paused = admin(config, 'pause', 'acct00000001');
    assert.equal(paused.stdout.trim(), 'account acct00000001 paused');
    assert.equal(admin(config, 'unpause', 'acct00000001').stdout.trim(), 'account acct00000001 unpaused');
    assert.match(admin(config, 'block-key', '--spki-sha256', 'AB'.repeat(32)).stdout, new RegExp(`blocked key ${'ab'.repeat(32)}`));
    assert.equal(await sa.isKeyBlocked('ab'.repeat(32)), true);
  });

  test('errors name the file, the key or the option, and the fix', () => {
    const badSerials = join(dir, 'bad-serials.txt');
    writeFileSync(badSerials, '01ab\nnot-a-serial\n');
    const bad = admin(config, 'revoke', '--serials-file', badSerials);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, new RegExp(`${badSerials.replace(/[.]/g, '\\.')}:2: "not-a-serial" is not a hexadecimal serial number; fix or remove that line`));
    const unknown = admin(config, 'incident', 'status', 'nope');
    assert.match(unknown.stderr, /no incident named "nope"; "cobble ca admin incident list" shows them/);
    const early = admin(config, 'incident', 'create', 'later', '--issued-after', '1d', '--deadline', '7d');
    assert.equal(early.status, 0, early.stderr);
    assert.match(admin(config, 'incident', 'revoke', 'later').stderr, /deadline at .*; wait for it, move it with "incident deadline", or pass --force/);
    const badTime = admin(config, 'incident', 'create', 'x', '--deadline', 'tomorrow');
    assert.equal(badTime.status, 2);
    assert.match(badTime.stderr, /--deadline: expected an RFC 3339 time/);
    const unreachable = join(dir, 'unreachable.yaml');
    writeFileSync(unreachable, 'database: { url: "postgres://postgres@127.0.0.1:1/test" }\n');
    const down = admin(unreachable, 'incident', 'list');
    assert.equal(down.status, 1);
    assert.match(down.stderr, new RegExp(`cannot open the CA database postgres://.*127\\.0\\.0\\.1:1/test \\(database\\.url, or dataDir for SQLite, in ${unreachable.replace(/[.]/g, '\\.')}\\)`));
  });
});
