// Durability: issue, stop the server, start it again on the same data directory; the hierarchy is reused, the
// certificate still downloads and can be revoked, and the account and order are still there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AcmeTestClient, issueViaHttp01, splitPemChain } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';
import { opensslVerifyStrict } from './support/openssl.js';
import { killAll } from './support/processes.js';

let h: Harness;

before(async () => {
  h = await startHarness();
});

after(async () => {
  await h?.close();
});

test('after a restart the certificate downloads, verifies against the same roots and can be revoked', async () => {
  const client = await h.client();
  await client.register();
  const issued = await issueViaHttp01(client, h.responder, ['restart.example.com']);
  const rootsBefore = h.ca.rootsPem;
  const trustBefore = await readFile(h.ca.trustBundlePath, 'utf8');

  await h.restart();
  assert.deepEqual(h.ca.rootsPem, rootsBefore, 'the development hierarchy is reused');
  assert.equal(await readFile(h.ca.trustBundlePath, 'utf8'), trustBefore);

  // A new connection (the old one died with the server) and the same account key.
  const again = await AcmeTestClient.create(h.ca.directoryUrl, h.ca.trustBundlePath, client.key);
  try {
    const found = await again.post(again.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
    assert.equal(found.status, 200);
    assert.equal(found.header('location'), client.accountUrl);
    again.accountUrl = found.header('location');
    const order = await again.post(issued.orderUrl, undefined);
    assert.equal(order.json().status, 'valid');
    const download = await again.post(issued.certUrl, undefined);
    assert.equal(download.status, 200);
    assert.equal(download.text(), issued.chainPem);
    assert.ok(opensslVerifyStrict(download.text(), h.ca.rootsPem.ecdsa).ok);
    const der = Buffer.from(new x509.X509Certificate(splitPemChain(download.text())[0]!).rawData);
    const revoked = await again.post(again.directory.revokeCert, { certificate: der.toString('base64url'), reason: 4 });
    assert.equal(revoked.status, 200, revoked.text());
    // And it still issues.
    await issueViaHttp01(again, h.responder, ['after-restart.example.com']);
  } finally {
    again.close();
  }
});

test('kill -9 of `cobble ca serve` loses no committed order or certificate; --workers 2 then serves the same data', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cobble-kill-'));
  const bin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));
  const configPath = join(dataDir, 'ca.yaml');
  await writeFile(
    configPath,
    `dataDir: ${join(dataDir, 'data')}\nlisten: { port: 0, httpPort: 0 }\nva: { httpPort: ${h.responder.port}, dnsServer: "${h.dns.dnsServer}" }\nlog: { level: error }\n`,
  );
  // Every server started here is killed at the end whatever happens, so a failed assertion cannot leave one running.
  const started: ChildProcess[] = [];
  const startServe = async (extra: string[] = []) => {
    // Own process group, so that the clean-up below also reaches --workers children if the primary dies first.
    const child = spawn(process.execPath, [bin, 'ca', 'serve', '--config', configPath, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // Generous: on a loaded 2-core machine tsx compiles the CLI in every worker process.
    const deadline = Date.now() + 90_000;
    // Both lines, not just the first: they may arrive in separate chunks.
    while (!/ACME directory: (\S+)/.test(out) || !/Trust bundle \(server TLS root, PEM\): (\S+)\n/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cobble ca serve did not start: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const trust = /Trust bundle \(server TLS root, PEM\): (\S+)/.exec(out)![1]!;
    return { child, directoryUrl: /ACME directory: (\S+)/.exec(out)![1]!, trust };
  };
  try {
    const first = await startServe();
    const client = await AcmeTestClient.create(first.directoryUrl, first.trust);
    await client.register();
    const issued = await issueViaHttp01(client, h.responder, ['killed.example.com']);
    const pending = await client.newOrder(['pending-after-kill.example.com']);
    client.close();
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    const second = await startServe();
    try {
      const again = await AcmeTestClient.create(second.directoryUrl, second.trust, client.key);
      const found = await again.post(again.directory.newAccount, { onlyReturnExisting: true }, { useJwk: true });
      again.accountUrl = found.header('location');
      const port = new URL(second.directoryUrl).port;
      const moved = (url: string) => url.replace(/:\d+\//, `:${port}/`);
      const order = await again.post(moved(issued.orderUrl), undefined);
      assert.equal(order.json().status, 'valid');
      const download = await again.post(moved(issued.certUrl), undefined);
      assert.equal(download.text(), issued.chainPem);
      assert.equal((await again.post(moved(pending.header('location')!), undefined)).json().status, 'pending');
      again.close();
    } finally {
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    }
    // The same data directory served by two worker processes: both issue, one database, distinct serials.
    const workers = await startServe(['--workers', '2']);
    try {
      const issuedSerials = new Set<string>();
      const clients = await Promise.all([0, 1, 2].map(() => AcmeTestClient.create(workers.directoryUrl, workers.trust)));
      await Promise.all(clients.map((c) => c.register()));
      const results = await Promise.all(clients.map((c, i) => issueViaHttp01(c, h.responder, [`worker${i}.example.com`])));
      for (const r of results) issuedSerials.add(new x509.X509Certificate(splitPemChain(r.chainPem)[0]!).serialNumber);
      assert.equal(issuedSerials.size, 3);
      const der = Buffer.from(new x509.X509Certificate(splitPemChain(results[0]!.chainPem)[0]!).rawData);
      assert.equal((await clients[0]!.post(clients[0]!.directory.revokeCert, { certificate: der.toString('base64url') })).status, 200);
      clients.forEach((c) => c.close());
    } finally {
      workers.child.kill('SIGTERM');
      await once(workers.child, 'exit');
    }
  } finally {
    await killAll(started);
    await rm(dataDir, { recursive: true, force: true });
  }
});
