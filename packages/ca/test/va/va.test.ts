// The VA against real loopback servers: node http/https/tls responders and pebble-challtestsrv as the DNS server.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ValidationAuthority, type ValidationRequest, type ValidationResult } from '../../src/va/index.js';
import { alpnCert, selfSigned } from './certs.js';
import { startChallTestSrv, type ChallTestSrv } from './challtestsrv.js';

const TOKEN = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
const CHALLENGE_PATH = `/.well-known/acme-challenge/${TOKEN}`;

let dns: ChallTestSrv;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  dns = await startChallTestSrv();
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await dns.close();
});

function listen<T extends Server | http.Server | https.Server | tls.Server>(server: T): Promise<number> {
  // Track raw sockets so cleanup can cut connections a test server deliberately leaves hanging.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      cleanups.push(() => new Promise((r) => {
        server.close(() => r(undefined));
        for (const socket of sockets) socket.destroy();
      }));
      resolve((server.address() as AddressInfo).port);
    });
  });
}

interface Seen { host?: string; path?: string; userAgent?: string }

/** An http server answering by path; records the last request it saw. */
async function httpResponder(routes: Record<string, (res: http.ServerResponse) => void>): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ host: req.headers.host, path: req.url, userAgent: req.headers['user-agent'] });
    const route = routes[req.url ?? ''];
    if (route) route(res);
    else { res.statusCode = 404; res.end('not found'); }
  });
  return { port: await listen(server), seen };
}

const body = (text: string) => (res: http.ServerResponse) => res.end(text);
const redirect = (location: string, status = 302) => (res: http.ServerResponse) => { res.statusCode = status; res.setHeader('Location', location); res.end(); };

function va(httpPort: number, tlsPort = 1, timeoutMs = 3000): ValidationAuthority {
  const authority = new ValidationAuthority({ httpPort, tlsPort, dnsServer: dns.dnsServer, timeoutMs });
  cleanups.push(() => authority.close());
  return authority;
}

const ACCOUNT = 'https://ca.example/acme/acct/1';
const req = (type: ValidationRequest['type'], domain: string, keyAuthorization = KEY_AUTH): ValidationRequest => ({ type, domain, token: TOKEN, keyAuthorization, wildcard: false, accountUri: ACCOUNT });

function assertProblem(result: ValidationResult, kind: string, ...detailParts: (string | RegExp)[]): void {
  assert.equal(result.ok, false, `expected a ${kind} problem, got success`);
  if (result.ok) return;
  assert.equal(result.problem.type, `urn:ietf:params:acme:error:${kind}`, result.problem.detail);
  for (const part of detailParts) {
    if (typeof part === 'string') assert.ok(result.problem.detail.includes(part), `detail ${JSON.stringify(result.problem.detail)} lacks ${JSON.stringify(part)}`);
    else assert.match(result.problem.detail, part);
  }
}

describe('http-01', () => {
  test('validates the key authorization served at the well-known path, with Host = domain', async () => {
    const responder = await httpResponder({ [CHALLENGE_PATH]: body(`${KEY_AUTH}\r\n`) });
    const result = await va(responder.port).validate(req('http-01', 'ok.example.com'));
    assert.deepEqual(result, {
      ok: true,
      records: [{ url: `http://ok.example.com${CHALLENGE_PATH}`, hostname: 'ok.example.com', port: String(responder.port), addressesResolved: ['127.0.0.1'], addressUsed: '127.0.0.1' }],
    });
    assert.equal(responder.seen[0].host, 'ok.example.com');
    assert.match(responder.seen[0].userAgent ?? '', /cobble/);
  });

  test('uses the address from the DNS server, not the system resolver', async () => {
    const responder = await httpResponder({ [CHALLENGE_PATH]: body(KEY_AUTH) });
    await dns.addA('elsewhere.example.com', ['127.0.0.2']);
    const result = await va(responder.port).validate(req('http-01', 'elsewhere.example.com'));
    // The responder listens on 127.0.0.1 only, so a connection to 127.0.0.2 is refused: proof the A record was used.
    assertProblem(result, 'connection', '127.0.0.2', 'Connection refused');
    assert.deepEqual(result.records[0].addressesResolved, ['127.0.0.2']);
  });

  test('falls back from an unreachable IPv6 address to IPv4', async () => {
    const responder = await httpResponder({ [CHALLENGE_PATH]: body(KEY_AUTH) });
    await dns.addAAAA('dualstack.example.com', ['::1']);
    const result = await va(responder.port).validate(req('http-01', 'dualstack.example.com'));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(result.records[0].addressesResolved, ['127.0.0.1', '::1']);
    assert.equal(result.records[0].addressUsed, '127.0.0.1');
  });

  test('a wrong body is unauthorized and shows what was expected and seen', async () => {
    const responder = await httpResponder({ [CHALLENGE_PATH]: body('something else') });
    const result = await va(responder.port).validate(req('http-01', 'wrong.example.com'));
    assertProblem(result, 'unauthorized', KEY_AUTH, '"something else"', `127.0.0.1:${responder.port}`);
  });

  test('a 404 is unauthorized and names the URL, address and status', async () => {
    const responder = await httpResponder({});
    const result = await va(responder.port).validate(req('http-01', 'missing.example.com'));
    assertProblem(result, 'unauthorized', 'HTTP 404', `http://missing.example.com${CHALLENGE_PATH}`, `127.0.0.1:${responder.port}`);
  });

  test('a body longer than the bound is refused', async () => {
    const responder = await httpResponder({ [CHALLENGE_PATH]: body(KEY_AUTH + 'x'.repeat(10_000)) });
    const result = await va(responder.port).validate(req('http-01', 'big.example.com'));
    assertProblem(result, 'incorrectResponse', 'longer than 128 bytes');
  });

  test('connection refused is a connection problem naming address and port', async () => {
    const closed = createTcpServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const result = await va(port).validate(req('http-01', 'refused.example.com'));
    assertProblem(result, 'connection', `127.0.0.1:${port}`, 'Connection refused');
  });

  test('a server that accepts but never answers times out within the bound', async () => {
    const silent = createTcpServer(() => { /* hold the socket open, send nothing */ });
    const port = await listen(silent);
    const started = Date.now();
    const result = await va(port, 1, 400).validate(req('http-01', 'slow.example.com'));
    assertProblem(result, 'connection', 'Timeout after connect', `127.0.0.1:${port}`);
    assert.ok(Date.now() - started < 2000, 'the timeout must bound the validation');
  });

  test('follows redirects to another name and path, recording every hop', async () => {
    const responder = await httpResponder({
      [CHALLENGE_PATH]: redirect(`http://hop.example.com/step2`, 301),
      '/step2': redirect('/final', 307),
      '/final': body(KEY_AUTH),
    });
    const result = await va(responder.port).validate(req('http-01', 'start.example.com'));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(result.records.map((r) => r.url), [
      `http://start.example.com${CHALLENGE_PATH}`, 'http://hop.example.com/step2', 'http://hop.example.com/final',
    ]);
    assert.deepEqual(responder.seen.map((s) => s.host), ['start.example.com', 'hop.example.com', 'hop.example.com']);
  });

  test('follows a redirect to https on the TLS port without checking the certificate', async () => {
    const { cert, key } = await selfSigned(['secure.example.com']);
    let sni: string | undefined;
    const server = https.createServer({ cert, key }, (r, res) => {
      sni = (r.socket as tls.TLSSocket).servername || undefined;
      res.end(r.url === '/secure' ? KEY_AUTH : 'no');
    });
    const tlsPort = await listen(server);
    const responder = await httpResponder({ [CHALLENGE_PATH]: redirect('https://secure.example.com/secure') });
    const result = await va(responder.port, tlsPort).validate(req('http-01', 'plain.example.com'));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.records[1].port, String(tlsPort));
    assert.equal(sni, 'secure.example.com');
  });

  test('an explicit redirect port must be 80, 443 or one the VA is configured for', async () => {
    const elsewhere = await httpResponder({ '/there': body(KEY_AUTH) });
    const refused = await httpResponder({ [CHALLENGE_PATH]: redirect(`http://explicit.example.com:${elsewhere.port}/there`) });
    assertProblem(await va(refused.port).validate(req('http-01', 'port.example.com')), 'connection', `not ${elsewhere.port}`);
    assert.equal(elsewhere.seen.length, 0);

    const accepted = await httpResponder({ [CHALLENGE_PATH]: redirect('http://explicit.example.com:443/there'), '/there': body(KEY_AUTH) });
    const result = await va(accepted.port).validate(req('http-01', 'port.example.com'));
    // An http:// target is always fetched from the VA's httpPort (in production 80), whatever port the URL names.
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.records[1].url, 'http://explicit.example.com:443/there');
    assert.equal(result.records[1].port, String(accepted.port));
  });

  test('a TLS failure after a redirect to https is a tls problem', async () => {
    const plain = await httpResponder({});
    const responder = await httpResponder({ [CHALLENGE_PATH]: redirect('https://secure.example.com/x') });
    const result = await va(responder.port, plain.port).validate(req('http-01', 'tlsfail.example.com'));
    assertProblem(result, 'tls', `127.0.0.1:${plain.port}`, 'https://secure.example.com/x');
  });

  test('stops after 10 redirects', async () => {
    const routes: Record<string, (res: http.ServerResponse) => void> = { [CHALLENGE_PATH]: redirect('/r1') };
    for (let i = 1; i <= 11; i++) routes[`/r${i}`] = redirect(`/r${i + 1}`);
    routes['/r12'] = body(KEY_AUTH);
    const responder = await httpResponder(routes);
    const result = await va(responder.port).validate(req('http-01', 'loop.example.com'));
    assertProblem(result, 'connection', 'Too many redirects');
    assert.equal(result.records.length, 11);
  });

  test('ten redirects are still followed', async () => {
    const routes: Record<string, (res: http.ServerResponse) => void> = { [CHALLENGE_PATH]: redirect('/r1') };
    for (let i = 1; i < 10; i++) routes[`/r${i}`] = redirect(`/r${i + 1}`);
    routes['/r10'] = body(KEY_AUTH);
    const responder = await httpResponder(routes);
    const result = await va(responder.port).validate(req('http-01', 'ten.example.com'));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.records.length, 11);
  });

  test('detects a redirect loop', async () => {
    const responder = await httpResponder({ [CHALLENGE_PATH]: redirect('/a'), '/a': redirect(CHALLENGE_PATH) });
    const result = await va(responder.port).validate(req('http-01', 'cycle.example.com'));
    assertProblem(result, 'connection', 'Redirect loop');
  });

  for (const [name, location, expected] of [
    ['a port other than 80/443/the configured ones', 'http://other.example.com:8081/x', 'not 8081'],
    ['an IP address', 'http://127.0.0.1/x', 'not IP addresses'],
    ['a non-http scheme', 'ftp://other.example.com/x', '"ftp"'],
    ['a name outside the IANA TLDs', 'http://host.invalidtld/x', 'IANA'],
  ] as const) {
    test(`refuses a redirect to ${name}`, async () => {
      const responder = await httpResponder({ [CHALLENGE_PATH]: redirect(location) });
      const result = await va(responder.port).validate(req('http-01', 'redir.example.com'));
      assertProblem(result, 'connection', expected);
    });
  }

  test('SERVFAIL is a dns problem naming the DNS server', async () => {
    await dns.setServfail('broken.example.com');
    const result = await va(1).validate(req('http-01', 'broken.example.com'));
    assertProblem(result, 'dns', 'SERVFAIL', 'broken.example.com', dns.dnsServer);
  });
});

describe('dns', () => {
  let blackhole: UdpSocket;
  let blackholePort: number;
  before(async () => {
    blackhole = createSocket('udp4');
    await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', () => r()));
    blackholePort = blackhole.address().port;
  });
  after(() => new Promise<void>((r) => blackhole.close(() => r())));

  test('an unresponsive DNS server is a dns timeout within the bound', async () => {
    const authority = new ValidationAuthority({ httpPort: 1, tlsPort: 1, dnsServer: `127.0.0.1:${blackholePort}`, timeoutMs: 600 });
    const started = Date.now();
    const result = await authority.validate(req('dns-01', 'quiet.example.com'));
    await authority.close();
    assertProblem(result, 'dns', 'timed out', `127.0.0.1:${blackholePort}`);
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });
});

describe('dns-01', () => {
  const digest = createHash('sha256').update(KEY_AUTH).digest('base64url');

  test('validates the TXT record at _acme-challenge', async () => {
    await dns.setTxt('_acme-challenge.txt.example.com', digest);
    const result = await va(1).validate(req('dns-01', 'txt.example.com'));
    assert.deepEqual(result, { ok: true, records: [{ hostname: 'txt.example.com' }] });
  });

  test('a wrong TXT value is unauthorized and shows both values', async () => {
    await dns.setTxt('_acme-challenge.wrongtxt.example.com', 'not-the-digest');
    const result = await va(1).validate(req('dns-01', 'wrongtxt.example.com'));
    assertProblem(result, 'unauthorized', '"not-the-digest"', digest, '_acme-challenge.wrongtxt.example.com');
  });

  test('no TXT record is unauthorized', async () => {
    const result = await va(1).validate(req('dns-01', 'notxt.example.com'));
    assertProblem(result, 'unauthorized', 'No TXT record found at _acme-challenge.notxt.example.com', digest);
  });

  test('one matching record among several is enough', async () => {
    await dns.setTxt('_acme-challenge.multi.example.com', 'stale-value');
    await dns.setTxt('_acme-challenge.multi.example.com', digest);
    const result = await va(1).validate(req('dns-01', 'multi.example.com'));
    assert.equal(result.ok, true, JSON.stringify(result));
  });

  test('SERVFAIL at the challenge name is a dns problem', async () => {
    await dns.setServfail('_acme-challenge.sf.example.com');
    const result = await va(1).validate(req('dns-01', 'sf.example.com'));
    assertProblem(result, 'dns', 'SERVFAIL', '_acme-challenge.sf.example.com');
  });
});

describe('tls-alpn-01', () => {
  async function alpnServer(pair: { cert: string; key: string }, alpn: string[] | undefined): Promise<{ port: number; sni: (string | undefined)[] }> {
    const sni: (string | undefined)[] = [];
    const context = tls.createSecureContext(pair);
    const server = tls.createServer({ ...pair, ALPNProtocols: alpn, SNICallback: (name, done) => { sni.push(name); done(null, context); } });
    server.on('secureConnection', (socket) => socket.end());
    server.on('tlsClientError', () => { /* the VA hanging up is expected */ });
    return { port: await listen(server), sni };
  }

  test('validates an RFC 8737 certificate offered for acme-tls/1', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH), ['acme-tls/1']);
    const result = await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com'));
    assert.deepEqual(result, { ok: true, records: [{ hostname: 'alpn.example.com', port: String(server.port), addressesResolved: ['127.0.0.1'], addressUsed: '127.0.0.1' }] });
    assert.deepEqual(server.sni, ['alpn.example.com']);
  });

  test('a wrong digest is unauthorized', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH, { digest: Buffer.alloc(32, 7) }), ['acme-tls/1']);
    const result = await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com'));
    assertProblem(result, 'unauthorized', '0707070707', `127.0.0.1:${server.port}`);
  });

  test('a non-critical acmeIdentifier extension is refused', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH, { critical: false }), ['acme-tls/1']);
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com')), 'incorrectResponse', 'critical');
  });

  test('a certificate without the acmeIdentifier extension is refused', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH, { omitAcmeExtension: true }), ['acme-tls/1']);
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com')), 'incorrectResponse', 'missing the acmeIdentifier');
  });

  test('a certificate with an extra SAN is refused', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH, { sanNames: ['alpn.example.com', 'other.example.com'] }), ['acme-tls/1']);
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com')), 'incorrectResponse', 'dns:other.example.com');
  });

  test('a certificate for another name is refused', async () => {
    const server = await alpnServer(await alpnCert('other.example.com', KEY_AUTH), ['acme-tls/1']);
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com')), 'incorrectResponse', 'dns:other.example.com');
  });

  test('a server that does not negotiate acme-tls/1 is refused', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH), undefined);
    assertProblem(await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com')), 'incorrectResponse', 'acme-tls/1', 'none');
  });

  test('a server offering only other ALPN protocols is a tls problem', async () => {
    const server = await alpnServer(await alpnCert('alpn.example.com', KEY_AUTH), ['h2']);
    const result = await va(1, server.port).validate(req('tls-alpn-01', 'alpn.example.com'));
    assertProblem(result, 'tls', 'acme-tls/1', `127.0.0.1:${server.port}`);
  });

  test('a plain-text server is a tls problem', async () => {
    const responder = await httpResponder({});
    const result = await va(1, responder.port).validate(req('tls-alpn-01', 'alpn.example.com'));
    assert.equal(result.ok, false);
    if (!result.ok) assert.ok(['tls', 'connection'].some((k) => result.problem.type.endsWith(k)), result.problem.type);
  });

  test('connection refused is a connection problem', async () => {
    const closed = createTcpServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    assertProblem(await va(1, port).validate(req('tls-alpn-01', 'alpn.example.com')), 'connection', `127.0.0.1:${port}`, 'Connection refused');
  });
});

describe('requests', () => {
  test('a token outside base64url is malformed and nothing is fetched', async () => {
    const responder = await httpResponder({});
    const result = await va(responder.port).validate({ ...req('http-01', 'x.example.com', 'x'), token: '../../etc/passwd' });
    assertProblem(result, 'malformed', 'token');
    assert.equal(responder.seen.length, 0);
  });

  test('the constructor refuses a bad port', () => {
    assert.throws(() => new ValidationAuthority({ httpPort: 0, tlsPort: 443 }), /httpPort/);
  });
});
