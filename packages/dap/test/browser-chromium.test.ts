// The client in a real browser: headless Chromium loads a page that imports the bundled browser entry point and
// uploads reports across origins (CORS) to our leader and helper; the collector, in Node, gets the exact aggregate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DapCollector, type ClientParams } from '../src/index.js';
import { currentInterval, provision, startPair } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs the Debian package chromium`);
if (!available) console.log(`# skipping the browser test: ${CHROMIUM} not found (apt-get install chromium)`);

const cases = [
  { version: 'dap-09', vdaf: { type: 'Prio3Histogram', length: 4, chunkLength: 2 }, values: [0, 3, 3, 1, 3], expected: [1, 1, 0, 3] },
  { version: 'dap-18', vdaf: { type: 'Prio3Count' }, values: [1, 0, 1, 1, 1, 0, 1], expected: 5 },
] as const;

test('@cobble/dap/browser uploads from headless Chromium; the collector gets the true aggregate', { skip: !available }, async () => {
  const { build } = await import('esbuild');
  const entry = fileURLToPath(new URL('../src/browser.ts', import.meta.url));
  const bundle = (await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' })).outputFiles[0]!.contents;

  const pair = await startPair();
  const profile = mkdtempSync(join(tmpdir(), 'cobble-chromium-'));
  const tasks = [];
  for (const c of cases) tasks.push({ c, t: await provision(pair, { version: c.version, vdaf: c.vdaf, minBatchSize: c.values.length, timePrecision: 300 }) });
  const jobs = tasks.map(({ c, t }) => ({ params: t.client as ClientParams, values: c.values }));
  const page = `<!doctype html><meta charset="utf-8"><title>cobble DAP client</title><script type="module">
    import { DapClient } from '/client.js';
    const jobs = ${JSON.stringify(jobs)};
    const results = [];
    try {
      for (const job of jobs) results.push(await new DapClient(job.params).upload(job.values));
      await fetch('/result', { method: 'POST', body: JSON.stringify({ results }) });
    } catch (e) {
      await fetch('/result', { method: 'POST', body: JSON.stringify({ error: String(e && e.stack || e) }) });
    }
  </script>`;

  let report!: (body: string) => void;
  const reported = new Promise<string>((resolve) => (report = resolve));
  const site = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/result' && req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => { res.writeHead(204).end(); report(body); });
    } else res.writeHead(404).end();
  });
  site.listen(0, '127.0.0.1');
  await once(site, 'listening');
  const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  const browser = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, url,
  ], { stdio: 'ignore', detached: true }); // own process group: Chromium's helper processes go down with it
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the page reported nothing within 60 s')), 60_000).unref());
    const outcome = JSON.parse(await Promise.race([reported, timeout])) as { results?: { uploaded: number; rejected: unknown[] }[]; error?: string };
    assert.equal(outcome.error, undefined, outcome.error);
    assert.deepEqual(outcome.results!.map((r) => r.uploaded), cases.map((c) => c.values.length));
    for (const { c, t } of tasks) {
      const r = await new DapCollector(t.collector).collect({ interval: currentInterval(300) }, { timeoutMs: 30_000 });
      assert.equal(r.reportCount, c.values.length);
      assert.deepEqual(r.aggregate, c.expected);
    }
  } finally {
    const exited = browser.exitCode === null && browser.signalCode === null ? once(browser, 'exit') : Promise.resolve();
    try {
      process.kill(-browser.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    site.close();
    await pair.close();
    // Helper processes may still be letting go of the profile for a moment after the group is killed.
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});
