// `/metrics` as Prometheus scrapes it, on the CA's own metrics listener: after a real issuance over http-01, a failed
// validation and a revocation, the request (ACME and plain-HTTP listeners), latency, issuance, validation and
// revocation series moved by exactly what happened; the CRL updater's shards appear in the CRL age gauge, which reads
// the time since each shard's last thisUpdate; Node's process metrics are there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { FakeClock } from '../src/core/clock.js';
import { recordCrlGenerated } from '../src/core/metrics.js';
import { crlPath } from '../src/crl/index.js';
import { issueViaHttp01, splitPemChain, type AcmeTestClient } from './support/acme.js';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
let client: AcmeTestClient;

before(async () => {
  h = await startHarness({ metrics: { port: 0 } });
  client = await h.client();
  const registered = await client.register();
  if (registered.status !== 201) throw new Error(`newAccount: ${registered.status} ${registered.text()}`);
});
after(async () => {
  await h?.close();
});

type Sample = { name: string; labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition (no escapes in our label values). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const response = await fetch(h.ca.metricsUrl!);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

/** The sum over the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

test('counters move with an issuance, a failed validation and a revocation', async () => {
  assert.match(h.ca.metricsUrl!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const before = await scrape();

  const issued = await issueViaHttp01(client, h.responder, ['metrics.example.com', 'www.metrics.example.com']);
  // A challenge answered with nothing served: the VA gets a 404 and the validation fails as unauthorized.
  const order = (await client.newOrder(['unserved.example.com'])).json();
  const authz = (await client.post(order.authorizations[0], undefined)).json();
  const challenge = authz.challenges.find((c: { type: string }) => c.type === 'http-01');
  assert.equal((await client.post(challenge.url, {})).status, 200);
  assert.equal((await client.poll(order.authorizations[0])).json().status, 'invalid');
  const leaf = new X509Certificate(splitPemChain(issued.chainPem)[0]!);
  assert.equal((await client.post(client.directory.revokeCert, { certificate: leaf.raw.toString('base64url'), reason: 4 })).status, 200);

  const afterwards = await scrape();
  const moved = (name: string, labels: Record<string, string> = {}) => total(afterwards, name, labels) - total(before, name, labels);
  assert.equal(moved('cobble_ca_issuances_total', { profile: 'classic' }), 1);
  assert.equal(moved('cobble_ca_validations_total', { type: 'http-01', outcome: 'valid' }), 2);
  assert.equal(moved('cobble_ca_validations_total', { type: 'http-01', outcome: 'unauthorized' }), 1);
  assert.equal(moved('cobble_ca_revocations_total', { reason: 'superseded' }), 1);
  assert.equal(moved('cobble_ca_revocations_total'), 1);
  // Two orders; one finalize; one revocation; by route pattern, never by object URL.
  assert.equal(moved('cobble_ca_http_requests_total', { listener: 'acme', route: '/acme/new-order', method: 'POST', status: '201' }), 2);
  assert.equal(moved('cobble_ca_http_requests_total', { route: '/acme/order/:id/finalize', method: 'POST', status: '200' }), 1);
  assert.equal(moved('cobble_ca_http_requests_total', { route: '/acme/revoke-cert', method: 'POST', status: '200' }), 1);
  assert.ok(!afterwards.some((s) => s.name === 'cobble_ca_http_requests_total' && /\/acme\/order\/[A-Za-z0-9_-]{10,}/.test(s.labels.route!)));
  assert.equal(moved('cobble_ca_http_request_duration_seconds_count', { route: '/acme/order/:id/finalize', method: 'POST' }), 1);
  // The finalize took some time, and fell into a finite bucket.
  assert.ok(moved('cobble_ca_http_request_duration_seconds_sum', { route: '/acme/order/:id/finalize' }) > 0);
  assert.equal(moved('cobble_ca_http_request_duration_seconds_bucket', { route: '/acme/order/:id/finalize', le: '+Inf' }), 1);
  // The plain-HTTP listener: served paths by their first segment, anything refused as `rejected` (no series per URL).
  const aia = /CA Issuers - URI:(\S+)/.exec(leaf.infoAccess!)![1]!;
  const base = `http://127.0.0.1:${h.ca.httpPort}`;
  assert.ok(aia.startsWith(`${base}/`), aia);
  const aiaRoute = new URL(aia).pathname.replace(/^(\/[^/]*)(\/.*)?$/, (_, first: string, rest?: string) => first + (rest ? '/*' : ''));
  const plainBefore = await scrape();
  assert.equal((await fetch(aia)).status, 200);
  assert.equal((await fetch(`${base}/stats.json`)).status, 200);
  assert.equal((await fetch(`${base}/made-up-${Date.now()}`)).status, 404);
  const plainAfter = await scrape();
  const plainMoved = (labels: Record<string, string>) => total(plainAfter, 'cobble_ca_http_requests_total', labels) - total(plainBefore, 'cobble_ca_http_requests_total', labels);
  assert.equal(plainMoved({ listener: 'http', route: aiaRoute, method: 'GET', status: '200' }), 1);
  assert.equal(plainMoved({ listener: 'http', route: '/stats.json', method: 'GET', status: '200' }), 1);
  assert.equal(plainMoved({ listener: 'http', route: 'rejected', method: 'GET', status: '404' }), 1);
  assert.equal(plainMoved({ listener: 'http' }), 3);
  assert.ok(!plainAfter.some((s) => s.labels.route?.startsWith('/made-up')));
  assert.equal(total(plainAfter, 'cobble_ca_http_request_duration_seconds_count', { listener: 'http', route: '/stats.json' }) - total(plainBefore, 'cobble_ca_http_request_duration_seconds_count', { listener: 'http', route: '/stats.json' }), 1);
  // Node's default process metrics.
  assert.ok(total(afterwards, 'process_cpu_user_seconds_total') > 0);
  assert.ok(total(afterwards, 'nodejs_heap_size_used_bytes') > 0);
});

test("the CRL updater's shards show up in the CRL age gauge", async () => {
  const issued = await issueViaHttp01(client, h.responder, ['crl-age.example.com']);
  const leaf = new x509.X509Certificate(splitPemChain(issued.chainPem)[0]!);
  const url = leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
  const [, issuer, shard] = /^\/crl\/([^/]+)\/(\d+)\.crl$/.exec(new URL(url).pathname)!;
  assert.equal(crlPath(issuer!, Number(shard)), new URL(url).pathname);
  // After a revocation the updater signs that shard again shortly; the gauge then reads a fresh thisUpdate.
  const revokedAt = Date.now();
  assert.equal((await client.post(client.directory.revokeCert, { certificate: Buffer.from(leaf.rawData).toString('base64url'), reason: 4 })).status, 200);
  for (const deadline = Date.now() + 20_000; ; ) {
    const age = (await scrape()).find((s) => s.name === 'cobble_ca_crl_age_seconds' && s.labels.issuer === issuer && s.labels.shard === shard)?.value;
    // thisUpdate is whole seconds, so a CRL signed after the revocation is at most this old.
    if (age !== undefined && age <= (Date.now() - revokedAt) / 1000 + 1) break;
    assert.ok(Date.now() < deadline, `no CRL of ${issuer}/${shard} signed after the revocation within 20 s (age ${age})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

test('the CRL age gauge is the time since the thisUpdate of the last CRL of each shard', async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 4, 12));
  recordCrlGenerated('metrics-test-issuer', 3, new Date(clock.now()), clock);
  recordCrlGenerated('metrics-test-issuer', 4, clock.now() - 5_000, clock);
  clock.advance(90_000);
  let samples = await scrape();
  assert.equal(total(samples, 'cobble_ca_crl_age_seconds', { issuer: 'metrics-test-issuer', shard: '3' }), 90);
  assert.equal(total(samples, 'cobble_ca_crl_age_seconds', { issuer: 'metrics-test-issuer', shard: '4' }), 95);
  // A newer CRL of shard 3 resets its age.
  recordCrlGenerated('metrics-test-issuer', 3, clock.now(), clock);
  clock.advance(1_500);
  samples = await scrape();
  assert.equal(total(samples, 'cobble_ca_crl_age_seconds', { issuer: 'metrics-test-issuer', shard: '3' }), 1.5);
});

test('the metrics listener answers GET /metrics only', async () => {
  const base = h.ca.metricsUrl!.replace(/\/metrics$/, '');
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
});
