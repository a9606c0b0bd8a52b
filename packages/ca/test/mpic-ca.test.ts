// Multi-perspective issuance corroboration through the whole CA: a CA configured with three remote perspectives, each
// a real `cobble ca va-remote` process with its own pebble-challtestsrv as resolver, issuing to the npm client
// acme-client over http-01 and dns-01. A perspective disagrees for real: its resolver sends it to a "hijacker" web
// server (127.0.0.2, same port) serving the wrong key authorization, serves another TXT value, or serves a CAA record
// forbidding the CA. Each perspective's DNS query log shows that it was asked.
//
// The three perspectives are in three RIRs (ARIN, RIPE, APNIC) with `requireDistinctRirs` left at its production
// default: with one perspective failing, the two passing ones still span two RIRs, so the tests exercise the rule
// production runs with rather than switching it off.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import acme from 'acme-client';
import { assertIssued, uniqueName } from './clients/common.js';
import { startHarness, type Harness } from './support/harness.js';
import { trustForAcmeClient } from './support/acme-client.js';
import { freePort, startChallTestSrv, type ChallTestSrv } from './va/challtestsrv.js';
import { createTestCa, writeVaRemoteConfig } from './va/mtls-pki.js';

const cobbleBin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));
const CAA_IDENTITY = 'cobble.test';
/** Where a disagreeing perspective's resolver points the name: the hijacker listens there. */
const HIJACKED_ADDRESS = '127.0.0.2';
/** DNS query types as challtestsrv logs them. */
const QTYPE = { A: 1, TXT: 16, CAA: 257 } as const;

interface Perspective {
  name: string;
  rir: 'ARIN' | 'RIPE' | 'APNIC';
  /** This perspective's own resolver: its view of DNS, and its query log. */
  dns: ChallTestSrv;
  port: number;
  child?: ChildProcess;
  exited?: Promise<NodeJS.Signals | null>;
}

// `dns` and `port` are filled in by `before`.
const perspectives = [
  { name: 'arin-1', rir: 'ARIN' },
  { name: 'ripe-1', rir: 'RIPE' },
  { name: 'apnic-1', rir: 'APNIC' },
] as Perspective[];
const [arin, ripe, apnic] = perspectives as [Perspective, Perspective, Perspective];

let dir: string;
let h: Harness;
let client: acme.Client;
let agent: https.Agent;
let hijacker: http.Server;
/** Token → requests the hijacker answered: proof that a disagreeing perspective really fetched from it. */
const hijacked = new Map<string, number>();

/** Spawns `cobble ca va-remote` for `p` and resolves once it prints the URL it listens on. */
async function startPerspective(p: Perspective, responderPort: number): Promise<void> {
  const config = writeVaRemoteConfig(dir, { name: p.name, rir: p.rir, port: p.port, httpPort: responderPort, dnsServer: p.dns.dnsServer, caaIdentity: CAA_IDENTITY });
  const child = spawn(process.execPath, [cobbleBin, 'ca', 'va-remote', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.child = child;
  // Never outlive the test process, whatever happens to the suite.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  p.exited = new Promise((resolve) => child.once('exit', (_code, signal) => {
    process.removeListener('exit', killOnExit);
    resolve(signal);
  }));
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    // A guard against a hung start, not a measurement: the suite fails with the output instead of hanging.
    const timer = setTimeout(() => reject(new Error(`${p.name} did not start within 30 s: ${output}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (/listening on https:\/\/\S+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void p.exited!.then(() => {
      clearTimeout(timer);
      reject(new Error(`cobble ca va-remote ${p.name} exited: ${output}`));
    });
  });
  assert.match(output, new RegExp(`Remote perspective ${p.name} \\(${p.rir}\\) listening on https://127\\.0\\.0\\.1:${p.port}\\b`));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cobble-mpic-ca-'));
  const pki = await createTestCa('cobble MPIC CA test PKI');
  const [server, caClient] = await Promise.all([pki.server('perspective'), pki.client('cobble-ca')]);
  for (const [file, pem] of Object.entries({ 'ca.pem': pki.cert, 'server.pem': server.cert, 'server.key': server.key, 'client.pem': caClient.cert, 'client.key': caClient.key })) {
    writeFileSync(join(dir, file), pem);
  }
  await Promise.all(perspectives.map(async (p) => {
    p.dns = await startChallTestSrv();
    // The CA needs the perspectives' URLs before it starts, and they need its http-01 responder port.
    p.port = await freePort();
  }));
  h = await startHarness({
    caa: { identities: [CAA_IDENTITY] },
    va: {
      perspectives: {
        remotes: perspectives.map((p) => ({ name: p.name, rir: p.rir, url: `https://127.0.0.1:${p.port}` })),
        tls: { cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), ca: join(dir, 'ca.pem') },
        timeoutMs: 10_000,
      },
    },
  });
  await Promise.all(perspectives.map((p) => startPerspective(p, h.responder.port)));

  // A web server where a hijacked route ends: same port as the subscriber's, wrong key authorization for every token.
  hijacker = http.createServer((req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    if (!token) return void res.writeHead(404).end();
    hijacked.set(token, (hijacked.get(token) ?? 0) + 1);
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${token}.hijacked`);
  });
  await new Promise<void>((resolve, reject) => {
    hijacker.once('error', reject);
    hijacker.listen(h.responder.port, HIJACKED_ADDRESS, resolve);
  });

  // acme-client talks through its own axios instance; this agent makes it trust the CA's development TLS root.
  agent = trustForAcmeClient(await readFile(h.ca.trustBundlePath));
  // Short back-off: the CA answers a challenge once validation is done, so polls rarely wait at all.
  client = new acme.Client({ directoryUrl: h.ca.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), backoffMin: 50, backoffMax: 500, backoffAttempts: 30 });
  await client.createAccount({ termsOfServiceAgreed: true });
});

after(async () => {
  for (const p of perspectives) p.child?.kill('SIGKILL');
  await Promise.all(perspectives.map((p) => p.exited));
  hijacker?.closeAllConnections();
  if (hijacker?.listening) await new Promise((resolve) => hijacker.close(resolve));
  agent?.destroy();
  await h?.close();
  await Promise.all(perspectives.map((p) => p.dns?.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The query types `dns` was asked for `host` (challtestsrv keys its log by the lower-case name without the dot). */
async function queried(dns: ChallTestSrv, host: string): Promise<number[]> {
  const response = await fetch(`${dns.managementUrl}/dns-request-history`, { method: 'POST', body: JSON.stringify({ host }), signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { Question: { Qtype: number } }[]).map((event) => event.Question.Qtype);
}

/** Asserts that `p`'s VA looked up `types` at `host` through its own resolver, i.e. the CA asked it. */
async function assertAsked(p: Pick<Perspective, 'name' | 'dns'>, host: string, ...types: number[]): Promise<void> {
  const seen = await queried(p.dns, host);
  for (const type of types) assert.ok(seen.includes(type), `${p.name} was not asked: its resolver saw types ${JSON.stringify(seen)} for ${host}, expected ${type}`);
}

type Method = 'http-01' | 'dns-01';
/**
 * acme-client's challenge hooks. http-01: the harness's responder, which every VA reaches unless its resolver says
 * otherwise. dns-01: the TXT record on the primary's and every perspective's resolver, a wrong value on those in `wrongTxt`.
 */
function challengeFns(method: Method, wrongTxt: Perspective[] = []) {
  if (method === 'http-01') {
    return {
      challengePriority: ['http-01'],
      challengeCreateFn: async (_authz: acme.Authorization, challenge: { token: string }, keyAuthorization: string) => h.responder.set(challenge.token, keyAuthorization),
      // Tokens are unique per challenge, so a served one never answers another validation.
      challengeRemoveFn: async () => {},
    };
  }
  const resolvers = [{ dns: h.dns, wrong: false }, ...perspectives.map((p) => ({ dns: p.dns, wrong: wrongTxt.includes(p) }))];
  return {
    challengePriority: ['dns-01'],
    // For dns-01 acme-client hands over the TXT value itself.
    challengeCreateFn: async (authz: acme.Authorization, _challenge: unknown, txt: string) => {
      await Promise.all(resolvers.map(({ dns, wrong }) => dns.setTxt(`_acme-challenge.${authz.identifier.value}`, wrong ? `wrong-${txt}` : txt)));
    },
    challengeRemoveFn: async (authz: acme.Authorization) => {
      await Promise.all(resolvers.map(({ dns }) => dns.clearTxt(`_acme-challenge.${authz.identifier.value}`)));
    },
  };
}

/** acme-client's whole flow (order, challenge, finalize, download), then the acceptance check of the chain. */
async function obtain(name: string, method: Method, wrongTxt: Perspective[] = []): Promise<void> {
  const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey());
  const chain = await client.auto({ csr, termsOfServiceAgreed: true, skipChallengeVerification: true, ...challengeFns(method, wrongTxt) });
  assertIssued(chain, h.ca, [name]);
}

/**
 * acme-client's flow step by step up to the challenge, which must fail: the client's wait rejects with the problem's
 * detail (its whole error report), and the authorization and order are invalid. Returns the challenge's problem.
 */
async function refused(name: string, method: Method, wrongTxt: Perspective[] = []): Promise<{ type: string; detail: string }> {
  const order = await client.createOrder({ identifiers: [{ type: 'dns', value: name }] });
  const [authz] = await client.getAuthorizations(order);
  const challenge = authz!.challenges.find((c) => c.type === method)!;
  // For dns-01 acme-client's key authorization is the TXT value, as auto() hands it to challengeCreateFn.
  await challengeFns(method, wrongTxt).challengeCreateFn(authz!, challenge, await client.getChallengeKeyAuthorization(challenge));
  await client.completeChallenge(challenge);
  let message = '';
  await assert.rejects(client.waitForValidStatus(challenge), (err: Error) => ((message = err.message), true));
  const [after] = await client.getAuthorizations(order);
  assert.equal(after!.status, 'invalid');
  const problem = after!.challenges.find((c) => c.type === method)!.error as { type: string; detail: string };
  assert.equal(message, problem.detail, 'acme-client reports the problem detail as its error');
  assert.equal((await client.getOrder(order)).status, 'invalid');
  return problem;
}

describe('a CA with three remote perspectives (real va-remote processes) and acme-client', () => {
  test('all perspectives agree: a certificate over http-01, and each perspective resolved the name and its CAA', async () => {
    const name = uniqueName('mpic-http');
    await obtain(name, 'http-01');
    await assertAsked({ name: 'the primary VA', dns: h.dns }, name, QTYPE.A, QTYPE.CAA);
    for (const p of perspectives) await assertAsked(p, name, QTYPE.A, QTYPE.CAA);
  });

  test('all perspectives agree: a certificate over dns-01, and each perspective looked up the TXT record and CAA', async () => {
    const name = uniqueName('mpic-dns');
    await obtain(name, 'dns-01');
    for (const p of perspectives) {
      await assertAsked(p, `_acme-challenge.${name}`, QTYPE.TXT);
      await assertAsked(p, name, QTYPE.CAA);
    }
  });

  test('one perspective routed to a hijacker (wrong key authorization): still issued', async () => {
    const name = uniqueName('mpic-hijack1');
    await ripe.dns.addA(name, [HIJACKED_ADDRESS]);
    const before = new Set(hijacked.keys());
    await obtain(name, 'http-01');
    const tokens = [...hijacked.keys()].filter((token) => !before.has(token));
    assert.equal(tokens.length, 1, 'the disagreeing perspective fetched the challenge from the hijacker');
  });

  test('one perspective seeing another TXT value: still issued', async () => {
    const name = uniqueName('mpic-txt1');
    await obtain(name, 'dns-01', [apnic]);
    await assertAsked(apnic, `_acme-challenge.${name}`, QTYPE.TXT);
  });

  test('two perspectives routed to the hijacker: the authorization is invalid, "During secondary validation", and the client fails', async () => {
    const name = uniqueName('mpic-hijack2');
    await Promise.all([ripe.dns.addA(name, [HIJACKED_ADDRESS]), apnic.dns.addA(name, [HIJACKED_ADDRESS])]);
    const problem = await refused(name, 'http-01');
    assert.equal(problem.type, 'urn:ietf:params:acme:error:unauthorized', problem.detail);
    assert.ok(problem.detail.startsWith('During secondary validation:'), problem.detail);
    assert.match(problem.detail, /hijacked/);
    // The primary and the third perspective did see the right key authorization: only the quorum refused.
    await assertAsked(arin, name, QTYPE.A);
  });

  test('two perspectives seeing another TXT value: refused the same way over dns-01', async () => {
    const problem = await refused(uniqueName('mpic-txt2'), 'dns-01', [arin, apnic]);
    assert.equal(problem.type, 'urn:ietf:params:acme:error:unauthorized', problem.detail);
    assert.ok(problem.detail.startsWith('During secondary validation:'), problem.detail);
  });

  test('CAA forbidding the CA on two perspectives\' resolvers: a caa problem; on one only: issued', async () => {
    const forbidden = uniqueName('mpic-caa2');
    await Promise.all([arin, ripe].map((p) => p.dns.addCAA(forbidden, [{ tag: 'issue', value: 'other-ca.example' }])));
    const problem = await refused(forbidden, 'http-01');
    assert.equal(problem.type, 'urn:ietf:params:acme:error:caa', problem.detail);
    assert.ok(problem.detail.startsWith('During secondary validation:'), problem.detail);

    const tolerated = uniqueName('mpic-caa1');
    await ripe.dns.addCAA(tolerated, [{ tag: 'issue', value: 'other-ca.example' }]);
    await obtain(tolerated, 'http-01');
    await assertAsked(ripe, tolerated, QTYPE.CAA);
  });

  // Last: the killed perspective stays dead for the rest of the file.
  test('a perspective process killed with SIGKILL counts as one failure: issued with the other two', async () => {
    apnic.child!.kill('SIGKILL');
    assert.equal(await apnic.exited, 'SIGKILL');
    const name = uniqueName('mpic-killed');
    await obtain(name, 'http-01');
    for (const p of [arin, ripe]) await assertAsked(p, name, QTYPE.A, QTYPE.CAA);
    assert.deepEqual(await queried(apnic.dns, name), [], 'the killed perspective validated nothing');
  });
});
