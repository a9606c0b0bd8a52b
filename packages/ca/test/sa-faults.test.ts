// Nothing is lost on MariaDB when a front end dies mid-finalize or mid-validation, or the database drops its connections: the client
// gets a retryable answer, retrying succeeds, the sweeper leaves no order processing, and serials stay unique.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { StorageAuthority } from '../src/sa/index.js';
import { AcmeTestClient, Http01Responder, makeCsr, type HttpResponse } from './support/acme.js';
import { createTestDatabase, databaseSkip, type TestDatabase } from './support/databases.js';
import { startHarness } from './support/harness.js';
import { killAll } from './support/processes.js';
import { startChallTestSrv, type ChallTestSrv } from './va/challtestsrv.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** 5xx answers with Retry-After seen by the clients (the faults reached them as retryable errors, not as failures). */
let retryableAnswers = 0;

/** A request sent again while the server answers 5xx (waiting Retry-After) or the connection fails. */
async function retried(send: () => Promise<HttpResponse>, what: string, attempts = 40): Promise<HttpResponse> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    try {
      const response = await send();
      if (response.status < 500) return response;
      last = `${response.status} ${response.text()}`;
      // What the database's absence looks like to a client: serverInternal, and when to try again.
      assert.equal(response.json().type, 'urn:ietf:params:acme:error:serverInternal', last);
      assert.equal(response.header('retry-after'), '1', last);
      retryableAnswers++;
      await sleep(1000);
    } catch (err) {
      last = (err as Error).message;
      await sleep(200);
    }
  }
  throw new Error(`${what} failed ${attempts} times; last: ${last}`);
}

/**
 * Validates the order's http-01 challenges, retrying through database faults. 'interrupted' when the sweeper failed
 * a validation whose outcome could not be recorded within database.processingTimeout (the client must order again).
 */
async function validate(client: AcmeTestClient, responder: Http01Responder, order: { authorizations: string[] }): Promise<'valid' | 'interrupted'> {
  for (const authzUrl of order.authorizations) {
    const authz = (await retried(() => client.post(authzUrl, undefined), 'get authz')).json();
    const challenge = authz.challenges.find((c: { type: string }) => c.type === 'http-01');
    responder.set(challenge.token, client.keyAuthorization(challenge.token));
    await retried(() => client.post(challenge.url, {}), 'answer challenge');
    for (let i = 0; ; i++) {
      const polled = (await retried(() => client.post(authzUrl, undefined), 'poll authz')).json();
      if (polled.status === 'valid') break;
      if (polled.status === 'invalid') {
        const error = polled.challenges.find((c: { type: string }) => c.type === 'http-01')?.error;
        assert.equal(error?.type, 'urn:ietf:params:acme:error:serverInternal', `authorization ${authzUrl} is invalid: ${JSON.stringify(error)}`);
        assert.match(error.detail, /interrupted/);
        return 'interrupted';
      }
      assert.ok(polled.status === 'pending' && i < 200, `authorization ${authzUrl} is ${polled.status}`);
      await sleep(50);
    }
  }
  return 'valid';
}

/** Finalizes (again, if the order went back to ready) until the order is valid. */
async function finalizeUntilValid(client: AcmeTestClient, orderUrl: string, csrB64: string, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const order = (await retried(() => client.post(orderUrl, undefined), 'get order')).json();
    if (order.status === 'valid') return;
    assert.ok(order.status === 'ready' || order.status === 'processing', `order ${orderUrl} is ${order.status}: ${JSON.stringify(order.error)}`);
    assert.ok(Date.now() < deadline, `order ${orderUrl} still ${order.status}`);
    if (order.status === 'ready') {
      const finalized = await retried(() => client.post(order.finalize, { csr: csrB64 }), 'finalize');
      // Another attempt of ours may have got there first.
      if (finalized.status !== 200) assert.equal(finalized.json().type, 'urn:ietf:params:acme:error:orderNotReady', finalized.text());
    } else {
      await sleep(250);
    }
  }
}

const cobbleBin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));

/** Starts `cobble ca serve` in its own process group (recorded in `started`); its ACME directory and TLS trust bundle. */
async function serveCa(configPath: string, started: ChildProcess[]) {
  const child = spawn(process.execPath, [cobbleBin, 'ca', 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 90_000;
  while (!/ACME directory: (\S+)/.test(out) || !/Trust bundle \(server TLS root, PEM\): (\S+)\n/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cobble ca serve did not start: ${out}`);
    await sleep(50);
  }
  return { child, directoryUrl: /ACME directory: (\S+)/.exec(out)![1]!, trust: /Trust bundle \(server TLS root, PEM\): (\S+)/.exec(out)![1]! };
}

/** `orderIds` each issued or cleanly invalid, `interrupted` (orders whose validation the sweeper failed) invalid. */
async function assertSettled(database: TestDatabase, orderIds: string[], interrupted: string[] = []): Promise<void> {
  const probe = await mysql.createConnection({ uri: database.url });
  try {
    const [orders] = (await probe.query('SELECT id, certificate_id, error, processing_since FROM orders')) as unknown as [{ id: string; certificate_id: string | null; error: string | null; processing_since: number | null }[]];
    assert.deepEqual(orders.filter((o) => o.processing_since !== null).map((o) => o.id), [], 'no order is left processing');
    assert.deepEqual(orders.filter((o) => o.certificate_id === null && o.error === null && orderIds.includes(o.id)).map((o) => o.id), [], 'every order is valid or invalid');
    const [[counts]] = (await probe.query('SELECT COUNT(*) AS n, COUNT(DISTINCT serial) AS serials FROM certificates')) as unknown as [[{ n: number; serials: number }]];
    assert.equal(counts.serials, counts.n, 'serials are unique');
    assert.ok(counts.n >= orderIds.length, `${counts.n} certificates for ${orderIds.length} issued orders`);
    assert.deepEqual(orders.filter((o) => interrupted.includes(o.id) && o.certificate_id !== null).map((o) => o.id), [], 'an interrupted order has no certificate');
    if (interrupted.length > 0) {
      // The order's status follows its authorization, which the sweeper failed.
      const [authzs] = (await probe.query('SELECT oa.order_id, a.status FROM order_authorizations oa JOIN authorizations a ON a.id = oa.authz_id WHERE oa.order_id IN (?)', [interrupted])) as unknown as [{ order_id: string; status: string }[]];
      assert.deepEqual([...new Set(authzs.filter((a) => a.status === 'invalid').map((a) => a.order_id))].sort(), [...interrupted].sort(), 'an interrupted order has an invalid authorization');
    }
  } finally {
    await probe.end();
  }
}

const skip = await databaseSkip('mariadb', 'the fault tests');
describe('faults on MariaDB', { skip }, () => {
  let database: TestDatabase;
  let dns: ChallTestSrv;
  let responder: Http01Responder;
  before(async () => {
    database = await createTestDatabase('mariadb', 'faults');
    dns = await startChallTestSrv();
    responder = await Http01Responder.start();
  });
  after(async () => {
    await responder?.close();
    await dns?.close();
    await database?.drop();
  });

  /** A `cobble ca serve` config on the test database whose sweeper acts after 3 s (a finalize takes milliseconds here). */
  async function frontEndConfig(dir: string): Promise<string> {
    const configPath = join(dir, 'ca.yaml');
    await writeFile(configPath, [
      `dataDir: ${join(dir, 'data')}`,
      `database: { url: "${database.url}", processingTimeout: 3, sweepInterval: 1 }`,
      'cache: { accounts: false }',
      'rateLimits: { enabled: false }',
      'listen: { port: 0, httpPort: 0 }',
      `va: { httpPort: ${responder.port}, dnsServer: "${dns.dnsServer}" }`,
      'log: { level: error }',
      '',
    ].join('\n'));
    return configPath;
  }

  test('kill -9 of a front end during finalize: retrying after the restart issues every order; the sweeper released the stuck ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cobble-faults-'));
    const configPath = await frontEndConfig(dir);
    const started: ChildProcess[] = [];
    const serve = () => serveCa(configPath, started);
    const probe = await mysql.createConnection({ uri: database.url });
    try {
      const first = await serve();
      const client = await AcmeTestClient.create(first.directoryUrl, first.trust);
      await client.register();
      const orders: { url: string; finalize: string; csr: string }[] = [];
      let stuckAtKill: string[] = [];
      // Until a kill lands while at least one order is processing (usually the first round).
      for (let round = 0; round < 5 && stuckAtKill.length === 0; round++) {
        const batch = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
          const name = `kill-${round}-${i}.example.com`;
          const created = await client.newOrder([name]);
          assert.equal(created.status, 201, created.text());
          assert.equal(await validate(client, responder, created.json()), 'valid');
          const csr = (await makeCsr([name])).csrDer.toString('base64url');
          return { url: created.header('location')!, finalize: created.json().finalize as string, csr };
        }));
        orders.push(...batch);
        const finalizes = batch.map((o) => client.post(o.finalize, { csr: o.csr }).catch((err: Error) => err));
        for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
          const [[row]] = (await probe.query('SELECT COUNT(*) AS n FROM orders WHERE processing_since IS NOT NULL')) as unknown as [[{ n: number }]];
          if (row.n > 0) break;
        }
        first.child.kill('SIGKILL');
        await once(first.child, 'exit');
        // The client saw its connection die: an error it retries, not an answer.
        const answers = await Promise.all(finalizes);
        const [rows] = (await probe.query('SELECT id FROM orders WHERE processing_since IS NOT NULL')) as unknown as [{ id: string }[]];
        stuckAtKill = rows.map((r) => r.id);
        if (stuckAtKill.length === 0) {
          assert.ok(answers.every((a) => !(a instanceof Error) && a.status === 200), 'an order not processing at the kill was finalized');
          const restarted = await serve();
          Object.assign(first, restarted);
          client.close();
          Object.assign(client, await AcmeTestClient.create(restarted.directoryUrl, restarted.trust, client.key));
        } else {
          assert.ok(answers.some((a) => a instanceof Error), 'some finalize lost its connection');
        }
      }
      assert.ok(stuckAtKill.length > 0, 'a kill landed while an order was processing');
      client.close();

      const second = await serve();
      const again = await AcmeTestClient.create(second.directoryUrl, second.trust, client.key);
      try {
        const found = await again.post(again.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
        again.accountUrl = found.header('location');
        const port = new URL(second.directoryUrl).port;
        const moved = (url: string) => url.replace(/:\d+\//, `:${port}/`);
        // Straight after the restart a stuck order is still processing (finalize refused), until the sweeper runs.
        const stuckUrl = moved(orders.find((o) => o.url.endsWith(`/${stuckAtKill[0]}`))!.url);
        const early = (await again.post(stuckUrl, undefined)).json();
        if (early.status === 'processing') {
          const refused = await again.post(early.finalize, { csr: orders.find((o) => o.url.endsWith(`/${stuckAtKill[0]}`))!.csr });
          assert.equal(refused.json().type, 'urn:ietf:params:acme:error:orderNotReady');
        }
        await Promise.all(orders.map((o) => finalizeUntilValid(again, moved(o.url), o.csr)));
      } finally {
        again.close();
      }
      await assertSettled(database, orders.map((o) => o.url.slice(o.url.lastIndexOf('/') + 1)));
    } finally {
      await probe.end();
      await killAll(started);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('kill -9 of a front end during a validation: the sweeper fails the challenge and its authorization; the next order issues', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cobble-faults-'));
    const configPath = await frontEndConfig(dir);
    const started: ChildProcess[] = [];
    const probe = await mysql.createConnection({ uri: database.url });
    try {
      const first = await serveCa(configPath, started);
      const client = await AcmeTestClient.create(first.directoryUrl, first.trust);
      await client.register();
      const name = 'dead-validation.example.com';
      const created = await client.newOrder([name]);
      assert.equal(created.status, 201, created.text());
      const authzUrl = created.json().authorizations[0] as string;
      const challenge = (await client.post(authzUrl, undefined)).json().challenges.find((c: { type: string }) => c.type === 'http-01');
      // A web server that answers only after the front end is gone: the validation is in flight at the kill.
      responder.set(challenge.token, client.keyAuthorization(challenge.token), 60_000);
      assert.equal((await client.post(challenge.url, {})).status, 200);
      const [[claimed]] = (await probe.query('SELECT status, processing_since FROM challenges WHERE id = ?', [challenge.url.split('/').pop()])) as unknown as [[{ status: string; processing_since: number | null }]];
      assert.equal(claimed.status, 'processing');
      assert.ok(claimed.processing_since !== null, 'the claim records when it began');
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      client.close();

      const second = await serveCa(configPath, started);
      const again = await AcmeTestClient.create(second.directoryUrl, second.trust, client.key);
      try {
        const found = await again.post(again.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
        again.accountUrl = found.header('location');
        const moved = (url: string) => url.replace(/:\d+\//, `:${new URL(second.directoryUrl).port}/`);
        // The sweeper (every second, after 3 s) fails the challenge; until then the authorization is pending.
        let authz = (await again.post(moved(authzUrl), undefined)).json();
        for (const deadline = Date.now() + 20_000; authz.status === 'pending' && Date.now() < deadline; await sleep(250)) {
          authz = (await again.post(moved(authzUrl), undefined)).json();
        }
        assert.equal(authz.status, 'invalid', JSON.stringify(authz));
        const failed = authz.challenges.find((c: { type: string }) => c.type === 'http-01');
        assert.equal(failed.status, 'invalid');
        assert.equal(failed.error.type, 'urn:ietf:params:acme:error:serverInternal');
        assert.match(failed.error.detail, /validation was interrupted/);
        assert.equal((await again.post(moved(created.header('location')!), undefined)).json().status, 'invalid', 'the order fails with it');

        // The client orders again: a fresh authorization, validated and issued.
        const retry = await again.newOrder([name]);
        assert.equal(retry.status, 201, retry.text());
        assert.notEqual(retry.json().authorizations[0], moved(authzUrl), 'the failed authorization is not reused');
        assert.equal(await validate(again, responder, retry.json()), 'valid');
        await finalizeUntilValid(again, retry.header('location')!, (await makeCsr([name])).csrDer.toString('base64url'));
      } finally {
        again.close();
      }
    } finally {
      await probe.end();
      await killAll(started);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('connections killed during a burst of orders (a database restart, to the CA): every order ends valid or cleanly invalid, every name is issued, serials unique', async () => {
    const burstDb = await createTestDatabase('mariadb', 'burst');
    const h = await startHarness({ database: { url: burstDb.url, processingTimeout: 3, sweepInterval: 1 }, cache: { accounts: false } });
    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing) {
        await sleep(250);
        kills += await burstDb.killConnections();
      }
    })();
    try {
      const clients = await Promise.all([0, 1, 2].map(async () => {
        const c = await h.client();
        await retried(() => c.register(), 'register');
        return c;
      }));
      const orderIds: string[] = [];
      const interrupted: string[] = [];
      await Promise.all(clients.flatMap((client, ci) => Array.from({ length: 5 }, async (_, i) => {
        const name = `burst-${ci}-${i}.example.com`;
        // A validation whose outcome could not be recorded before the sweeper's timeout (3 s here, on a loaded
        // machine) ends the order invalid; the client orders again, as after a front end died mid-validation.
        for (let attempt = 0; ; attempt++) {
          const created = await retried(() => client.newOrder([name]), 'newOrder');
          assert.equal(created.status, 201, created.text());
          const url = created.header('location')!;
          const orderId = url.slice(url.lastIndexOf('/') + 1);
          if ((await validate(client, h.responder, created.json())) === 'interrupted') {
            interrupted.push(orderId);
            assert.ok(attempt < 3, `${name}: every validation was interrupted`);
            continue;
          }
          orderIds.push(orderId);
          await finalizeUntilValid(client, url, (await makeCsr([name])).csrDer.toString('base64url'));
          break;
        }
      })));
      killing = false;
      await killer;
      assert.ok(kills >= 3, `the database connections were killed during the burst (${kills} kills)`);
      assert.ok(retryableAnswers > 0, 'some request met a killed connection and was told to retry');
      // What the sweeper does on its next run, now: nothing may be left for it, no order and no challenge.
      const sa = await StorageAuthority.open(burstDb.url);
      try {
        assert.deepEqual(await sa.sweepProcessing(Date.now()), { released: [], completed: [], interrupted: [] });
      } finally {
        await sa.close();
      }
      await assertSettled(burstDb, orderIds, interrupted);
    } finally {
      killing = false;
      await killer;
      await h.close();
      await burstDb.drop();
    }
  });
});
