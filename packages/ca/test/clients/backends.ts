// The real clients on the client-server databases: certbot, lego, dehydrated and acme-client each issue and revoke
// once against a CA whose SA runs on PostgreSQL or MariaDB (a fresh database per test file, dropped afterwards). The
// per-client suites cover the protocol in depth on SQLite; these prove the same flows on the other dialects.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import acme from 'acme-client';
import { Http01Responder } from '../support/acme.js';
import { issueWithAcmeClient, trustForAcmeClient } from '../support/acme-client.js';
import { createTestDatabase, databaseSkip, type Backend, type TestDatabase } from '../support/databases.js';
import { assertIssued, certbotRunner, describeRun, run, startClientEnv, uniqueName, type ClientEnv } from './common.js';

export async function clientsOnBackend(backend: Exclude<Backend, 'sqlite'>): Promise<void> {
  const skip = await databaseSkip(backend, 'the real-client tests');
  describe(`certbot, lego, dehydrated and acme-client on ${backend}`, { skip }, () => {
    let database: TestDatabase;
    let env: ClientEnv;
    before(async () => {
      database = await createTestDatabase(backend, 'clients');
      env = await startClientEnv({ database: { url: database.url } });
    });
    after(async () => {
      await env?.close();
      await database?.drop();
    });

    /** Serves http-01 from dehydrated's WELLKNOWN directory, on the VA's port. */
    async function withResponder<T>(lookup: (token: string) => Promise<string | undefined>, body: () => Promise<T>): Promise<T> {
      const responder = http.createServer((req, res) => {
        const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
        (token ? lookup(token) : Promise.resolve(undefined)).then((value) => (value === undefined ? res.writeHead(404).end() : res.end(value)));
      });
      await new Promise<void>((resolve) => responder.listen(env.httpPort, '127.0.0.1', resolve));
      try {
        return await body();
      } finally {
        responder.closeAllConnections();
        await new Promise((resolve) => responder.close(resolve));
      }
    }

    test('certbot: register, http-01, revoke', async () => {
      const certbot = certbotRunner(env.ca, join(env.dir, 'certbot'));
      const registered = await certbot(['register', '--agree-tos', '--email', 'certbot-test@example.com']);
      assert.equal(registered.code, 0, describeRun('certbot register', registered));
      const name = uniqueName('certbot-db');
      const issued = await certbot(['certonly', '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(env.httpPort), '--cert-name', 'db', '-d', name]);
      assert.equal(issued.code, 0, describeRun('certbot certonly', issued));
      assertIssued(await readFile(join(env.dir, 'certbot', 'config', 'live', 'db', 'fullchain.pem'), 'utf8'), env.ca, [name]);
      const revoked = await certbot(['revoke', '--cert-path', join(env.dir, 'certbot', 'config', 'live', 'db', 'cert.pem'), '--reason', 'superseded', '--no-delete-after-revoke']);
      assert.equal(revoked.code, 0, describeRun('certbot revoke', revoked));
      assert.match(revoked.output, /revoked/i);
    });

    test('lego: http-01, revoke (and the second revoke is alreadyRevoked)', async () => {
      const name = uniqueName('lego-db');
      const lego = (args: string[]) =>
        run('lego', ['--server', env.ca.directoryUrl, '--path', join(env.dir, 'lego'), '--email', 'lego-test@example.com', '--accept-tos', '--domains', name, ...args], { LEGO_CA_CERTIFICATES: env.ca.trustBundlePath }, 90_000);
      const issued = await lego(['--http', '--http.port', `127.0.0.1:${env.httpPort}`, 'run']);
      assert.equal(issued.code, 0, describeRun('lego run', issued));
      assertIssued(await readFile(join(env.dir, 'lego', 'certificates', `${name}.crt`), 'utf8'), env.ca, [name]);
      const revoked = await lego(['revoke', '--keep']);
      assert.equal(revoked.code, 0, describeRun('lego revoke', revoked));
      const again = await lego(['revoke', '--keep']);
      assert.notEqual(again.code, 0, describeRun('second lego revoke', again));
      assert.match(again.output, /alreadyRevoked/);
    });

    test('dehydrated: register, http-01, --revoke', async () => {
      const base = join(env.dir, 'dehydrated');
      const wellKnown = join(env.dir, 'well-known');
      await mkdir(wellKnown, { recursive: true });
      await mkdir(base, { recursive: true });
      const config = join(base, 'config');
      await writeFile(config, [`CA="${env.ca.directoryUrl}"`, `BASEDIR="${base}"`, `WELLKNOWN="${wellKnown}"`, 'CONTACT_EMAIL="dehydrated-test@example.com"', 'KEYSIZE=2048', 'KEY_ALGO=secp384r1', ''].join('\n'));
      const dehydrated = (args: string[]) => run('dehydrated', ['--config', config, ...args], { CURL_CA_BUNDLE: env.ca.trustBundlePath }, 90_000);
      const name = uniqueName('dehydrated-db');
      await withResponder((token) => readFile(join(wellKnown, token), 'utf8').catch(() => undefined), async () => {
        const registered = await dehydrated(['--register', '--accept-terms']);
        assert.equal(registered.code, 0, describeRun('dehydrated --register', registered));
        const issued = await dehydrated(['--cron', '--domain', name]);
        assert.equal(issued.code, 0, describeRun('dehydrated --cron', issued));
      });
      assertIssued(await readFile(join(base, 'certs', name, 'fullchain.pem'), 'utf8'), env.ca, [name]);
      const revoked = await dehydrated(['--revoke', join(base, 'certs', name, 'cert.pem')]);
      assert.equal(revoked.code, 0, describeRun('dehydrated --revoke', revoked));
      assert.match(revoked.output, /Renaming certificate to .*-revoked/);
    });

    test('acme-client: account, http-01, revoke (and the second revoke is alreadyRevoked)', async () => {
      const agent = trustForAcmeClient(await readFile(env.ca.trustBundlePath));
      const responder = await Http01Responder.start(env.httpPort);
      try {
        const client = new acme.Client({ directoryUrl: env.ca.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey('P-256') });
        const name = uniqueName('acmeclient-db');
        const chain = await issueWithAcmeClient(client, responder, name);
        assertIssued(chain, env.ca, [name]);
        await client.revokeCertificate(chain, { reason: 4 });
        await assert.rejects(client.revokeCertificate(chain), /already revoked/i);
      } finally {
        await responder.close();
        agent.destroy();
      }
    });
  });
}
