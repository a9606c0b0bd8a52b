// Test mode's DNS server and httpreq endpoint, asked the way the VA and lego ask: Node's c-ares resolver (which retries
// a truncated UDP answer over TCP), raw UDP and TCP queries, and HTTP POSTs shaped like lego's httpreq provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { startCa } from '../src/index.js';
import { startTestMode, type TestMode } from '../src/testmode/index.js';

async function withTestMode(fn: (mode: TestMode, resolver: dns.Resolver) => Promise<void>): Promise<void> {
  const mode = await startTestMode({ dnsPort: 0, httpreqPort: 0 }, {});
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([mode.dnsServer]);
  try {
    await fn(mode, resolver);
  } finally {
    resolver.cancel();
    await mode.close();
  }
}

const port = (mode: TestMode) => Number(mode.dnsServer.split(':')[1]);

async function udpQuery(mode: TestMode, name: string, type: 'TXT' | 'A'): Promise<DecodedPacket> {
  const socket = createSocket('udp4');
  try {
    socket.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }), port(mode), '127.0.0.1');
    const [message] = (await once(socket, 'message')) as [Buffer];
    return dnsPacket.decode(message);
  } finally {
    socket.close();
  }
}

/** Two queries in one TCP write, as length-prefixed messages: both must be answered, in order. */
async function tcpQueries(mode: TestMode, names: string[]): Promise<DecodedPacket[]> {
  const socket = connect(port(mode), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(Buffer.concat(names.map((name, i) => dnsPacket.streamEncode({ type: 'query', id: i + 1, questions: [{ name, type: 'TXT' }] }))));
  let buffered = Buffer.alloc(0);
  const answers: DecodedPacket[] = [];
  for await (const chunk of socket) {
    buffered = Buffer.concat([buffered, chunk as Buffer]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      answers.push(dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
      buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
    }
    if (answers.length === names.length) break;
  }
  socket.destroy();
  return answers;
}

const post = (mode: TestMode, path: string, body: string, method = 'POST') =>
  fetch(mode.httpreqEndpoint + path, { method, body: method === 'GET' ? undefined : body, headers: { 'Content-Type': 'application/json' } });

test('every name is this host: A 127.0.0.1 and AAAA ::1; other types are NODATA, never NXDOMAIN', async () => {
  await withTestMode(async (_mode, resolver) => {
    assert.deepEqual(await resolver.resolve4('www.Example.COM'), ['127.0.0.1']);
    assert.deepEqual(await resolver.resolve6('no-such-label.invalid'), ['::1']);
    await assert.rejects(resolver.resolveMx('example.com'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolveTxt('_acme-challenge.example.com'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolveCaa('example.com'), { code: 'ENODATA' });
  });
});

test('TXT: several values at a name, removed one by one, names case-insensitive, values over 255 bytes split and joined', async () => {
  await withTestMode(async (mode, resolver) => {
    const long = 'x'.repeat(300);
    mode.records.addTxt('_acme-challenge.Example.com.', 'first');
    mode.records.addTxt('_acme-challenge.example.com', long);
    const joined = (await resolver.resolveTxt('_acme-challenge.example.com')).map((chunks) => chunks.join(''));
    assert.deepEqual(joined.sort(), ['first', long].sort());
    assert.deepEqual((await resolver.resolveTxt('_acme-challenge.example.com')).find((c) => c.join('') === long)?.map((s) => s.length), [255, 45]);
    mode.records.removeTxt('_acme-challenge.example.com.', 'first');
    assert.deepEqual((await resolver.resolveTxt('_acme-challenge.example.com')).map((c) => c.join('')), [long]);
    mode.records.clearTxt('_acme-challenge.example.com');
    await assert.rejects(resolver.resolveTxt('_acme-challenge.example.com'), { code: 'ENODATA' });
  });
});

test('an answer too long for UDP is truncated there and served whole over TCP', async () => {
  await withTestMode(async (mode, resolver) => {
    const values = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(100));
    mode.records.setTxt('big.example.com', values);
    const udp = await udpQuery(mode, 'big.example.com', 'TXT');
    assert.equal(udp.id, 7);
    assert.ok(udp.flag_tc, 'TC set');
    assert.equal(udp.answers?.length, 0);
    const small = await udpQuery(mode, 'small.example.com', 'A');
    assert.equal(small.flag_tc, false);
    assert.deepEqual(small.answers?.map((a) => (a as { data: unknown }).data), ['127.0.0.1']);

    const [big, none] = await tcpQueries(mode, ['big.example.com', 'none.example.com']);
    assert.equal(big!.id, 1);
    assert.equal(big!.answers?.length, 8);
    assert.equal(none!.id, 2);
    assert.equal((none!.flags ?? 0) & 0xf, 0, 'RCODE NOERROR');
    assert.equal(none!.answers?.length, 0);
    // What the VA does: c-ares sees TC and asks again over TCP.
    assert.deepEqual((await resolver.resolveTxt('big.example.com')).map((c) => c.join('')).sort(), values);
  });
});

test('CAA records are served with the flags byte as given, whatever the tag', async () => {
  await withTestMode(async (mode, resolver) => {
    mode.records.setCaa('example.com', [
      { flags: 0, tag: 'issue', value: 'cobble.test' },
      { flags: 128, tag: 'tbs', value: 'unknown' },
    ]);
    const records = await resolver.resolveCaa('example.com');
    assert.deepEqual(records.map((r) => ({ ...r })), [{ critical: 0, issue: 'cobble.test' }, { critical: 128, tbs: 'unknown' }]);
    assert.throws(() => mode.records.setCaa('example.com', [{ flags: 256, tag: 'issue', value: '' }]), RangeError);
    mode.records.clearCaa('example.com');
    await assert.rejects(resolver.resolveCaa('example.com'), { code: 'ENODATA' });
  });
});

test('the httpreq endpoint publishes and removes TXT values as lego posts them; other requests are refused', async () => {
  await withTestMode(async (mode, resolver) => {
    const present = async (value: string) => (await post(mode, '/present', JSON.stringify({ fqdn: '_acme-challenge.example.com.', value }))).status;
    assert.equal(await present('for-the-name'), 200);
    assert.equal(await present('for-the-wildcard'), 200);
    assert.deepEqual((await resolver.resolveTxt('_acme-challenge.example.com')).map((c) => c.join('')).sort(), ['for-the-name', 'for-the-wildcard']);
    const cleanup = await post(mode, '/cleanup', JSON.stringify({ fqdn: '_acme-challenge.example.com.', value: 'for-the-name' }));
    assert.equal(cleanup.status, 200);
    assert.deepEqual(mode.records.txt('_acme-challenge.example.com'), ['for-the-wildcard']);

    assert.equal((await post(mode, '/present', '{"fqdn": "x.example.com."}')).status, 400);
    assert.equal((await post(mode, '/present', 'not json')).status, 400);
    assert.equal((await post(mode, '/present', '', 'GET')).status, 405);
    assert.equal((await post(mode, '/set-txt', '{}')).status, 404);
    assert.deepEqual(mode.records.txt('x.example.com'), []);
  });
});

test('startCa with testMode: the VA ports default to 5002/5001 unless configured, and close() stops the DNS server', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cobble-testmode-'));
  try {
    const listen = { port: 0, httpPort: 0 };
    const plain = await startCa({ dataDir: join(dir, 'plain'), listen });
    assert.equal(plain.testMode, undefined);
    await plain.close();

    const ca = await startCa({ dataDir: join(dir, 'a'), listen, testMode: { enabled: true } });
    assert.equal(ca.testMode?.http01Port, 5002);
    assert.equal(ca.testMode?.tlsAlpn01Port, 5001);
    const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([ca.testMode.dnsServer]);
    assert.deepEqual(await resolver.resolve4('example.com'), ['127.0.0.1']);
    await ca.close();
    await assert.rejects(resolver.resolve4('example.com'), { code: 'ECONNREFUSED' });
    await assert.rejects(fetch(`${ca.testMode.httpreqEndpoint}/present`, { method: 'POST', body: '{}' }));

    const configured = await startCa({ dataDir: join(dir, 'b'), listen, va: { httpPort: 8080, tlsPort: 8443 }, testMode: { enabled: true } });
    assert.equal(configured.testMode?.http01Port, 8080);
    assert.equal(configured.testMode?.tlsAlpn01Port, 8443);
    await configured.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
