// IP address identifiers (RFC 8738) through the VA against real responders on 127.0.0.1 and ::1. The VA's DNS server
// is a UDP socket that answers nothing and counts what reaches it: RFC 8738 §4 skips DNS, and CAA (BR 3.2.2.8) is for
// dNSNames only, so every case here must leave it untouched.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import http from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ipTarget, reverseName } from '../../src/va/ip.js';
import { ValidationAuthority, type ChallengeType, type ValidationResult } from '../../src/va/index.js';
import { alpnCert, type SanName } from './certs.js';

const TOKEN = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
const CHALLENGE_PATH = `/.well-known/acme-challenge/${TOKEN}`;
const ACCOUNT = 'https://ca.example/acme/acct/1';

/** Whether this machine can listen on the IPv6 loopback; the ::1 cases are skipped (visibly) when it cannot. */
async function hasIpv6Loopback(): Promise<boolean> {
  const server = createTcpServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}
const SKIP_V6 = (await hasIpv6Loopback()) ? false : 'this machine has no IPv6 loopback (::1)';
if (SKIP_V6) console.log(`ip.test.ts: skipping the ::1 cases: ${SKIP_V6}`);

let dnsSink: UdpSocket;
let dnsQueries = 0;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  dnsSink = createSocket('udp4');
  dnsSink.on('message', () => { dnsQueries++; });
  await new Promise<void>((r) => dnsSink.bind(0, '127.0.0.1', () => r()));
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await new Promise<void>((r) => dnsSink.close(() => r()));
  assert.equal(dnsQueries, 0, 'an IP identifier must never cause a DNS query');
});

function listen(server: Server, host: string): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      cleanups.push(() => new Promise((r) => {
        server.close(() => r(undefined));
        for (const socket of sockets) socket.destroy();
      }));
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function httpResponder(host: string, routes: Record<string, (res: http.ServerResponse) => void>): Promise<{ port: number; hosts: (string | undefined)[] }> {
  const hosts: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host);
    const route = routes[req.url ?? ''];
    if (route) route(res);
    else { res.statusCode = 404; res.end('not found'); }
  });
  return { port: await listen(server, host), hosts };
}

const body = (text: string) => (res: http.ServerResponse) => res.end(text);
const redirect = (location: string) => (res: http.ServerResponse) => { res.statusCode = 302; res.setHeader('Location', location); res.end(); };

async function alpnServer(host: string, identifier: SanName, options: Parameters<typeof alpnCert>[2] = {}): Promise<{ port: number; sni: (string | undefined)[] }> {
  const pair = await alpnCert(identifier, KEY_AUTH, options);
  const sni: (string | undefined)[] = [];
  const context = tls.createSecureContext(pair);
  const server = tls.createServer({ ...pair, ALPNProtocols: ['acme-tls/1'], SNICallback: (name, done) => { sni.push(name); done(null, context); } });
  server.on('secureConnection', (socket) => socket.end());
  server.on('tlsClientError', () => { /* the VA hanging up is expected */ });
  return { port: await listen(server, host), sni };
}

function va(httpPort: number, tlsPort = 1): ValidationAuthority {
  const authority = new ValidationAuthority({ httpPort, tlsPort, dnsServer: `127.0.0.1:${dnsSink.address().port}`, timeoutMs: 3000, caaIdentities: ['ca.example'] });
  cleanups.push(() => authority.close());
  return authority;
}

const req = (type: ChallengeType, domain: string) => ({ type, domain, token: TOKEN, keyAuthorization: KEY_AUTH, wildcard: false, accountUri: ACCOUNT });

function assertProblem(result: ValidationResult | { ok: boolean; problem?: { type: string; detail: string } }, kind: string, ...detailParts: string[]): void {
  assert.equal(result.ok, false, `expected a ${kind} problem, got success`);
  if (result.ok || !result.problem) return;
  assert.equal(result.problem.type, `urn:ietf:params:acme:error:${kind}`, result.problem.detail);
  for (const part of detailParts) assert.ok(result.problem.detail.includes(part), `detail ${JSON.stringify(result.problem.detail)} lacks ${JSON.stringify(part)}`);
}

const V6_REVERSE = `1.${'0.'.repeat(31)}ip6.arpa`;

describe('http-01 for an IP address', () => {
  for (const [address, hostHeader, skip] of [['127.0.0.1', '127.0.0.1', false], ['::1', '[::1]', SKIP_V6]] as const) {
    test(`${address}: fetched from the address itself, Host ${hostHeader}, the record names the address`, { skip }, async () => {
      const responder = await httpResponder(address, { [CHALLENGE_PATH]: body(KEY_AUTH) });
      const result = await va(responder.port).validate(req('http-01', address));
      assert.deepEqual(result, {
        ok: true,
        records: [{ url: `http://${hostHeader}${CHALLENGE_PATH}`, hostname: address, port: String(responder.port), addressesResolved: [address], addressUsed: address }],
      });
      assert.deepEqual(responder.hosts, [hostHeader]);
    });

    test(`${address}: a wrong body is unauthorized`, { skip }, async () => {
      const responder = await httpResponder(address, { [CHALLENGE_PATH]: body('not the key authorization') });
      assertProblem(await va(responder.port).validate(req('http-01', address)), 'unauthorized', '"not the key authorization"', KEY_AUTH, `http://${hostHeader}${CHALLENGE_PATH}`);
    });
  }

  test('a redirect on the same address is followed', async () => {
    const responder = await httpResponder('127.0.0.1', { [CHALLENGE_PATH]: redirect('/moved'), '/moved': body(KEY_AUTH) });
    const result = await va(responder.port).validate(req('http-01', '127.0.0.1'));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(result.records.map((r) => [r.url, r.hostname, r.addressUsed]), [
      [`http://127.0.0.1${CHALLENGE_PATH}`, '127.0.0.1', '127.0.0.1'], ['http://127.0.0.1/moved', '127.0.0.1', '127.0.0.1'],
    ]);
  });

  test('a redirect to another address is refused before it is fetched', async () => {
    const responder = await httpResponder('127.0.0.1', { [CHALLENGE_PATH]: redirect('http://127.0.0.2/x') });
    const result = await va(responder.port).validate(req('http-01', '127.0.0.1'));
    assertProblem(result, 'connection', 'Invalid host in redirect target http://127.0.0.2/x', 'not other IP addresses');
    assert.equal(result.records.length, 1);
  });

  test('connection refused names the address', async () => {
    const closed = createTcpServer();
    const port = await listen(closed, '127.0.0.1');
    await new Promise((r) => closed.close(r));
    assertProblem(await va(port).validate(req('http-01', '127.0.0.1')), 'connection', `127.0.0.1:${port}`, 'Connection refused');
  });
});

describe('tls-alpn-01 for an IP address', () => {
  for (const [address, sni, skip] of [['127.0.0.1', '1.0.0.127.in-addr.arpa', false], ['::1', V6_REVERSE, SKIP_V6]] as const) {
    test(`${address}: SNI is the reverse name ${sni.length > 30 ? '(ip6.arpa)' : sni}, the SAN the iPAddress`, { skip }, async () => {
      const server = await alpnServer(address, { type: 'ip', value: address });
      const result = await va(1, server.port).validate(req('tls-alpn-01', address));
      assert.deepEqual(result, { ok: true, records: [{ hostname: address, port: String(server.port), addressesResolved: [address], addressUsed: address }] });
      assert.deepEqual(server.sni, [sni]);
    });

    test(`${address}: a wrong digest is unauthorized`, { skip }, async () => {
      const server = await alpnServer(address, { type: 'ip', value: address }, { digest: Buffer.alloc(32, 7) });
      assertProblem(await va(1, server.port).validate(req('tls-alpn-01', address)), 'unauthorized', '0707070707', sni);
    });
  }

  test('the address as a dNSName instead of an iPAddress is refused', async () => {
    const server = await alpnServer('127.0.0.1', '127.0.0.1');
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', '127.0.0.1')), 'incorrectResponse', 'iPAddress 127.0.0.1', 'dns:127.0.0.1');
  });

  test('an iPAddress for another address is refused', async () => {
    const server = await alpnServer('127.0.0.1', { type: 'ip', value: '127.0.0.2' });
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', '127.0.0.1')), 'incorrectResponse', 'ip:127.0.0.2');
  });

  test('the IPv4-mapped IPv6 form of the address is not the address', async () => {
    const server = await alpnServer('127.0.0.1', { type: 'ip', value: '::ffff:7f00:1' });
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', '127.0.0.1')), 'incorrectResponse', 'iPAddress 127.0.0.1');
  });

  test('the reverse name as an extra dNSName is refused: exactly one SAN', async () => {
    const server = await alpnServer('127.0.0.1', { type: 'ip', value: '127.0.0.1' }, { sanNames: [{ type: 'ip', value: '127.0.0.1' }, '1.0.0.127.in-addr.arpa'] });
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', '127.0.0.1')), 'incorrectResponse', 'exactly one subjectAltName');
  });
});

describe('requests for IP identifiers', () => {
  test('dns-01 is refused as malformed (RFC 8738 §7)', async () => {
    const result = await va(1).validate(req('dns-01', '127.0.0.1'));
    assertProblem(result, 'malformed', 'dns-01', '127.0.0.1');
    assert.deepEqual(result.records, []);
  });

  for (const [value, canonical] of [
    ['127.000.000.001', '127.0.0.1'], ['0x7f.0.0.1', '127.0.0.1'], ['127.1', '127.0.0.1'],
    ['::0:1', '::1'], ['0:0:0:0:0:0:0:1', '::1'], ['2001:DB8::1', '2001:db8::1'],
  ] as const) {
    test(`the non-canonical ${value} is malformed, and nothing is fetched`, async () => {
      const responder = await httpResponder('127.0.0.1', { [CHALLENGE_PATH]: body(KEY_AUTH) });
      assertProblem(await va(responder.port).validate(req('http-01', value)), 'malformed', 'canonical form', `"${canonical}"`);
      assert.deepEqual(responder.hosts, []);
    });
  }

  test('a zone index is malformed', async () => {
    assertProblem(await va(1).validate(req('http-01', 'fe80::1%lo')), 'malformed', 'zone index');
  });

  test('CAA does not apply to an address: checkCaa allows without a lookup; non-canonical is malformed', async () => {
    const authority = va(1);
    const check = (domain: string) => authority.checkCaa({ domain, wildcard: false, accountUri: ACCOUNT, validationMethod: 'http-01' });
    assert.deepEqual(await check('192.0.2.1'), { ok: true });
    assert.deepEqual(await check('2001:db8::1'), { ok: true });
    assertProblem(await check('192.0.2.01'), 'malformed', 'canonical form');
    assert.equal(dnsQueries, 0);
  });
});

describe('reverse names (RFC 8738 §6)', () => {
  test('IPv4 in in-addr.arpa, IPv6 one nibble per label in ip6.arpa', () => {
    assert.equal(reverseName(ipTarget('192.0.2.1')!), '1.2.0.192.in-addr.arpa');
    // The example RFC 8738 §6 gives.
    assert.equal(reverseName(ipTarget('2001:db8::1')!), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  });

  test('a DNS name is not an IP target', () => {
    assert.equal(ipTarget('1.2.3.4.example.com'), undefined);
  });
});
