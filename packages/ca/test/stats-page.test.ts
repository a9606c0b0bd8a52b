// The public stats page end to end: certificates for real names across several registered domains issued over ACME
// (http-01, the real VA), one revoked; `/stats.json` and the page in headless Chromium (Debian's chromium driven by
// playwright-core) show the figures the certificates table holds — counted here from the stored PEMs, independently
// of the stats tables — and the page draws its charts with Chart.js served by the CA itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { chromium, type Browser } from 'playwright-core';
import { getDomain } from 'tldts';
import type { StatsDocument } from '../src/stats/index.js';
import { fetchHttp, issueViaHttp01, splitPemChain, type AcmeTestClient } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs the Debian package chromium`);
if (!available) console.log(`# skipping the stats page in Chromium: ${CHROMIUM} not found (apt-get install chromium)`);

let h: Harness;
let client: AcmeTestClient;
let browser: Browser | undefined;

before(async () => {
  // Snapshots every second and no cache, so the test sees a revocation within a second or two.
  h = await startHarness({ stats: { snapshotInterval: '1s', cacheTtl: '0s' } });
  client = await h.client();
  const registered = await client.register();
  if (registered.status !== 201) throw new Error(`newAccount: ${registered.status} ${registered.text()}`);
  if (available) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-gpu'] });
});
after(async () => {
  await browser?.close();
  await h?.close();
});

/** What the certificates table holds at `now`, counted from the stored PEMs. */
function countFromDatabase(now: number) {
  const db = new SqliteDatabase(join(h.dataDir, 'ca.sqlite3'), { readonly: true });
  try {
    const rows = db.prepare('SELECT pem FROM certificates WHERE revoked_at IS NULL AND not_after > ?').all(now) as { pem: string }[];
    const names = new Set<string>();
    for (const { pem } of rows) {
      for (const entry of new X509Certificate(pem).subjectAltName!.split(', ')) names.add(entry.replace(/^DNS:/, ''));
    }
    const domains = new Set([...names].map((n) => getDomain(n, { allowPrivateDomains: false })!));
    const issuedToday = (db.prepare('SELECT COUNT(*) AS n FROM certificates WHERE not_before >= ?').get(now - (now % 86_400_000) - 60_000) as { n: number }).n;
    return { activeCertificates: rows.length, fullyQualifiedNames: names.size, registeredDomains: domains.size, issuedToday };
  } finally {
    db.close();
  }
}

async function statsJson(): Promise<StatsDocument> {
  const response = await fetchHttp(`http://127.0.0.1:${h.ca.httpPort}/stats.json`);
  assert.equal(response.status, 200);
  assert.equal(response.type, 'application/json');
  return JSON.parse(response.body.toString()) as StatsDocument;
}

test('the stats page shows the active certificates, names and registered domains the database holds, and draws its charts', async () => {
  const orders = [
    ['www.example.com', 'example.com'],
    ['api.example.org', 'www.example.com'],
    ['shop.example.co.uk'],
    ['alice.github.io', 'bob.github.io'], // github.io is a private suffix: one registered domain, github.io
    ['gone.example.net'],
  ];
  const chains: string[] = [];
  for (const names of orders) chains.push((await issueViaHttp01(client, h.responder, names)).chainPem);
  const leaf = new X509Certificate(splitPemChain(chains.at(-1)!)[0]!);
  const revoked = await client.post(client.directory.revokeCert, { certificate: leaf.raw.toString('base64url'), reason: 4 });
  assert.equal(revoked.status, 200);
  const revokedAt = Date.now();

  // The next snapshot after the revocation.
  let doc = await statsJson();
  for (const deadline = Date.now() + 20_000; !(doc.computedAt && Date.parse(doc.computedAt) > revokedAt); ) {
    assert.ok(Date.now() < deadline, `no snapshot after the revocation within 20 s (last ${doc.computedAt})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    doc = await statsJson();
  }
  const held = countFromDatabase(Date.now());
  // 4 active (one revoked); www/example.com, api.example.org, shop.example.co.uk, alice/bob.github.io; 4 eTLD+1s.
  assert.deepEqual(held, { activeCertificates: 4, fullyQualifiedNames: 6, registeredDomains: 4, issuedToday: 5 });
  assert.deepEqual(
    { activeCertificates: doc.activeCertificates, fullyQualifiedNames: doc.fullyQualifiedNames, registeredDomains: doc.registeredDomains, issuedToday: doc.days.at(-1)!.issued },
    held,
  );
  assert.equal(doc.days.at(-1)!.day, new Date().toISOString().slice(0, 10));

  const chartJs = await fetchHttp(`http://127.0.0.1:${h.ca.httpPort}/stats/chart.umd.min.js`);
  assert.equal(chartJs.status, 200);
  assert.match(chartJs.body.toString('utf8', 0, 200), /Chart\.js v4/);

  if (!browser) return;
  const page = await browser.newPage();
  const failed: string[] = [];
  page.on('pageerror', (err) => failed.push(err.message));
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  // Every request the page makes stays on the CA (no CDN).
  const origins = new Set<string>();
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  await page.goto(`http://127.0.0.1:${h.ca.httpPort}/stats`);
  await page.waitForSelector('body[data-charts-drawn="true"]', { timeout: 15_000 });
  assert.deepEqual(failed, []);
  assert.deepEqual([...origins], [`http://127.0.0.1:${h.ca.httpPort}`]);

  // Page scripts as strings: this package compiles without the DOM's types.
  const shown = (await page.evaluate(`(() => {
    const figure = (id) => Number(document.getElementById(id).textContent.replace(/,/g, ''));
    return {
      activeCertificates: figure('active-certificates'),
      fullyQualifiedNames: figure('fully-qualified-names'),
      registeredDomains: figure('registered-domains'),
    };
  })()`)) as Record<string, number>;
  assert.deepEqual(shown, { activeCertificates: held.activeCertificates, fullyQualifiedNames: held.fullyQualifiedNames, registeredDomains: held.registeredDomains });

  // Both canvases hold a Chart.js chart with the day's figures, and pixels have been painted on them.
  const charts = (await page.evaluate(`['active-chart', 'issuance-chart'].map((id) => {
    const canvas = document.getElementById(id);
    const chart = Chart.getChart(canvas);
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
    return { width: canvas.width, height: canvas.height, painted, data: chart && chart.data.datasets.map((d) => d.data.at(-1)) };
  })`)) as { width: number; height: number; painted: number; data?: number[] }[];
  for (const chart of charts) {
    assert.ok(chart.width > 100 && chart.height > 100, `canvas ${chart.width}x${chart.height}`);
    assert.ok(chart.painted > 1000, `only ${chart.painted} painted pixels`);
  }
  assert.deepEqual(charts[0]!.data, [held.activeCertificates, held.fullyQualifiedNames, held.registeredDomains]);
  assert.deepEqual(charts[1]!.data, [held.issuedToday]);
  await page.close();
});

test('stats endpoints answer GET and HEAD only; /metrics is not on the public plain-HTTP port', async () => {
  const url = `http://127.0.0.1:${h.ca.httpPort}`;
  const post = await fetch(`${url}/stats.json`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  const head = await fetch(`${url}/stats`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.match(head.headers.get('content-type')!, /^text\/html/);
  assert.equal((await fetch(`${url}/metrics`)).status, 404);
});
