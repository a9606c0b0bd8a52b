// The CRL component on its own: a real SQLite SA with certificate rows written directly (any shard, any expiry), the
// development hierarchy's issuers signing, a FakeClock for expiry, and the route on a plain HTTP server. OpenSSL reads
// every CRL (`openssl crl -text`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { FakeClock } from '../src/core/clock.js';
import { CrlUpdater, crlPath, crlUrl, serveCrl, shardOf, type CrlConfig } from '../src/crl/index.js';
import { loadOrCreateHierarchy, type Hierarchy } from '../src/issuer/index.js';
import { CrlStore } from '../src/sa/crl.js';
import { StorageAuthority } from '../src/sa/index.js';

const DAY = 86_400_000;
const URL_BASE = 'http://crl.example.test';
const logger = pino({ level: 'silent' });
const config = (changes: Partial<CrlConfig> = {}): CrlConfig => ({ shards: 4, updateInterval: 6 * 3_600_000, validity: 7 * DAY, revocationDelayMs: 50, ...changes });

let dir: string;
let hierarchy: Hierarchy;
let clock: FakeClock;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cobble-crl-'));
  clock = new FakeClock();
  hierarchy = await loadOrCreateHierarchy(join(dir, 'hierarchy'), clock);
});
after(() => rm(dir, { recursive: true, force: true }));

let serialCounter = 0x1000;
/** A certificate row as finalize stores it, minus a real PEM (the CRL reads serial, shard, revocation and expiry). */
async function insert(sa: StorageAuthority, row: { issuer?: string; shard: number | null; notAfter: number; revokedAt?: number; reason?: number }): Promise<string> {
  const serial = `7f${(serialCounter++).toString(16).padStart(30, '0')}`;
  await sa.db
    .insertInto('certificates')
    .values({
      id: serial.slice(0, 32), serial, account_id: 'a', order_id: 'o', pem: '-', issuer_name: row.issuer ?? 'ecdsa', not_before: clock.now() - DAY,
      not_after: row.notAfter, revoked_at: row.revokedAt ?? null, revoked_reason: row.reason ?? null, profile: 'classic', crl_shard: row.shard,
    })
    .execute();
  return serial;
}

async function openSa(name: string): Promise<StorageAuthority> {
  return StorageAuthority.openSqlite(join(dir, `${name}.sqlite3`));
}

function updaterFor(sa: StorageAuthority, changes: Partial<CrlConfig> = {}): CrlUpdater {
  return new CrlUpdater({ store: new CrlStore(sa.db), issuers: hierarchy.issuers, clock, config: config(changes), urlBase: () => URL_BASE, logger });
}

/** `openssl crl -text` of a DER CRL, verified against the issuer certificate. */
async function opensslCrl(der: Buffer, issuerName = 'ecdsa'): Promise<string> {
  const file = join(dir, `crl-${Math.random().toString(36).slice(2)}.der`);
  const issuerFile = `${file}.issuer.pem`;
  await writeFile(file, der);
  await writeFile(issuerFile, hierarchy.issuers.find((i) => i.name === issuerName)!.intermediate.pem);
  const result = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-CAfile', issuerFile, '-verify', '-noout', '-text'], { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, output);
  assert.match(output, /verify OK/);
  return output;
}

const crlNumber = (text: string) => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text)?.[1]);
const listed = (text: string, serial: string) => text.includes(`Serial Number: ${serial.toUpperCase()}`);

test('the URL the component builds is the one its route takes; shards spread over serials', async () => {
  assert.equal(crlPath('ecdsa', 3), '/crl/ecdsa/3.crl');
  assert.equal(crlUrl(URL_BASE, 'r10', 0), `${URL_BASE}/crl/r10/0.crl`);
  const counts = new Array(4).fill(0);
  for (let i = 0; i < 4000; i++) counts[shardOf(`${i.toString(16)}${Math.random().toString(16).slice(2, 10)}`, 4)]++;
  for (const count of counts) assert.ok(count > 800 && count < 1200, `even spread: ${counts.join(', ')}`);
  const sa = await openSa('urls');
  const updater = updaterFor(sa);
  const server = createServer((request, response) => {
    if (!serveCrl(updater, logger, request, response)) response.writeHead(418).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal((await fetch(base + crlPath('ecdsa', 3))).status, 200);
    assert.equal((await fetch(base + crlPath('ecdsa', 4))).status, 404, 'a shard that was never published does not exist');
    assert.equal((await fetch(base + crlPath('nosuch', 0))).status, 404);
    // Anything but the built form is not the component's: the old unsharded path, leading zeros, other suffixes.
    for (const path of ['/crl/ecdsa.crl', '/crl/ecdsa/03.crl', '/crl/ecdsa/3.der', '/crl/ecdsa/3.crl?x=1', '/crl/ECDSA/3.crl']) {
      assert.equal((await fetch(base + path)).status, 418, path);
    }
  } finally {
    server.close();
    await updater.close();
    await sa.close();
  }
});

test('CRL numbers only increase, per shard, across a restart of the SA and the updater', async () => {
  let sa = await openSa('numbers');
  let updater = updaterFor(sa);
  const first = await opensslCrl((await updater.regenerate('ecdsa', 1)).der);
  const second = await opensslCrl((await updater.regenerate('ecdsa', 1)).der);
  const otherShard = await opensslCrl((await updater.regenerate('ecdsa', 2)).der);
  assert.equal(crlNumber(first), 1);
  assert.equal(crlNumber(second), 2);
  assert.equal(crlNumber(otherShard), 1, 'each shard counts on its own');
  await updater.close();
  await sa.close();

  sa = await openSa('numbers');
  updater = updaterFor(sa);
  try {
    const published = await updater.current('ecdsa', 1);
    assert.equal(published!.number, 3, 'the first CRL after a restart continues from the database');
    assert.equal(crlNumber(await opensslCrl(published!.der)), 3);
    // Concurrent calls for one shard share the run queued behind the current one: numbers stay distinct and ordered.
    const numbers = (await Promise.all([1, 2, 3, 4].map(() => updater.regenerate('ecdsa', 1)))).map((p) => p.number);
    assert.ok(numbers.every((n) => n > 3), `numbers ${numbers.join(', ')}`);
    assert.equal(new Set(numbers.slice(1)).size, 1, 'the calls made while one run was going share the next run');
  } finally {
    await updater.close();
    await sa.close();
  }
});

test('a shard lists its own revoked, unexpired certificates with their reasons and its IDP; expired entries drop', async () => {
  const sa = await openSa('entries');
  const updater = updaterFor(sa);
  try {
    const now = clock.now();
    const superseded = await insert(sa, { shard: 0, notAfter: now + 10 * DAY, revokedAt: now - 1000, reason: 4 });
    const keyCompromise = await insert(sa, { shard: 0, notAfter: now + 90 * DAY, revokedAt: now - 500, reason: 1 });
    const expired = await insert(sa, { shard: 0, notAfter: now - 1000, revokedAt: now - 2 * DAY, reason: 4 });
    const valid = await insert(sa, { shard: 0, notAfter: now + 90 * DAY });
    const otherShard = await insert(sa, { shard: 1, notAfter: now + 90 * DAY, revokedAt: now - 100, reason: 5 });
    const otherIssuer = await insert(sa, { issuer: 'rsa', shard: 0, notAfter: now + 90 * DAY, revokedAt: now - 100, reason: 5 });
    const preSharding = await insert(sa, { shard: null, notAfter: now + 90 * DAY, revokedAt: now - 100, reason: 5 });

    const text = await opensslCrl((await updater.regenerate('ecdsa', 0)).der);
    assert.ok(listed(text, superseded) && listed(text, keyCompromise));
    for (const serial of [expired, valid, otherShard, otherIssuer, preSharding]) assert.ok(!listed(text, serial), `${serial} is not on ecdsa shard 0`);
    assert.match(text.slice(text.indexOf(superseded.toUpperCase())), /CRL Reason Code:\s*\n\s*Superseded/);
    assert.match(text.slice(text.indexOf(keyCompromise.toUpperCase())), /CRL Reason Code:\s*\n\s*Key Compromise/);
    assert.match(text, /Issuing Distribution Point: critical\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/crl\.example\.test\/crl\/ecdsa\/0\.crl\s*Only User Certificates/);
    assert.ok(listed(await opensslCrl((await updater.regenerate('ecdsa', 1)).der), otherShard));
    assert.ok(listed(await opensslCrl((await updater.regenerate('rsa', 0)).der, 'rsa'), otherIssuer));

    // BR: an entry stays until the certificate expires, and then goes.
    clock.advance(11 * DAY);
    try {
      const later = await opensslCrl((await updater.regenerate('ecdsa', 0)).der);
      assert.ok(!listed(later, superseded), 'expired since the last CRL: dropped');
      assert.ok(listed(later, keyCompromise));
    } finally {
      clock.advance(-11 * DAY);
    }
  } finally {
    await updater.close();
    await sa.close();
  }
});

test('revoked entries are read one page at a time in index order, never the whole shard at once', async () => {
  const sa = await openSa('pages');
  try {
    const now = clock.now();
    const serials: string[] = [];
    for (let i = 0; i < 7; i++) serials.push(await insert(sa, { shard: 2, notAfter: now + DAY, revokedAt: now - 1000 + (i % 3), reason: 0 }));
    const pages: string[][] = [];
    for await (const page of new CrlStore(sa.db).revokedEntries('ecdsa', 2, now, 3)) pages.push(page.map((e) => e.serial));
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
    const seen = pages.flat();
    assert.equal(new Set(seen).size, 7, 'no entry twice, none missed');
    assert.deepEqual([...seen].sort(), [...serials].sort());
  } finally {
    await sa.close();
  }
});

test('regenerateAll signs every shard of every issuer, including shards published under an earlier, larger count', async () => {
  const sa = await openSa('all');
  try {
    const wide = updaterFor(sa, { shards: 6 });
    assert.equal(await wide.regenerateAll(), 12, '6 shards × the ecdsa and rsa issuers');
    await wide.close();
    const narrow = updaterFor(sa, { shards: 2 });
    assert.deepEqual(await narrow.shardsOf('ecdsa'), [0, 1, 2, 3, 4, 5], 'leaves of shards 2-5 still need their CRLs');
    assert.equal(await narrow.regenerateAll(), 12);
    await narrow.close();
  } finally {
    await sa.close();
  }
});

test('served with ETag and Last-Modified (304 on a match); a revocation is signed once, debounced, and a fetch meanwhile waits for it', async () => {
  const sa = await openSa('http');
  const updater = updaterFor(sa, { revocationDelayMs: 300 });
  const server: Server = createServer((request, response) => {
    if (!serveCrl(updater, logger, request, response)) response.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${crlPath('ecdsa', 3)}`;
  try {
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-type'), 'application/pkix-crl');
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    assert.match(etag, /^"ecdsa-3-\d+"$/);
    assert.equal(new Date(lastModified).getTime(), Math.floor(clock.now() / 1000) * 1000);
    const body = Buffer.from(await first.arrayBuffer());
    assert.equal(crlNumber(await opensslCrl(body)), Number(etag.split('-')[2]!.replace('"', '')));

    const byTag = await fetch(url, { headers: { 'If-None-Match': etag } });
    assert.equal(byTag.status, 304);
    assert.equal(byTag.headers.get('etag'), etag);
    assert.equal((await byTag.arrayBuffer()).byteLength, 0);
    assert.equal((await fetch(url, { headers: { 'If-Modified-Since': lastModified } })).status, 304);
    assert.equal((await fetch(url, { headers: { 'If-Modified-Since': new Date(Date.parse(lastModified) - 1000).toUTCString() } })).status, 200);
    assert.equal((await fetch(url, { headers: { 'If-None-Match': '"ecdsa-3-0"' } })).status, 200, 'another tag is not a match');
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), body.length);

    // Three revocations close together in shard 3: the revoking side returns at once, one CRL is signed for all three.
    const now = clock.now();
    const serials = [await insert(sa, { shard: 3, notAfter: now + DAY, revokedAt: now, reason: 4 })];
    const started = Date.now();
    updater.revoked('ecdsa', 3);
    serials.push(await insert(sa, { shard: 3, notAfter: now + DAY, revokedAt: now, reason: 4 }));
    updater.revoked('ecdsa', 3);
    serials.push(await insert(sa, { shard: 3, notAfter: now + DAY, revokedAt: now, reason: 5 }));
    updater.revoked('ecdsa', 3);
    assert.ok(Date.now() - started < 250, 'revoked() only schedules');
    const stale = await fetch(url, { headers: { 'If-None-Match': etag } });
    assert.ok(Date.now() - started >= 250, 'the fetch waited for the debounced CRL');
    assert.equal(stale.status, 200, 'the old tag no longer matches');
    const fresh = await opensslCrl(Buffer.from(await stale.arrayBuffer()));
    assert.equal(crlNumber(fresh), crlNumber(await opensslCrl(body)) + 1, 'one new CRL for the three revocations');
    for (const serial of serials) assert.ok(listed(fresh, serial));
    assert.equal(stale.headers.get('etag'), `"ecdsa-3-${crlNumber(fresh)}"`);
  } finally {
    server.close();
    await updater.close();
    await sa.close();
  }
});
