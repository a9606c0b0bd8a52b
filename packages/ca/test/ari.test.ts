// ACME Renewal Information (RFC 9773) as a client meets it: the renewalInfo URL in the directory, a window at 2/3 of
// the lifetime computed from the certificate ID the client derives itself, the window moving into the past once an
// incident selects the certificate, and `replaces` in newOrder — reflected, exempt from a tight rate limit, and
// refused the second time with alreadyReplaced.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CaAdmin } from '../src/admin/index.js';
import { systemClock } from '../src/core/clock.js';
import { certificateId, parseCertificateId, suggestedWindow } from '../src/ra/ari.js';
import { StorageAuthority } from '../src/sa/index.js';
import { startTestCa } from '../src/testing.js';
import { AcmeTestClient, Http01Responder, issueViaHttp01, makeCsr, validateHttp01Authorizations } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { assertProblem } from './support/problems.js';

const DAY = 86_400_000;

/** What an RFC 9773 client computes from the certificate it holds: base64url(AKI keyIdentifier) "." base64url(serial). */
function ariId(pem: string): string {
  const cert = new x509.X509Certificate(pem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  // @peculiar/x509 gives the serial as the hex of the INTEGER's content octets, the bytes RFC 9773 encodes.
  return `${Buffer.from(aki.keyId!, 'hex').toString('base64url')}.${Buffer.from(cert.serialNumber, 'hex').toString('base64url')}`;
}

function leafPem(chainPem: string): string {
  return chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 25);
}

async function renewalInfo(client: AcmeTestClient, id: string) {
  return client.http('GET', `${client.directory.renewalInfo}/${id}`);
}

/** newOrder with `replaces`, then validation (reused authorizations need none) and finalize. */
async function replace(client: AcmeTestClient, h: Harness, names: string[], replaces: string) {
  const created = await client.newOrder(names, { replaces });
  if (created.status !== 201) return { created };
  const orderUrl = created.header('location')!;
  await validateHttp01Authorizations(client, h.responder, created.json().authorizations.filter(() => created.json().status === 'pending'));
  const csr = await makeCsr(names);
  const finalized = await client.post(created.json().finalize, { csr: csr.csrDer.toString('base64url') });
  const order = (await client.poll(orderUrl)).json();
  return { created, finalized, order, orderUrl };
}

describe('RFC 9773 certificate IDs', () => {
  test('the example of the RFC: AKI 69:88:5B:… and serial 0x87654321 (a leading zero byte in DER)', () => {
    const aki = Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex');
    assert.equal(certificateId(aki, '87654321'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    assert.deepEqual(parseCertificateId('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE'), { keyId: aki.toString('hex'), serial: '87654321' });
  });

  test('padding, missing parts and negative serials are malformed', () => {
    for (const bad of ['aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ', 'a.b.c', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.h2VDIQ']) {
      assert.throws(() => parseCertificateId(bad), { type: 'urn:ietf:params:acme:error:malformed' } as never, bad);
    }
  });

  test('windows: 2/3 of a 90-day lifetime, 1/2 of a 6-day one, jittered per serial and the same on every call', () => {
    const notBefore = Date.UTC(2026, 0, 1);
    const starts = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const serial = randomBytes(18).toString('hex');
      const long = suggestedWindow({ serial, notBefore, notAfter: notBefore + 90 * DAY - 1000 });
      const ideal = notBefore + 60 * DAY;
      assert.ok(long.start >= ideal - 2 * DAY && long.end <= ideal + 2 * DAY && long.end - long.start >= 1.9 * DAY, JSON.stringify(long));
      assert.deepEqual(suggestedWindow({ serial, notBefore, notAfter: notBefore + 90 * DAY - 1000 }), long);
      starts.add(long.start);
      const short = suggestedWindow({ serial, notBefore, notAfter: notBefore + 6 * DAY - 1000 });
      assert.ok(short.start >= notBefore + 3 * DAY - 6 * DAY / 45 && short.end <= notBefore + 3 * DAY + 6 * DAY / 45, JSON.stringify(short));
      assert.ok(short.end > short.start);
    }
    assert.ok(starts.size > 40, `jitter spreads the windows (${starts.size} distinct starts of 50)`);
  });
});

describe('renewalInfo and replaces against a running CA', () => {
  let h: Harness;
  let client: AcmeTestClient;
  let issued: { pem: string; id: string; serial: string };
  before(async () => {
    h = await startHarness({
      // Tight on purpose: one new order per account per day, one certificate per exact set of names per week.
      rateLimits: { enabled: true, limits: { newOrdersPerAccount: { count: 2, period: '24h' }, certificatesPerFqdnSet: { count: 1, period: '7d' } } },
    });
    client = await h.client();
    assert.equal((await client.register()).status, 201);
    const { chainPem } = await issueViaHttp01(client, h.responder, ['ari.example.com', 'www.ari.example.com']);
    const pem = leafPem(chainPem);
    issued = { pem, id: ariId(pem), serial: new x509.X509Certificate(pem).serialNumber.toLowerCase() };
  });
  after(async () => h?.close());

  test('the directory names renewalInfo, and a client sees a window at 2/3 of the lifetime with Retry-After', async () => {
    assert.match(client.directory.renewalInfo, /^https:\/\/127\.0\.0\.1:\d+\/acme\/renewal-info$/);
    const response = await renewalInfo(client, issued.id);
    assert.equal(response.status, 200, response.text());
    assert.equal(response.header('retry-after'), '21600');
    const { suggestedWindow: window, explanationURL } = response.json();
    assert.equal(explanationURL, undefined);
    const cert = new x509.X509Certificate(issued.pem);
    const notBefore = cert.notBefore.getTime();
    const lifetime = cert.notAfter.getTime() - notBefore + 1000;
    const start = Date.parse(window.start);
    const end = Date.parse(window.end);
    assert.ok(end > start && start > Date.now(), JSON.stringify(window));
    const ideal = notBefore + (lifetime * 2) / 3;
    assert.ok(start >= ideal - lifetime / 45 - 1000 && end <= ideal + lifetime / 45 + 1000, `window ${JSON.stringify(window)} around ${new Date(ideal).toISOString()}`);
    assert.deepEqual((await renewalInfo(client, issued.id)).json(), response.json(), 'the same window on every request');
  });

  test('an unknown certificate is a 404 malformed problem; a malformed ID is a 400', async () => {
    const [aki] = issued.id.split('.');
    assertProblem(await renewalInfo(client, `${aki}.${Buffer.from('01' + randomBytes(17).toString('hex'), 'hex').toString('base64url')}`), 'malformed', 404);
    assertProblem(await renewalInfo(client, `${Buffer.from('not the issuer').toString('base64url')}.${issued.id.split('.')[1]}`), 'malformed', 404);
    assertProblem(await renewalInfo(client, 'no-dot-here'), 'malformed', 400);
  });

  test('an order with replaces is exempt from the exhausted limits, reflects replaces, and issues', async () => {
    // Spend the rest of the account's new orders: a plain order is now refused.
    assert.equal((await client.newOrder(['other.ari.example.com'])).status, 201);
    assertProblem(await client.newOrder(['third.ari.example.com']), 'rateLimited', 429);
    const { created, finalized, order, orderUrl } = await replace(client, h, ['ari.example.com', 'www.ari.example.com'], issued.id);
    assert.equal(created.status, 201, created.text());
    assert.equal(created.json().replaces, issued.id);
    assert.equal(finalized!.status, 200, `finalize despite certificatesPerFqdnSet: ${finalized!.text()}`);
    assert.equal(order!.status, 'valid');
    assert.equal((await client.post(orderUrl!, undefined)).json().replaces, issued.id, 'reflected on later reads of the order');
  });

  test('a second order replacing the same certificate is refused with 409 alreadyReplaced', async () => {
    assertProblem(await client.newOrder(['ari.example.com'], { replaces: issued.id }), 'alreadyReplaced', 409);
  });

  test('replaces: another account, no shared name, an unknown certificate and a non-string are refused', async () => {
    const other = await h.client();
    assert.equal((await other.register()).status, 201);
    const { chainPem } = await issueViaHttp01(other, h.responder, ['mine.ari.example.com']);
    const otherId = ariId(leafPem(chainPem));
    assertProblem(await client.newOrder(['mine.ari.example.com'], { replaces: otherId }), 'unauthorized', 403);
    assertProblem(await other.newOrder(['unrelated.ari.example.com'], { replaces: otherId }), 'malformed', 400);
    assertProblem(await other.newOrder(['mine.ari.example.com'], { replaces: `${otherId.split('.')[0]}.AQID` }), 'malformed', 400);
    assertProblem(await other.newOrder(['mine.ari.example.com'], { replaces: 42 }), 'malformed', 400);
  });

  test('an order that went invalid no longer holds the certificate: a new order may replace it', async () => {
    const other = await h.client();
    assert.equal((await other.register()).status, 201);
    const otherId = ariId(leafPem((await issueViaHttp01(other, h.responder, ['again.ari.example.com'])).chainPem));
    const first = await other.newOrder(['again.ari.example.com'], { replaces: otherId });
    assert.equal(first.status, 201, first.text());
    // Deactivating its (reused) authorization makes the first replacing order invalid.
    assert.equal((await other.post(first.json().authorizations[0], { status: 'deactivated' })).status, 200);
    assert.equal((await other.post(first.header('location')!, undefined)).json().status, 'invalid');
    const second = await other.newOrder(['again.ari.example.com'], { replaces: otherId });
    assert.equal(second.status, 201, second.text());
    assertProblem(await other.newOrder(['again.ari.example.com'], { replaces: otherId }), 'alreadyReplaced', 409);
  });

  test('a paused account gets unauthorized on new orders until the operator unpauses it', async () => {
    const paused = await h.client();
    assert.equal((await paused.register()).status, 201);
    const accountId = paused.accountUrl!.split('/').pop()!;
    const sa = await StorageAuthority.open(`sqlite:${h.dataDir}/ca.sqlite3`);
    try {
      const admin = new CaAdmin(sa, { clock: systemClock });
      await admin.pause(accountId, 'abuse report 1234');
      const refused = assertProblem(await paused.newOrder(['paused.ari.example.com']), 'unauthorized', 403);
      assert.match(refused.detail, /paused/);
      await admin.unpause(accountId);
    } finally {
      await sa.close();
    }
    assert.equal((await paused.newOrder(['paused.ari.example.com'])).status, 201);
  });

  test('after an incident selects the certificate, its window is in the past and explains why', async () => {
    const other = h.clients[1]!;
    const { chainPem } = await issueViaHttp01(other, h.responder, ['incident.ari.example.com']);
    const pem = leafPem(chainPem);
    const id = ariId(pem);
    const beforeIncident = (await renewalInfo(other, id)).json().suggestedWindow;
    assert.ok(Date.parse(beforeIncident.start) > Date.now());
    // The operator's tool on the CA's database while the CA runs (as `cobble ca admin incident create` does).
    const sa = await StorageAuthority.open(`sqlite:${h.dataDir}/ca.sqlite3`);
    try {
      const admin = new CaAdmin(sa, { clock: systemClock });
      const { selected } = await admin.createIncident({
        name: 'ari-test',
        selection: { serials: [new x509.X509Certificate(pem).serialNumber.toLowerCase()] },
        deadline: Date.now() + 2 * DAY,
        reason: 4,
        explanationUrl: 'https://status.example.com/incident/ari-test',
      });
      assert.equal(selected, 1);
    } finally {
      await sa.close();
    }
    const response = await renewalInfo(other, id);
    assert.equal(response.status, 200);
    const { suggestedWindow: window, explanationURL } = response.json();
    assert.ok(Date.parse(window.end) < Date.now() && Date.parse(window.start) < Date.parse(window.end), `in the past: ${JSON.stringify(window)}`);
    assert.equal(explanationURL, 'https://status.example.com/incident/ari-test');
    // The first certificate, not selected, keeps its computed window.
    assert.ok(Date.parse((await renewalInfo(client, issued.id)).json().suggestedWindow.start) > Date.now());
  });
});

describe('test mode: the management API sets a certificate\'s ARI window', () => {
  test('set: renewalInfo serves that window and explanation; clear: the computed window again; bad windows refused', async () => {
    const responder = await Http01Responder.start();
    const ca = await startTestCa({ http01Port: responder.port });
    const client = await AcmeTestClient.create(ca.directoryUrl, ca.caBundlePath);
    try {
      assert.equal((await client.register()).status, 201);
      const pem = leafPem((await issueViaHttp01(client, responder, ['managed.example.com'])).chainPem);
      const serial = new x509.X509Certificate(pem).serialNumber;
      const id = ariId(pem);
      const window = { start: '2031-03-01T00:00:00Z', end: '2031-03-02T12:00:00Z' };
      await ca.management.setAriWindow(serial.toUpperCase(), { ...window, explanationURL: 'https://example.com/why' });
      const set = await renewalInfo(client, id);
      assert.deepEqual(set.json(), { suggestedWindow: window, explanationURL: 'https://example.com/why' });
      await ca.management.clearAriWindow(serial);
      const cleared = (await renewalInfo(client, id)).json();
      assert.equal(cleared.explanationURL, undefined);
      assert.ok(Date.parse(cleared.suggestedWindow.start) > Date.now() && Date.parse(cleared.suggestedWindow.start) < Date.parse('2031-01-01'), JSON.stringify(cleared));
      await assert.rejects(ca.management.setAriWindow(serial, { start: window.end, end: window.start }), /400 "end" must be later than "start"/);
      await assert.rejects(ca.management.setAriWindow('01deadbeef', window), /404 no certificate with serial 01deadbeef/);
    } finally {
      client.close();
      await ca.close();
      await responder.close();
    }
  });
});
