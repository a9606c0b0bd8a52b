// Multi-perspective issuance corroboration against real parts: remote perspectives are real VAs behind the mutual-TLS
// server (in-process, and one as the real `cobble ca va-remote` process), resolving through real pebble-challtestsrv
// DNS servers and fetching from a real http-01 responder. A perspective disagrees for real: its VA reaches a
// "hijacker" web server that serves the wrong key authorization, or a DNS server with a CAA record forbidding us.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import tls from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/errors.js';
import {
  corroboratingValidator, loadVaRemoteConfigFile, perspectivesConfigSchema, vaRemoteConfigSchema,
} from '../../src/config/perspectives.js';
import { parseConfigSection } from '../../src/config/load.js';
import { CorroboratingValidator, allowedFailures, type CorroborationSummary } from '../../src/va/corroborate.js';
import { ValidationAuthority, type CaaRequest, type ValidationRequest, type ValidationResult, type Validator } from '../../src/va/index.js';
import { RemotePerspective, serveRemotePerspective, type Perspective, type PerspectiveTls } from '../../src/va/remote.js';
import { Http01Responder } from '../support/acme.js';
import { startChallTestSrv, type ChallTestSrv } from './challtestsrv.js';
import { createTestCa, writeVaRemoteConfig } from './mtls-pki.js';

const TOKEN = 'mPiCtOkEn_0123456789abcdefghijklmnopqrstuv';
const KEY_AUTH = `${TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
const DOMAIN = 'www.mpic.test';
const CAA_IDENTITY = 'cobble.test';
const ACCOUNT = 'https://ca.test/acme/acct/1';
const cobbleBin = fileURLToPath(new URL('../../../cli/bin/cobble.js', import.meta.url));

const request: ValidationRequest = { type: 'http-01', domain: DOMAIN, token: TOKEN, keyAuthorization: KEY_AUTH, wildcard: false, accountUri: ACCOUNT };
const caaRequest: CaaRequest = { domain: DOMAIN, wildcard: false, accountUri: ACCOUNT, validationMethod: 'http-01' };

let dns: ChallTestSrv;
/** A second DNS view: the same names, plus a CAA record naming another CA. */
let dnsCaa: ChallTestSrv;
let responder: Http01Responder;
let hijacker: Http01Responder;
let hangingPort: number;
let dir: string;
let clientTls: PerspectiveTls;
let serverTls: PerspectiveTls;
const rogueClient: Partial<Record<'trusted' | 'untrusted' | 'intruder', PerspectiveTls>> = {};
const cleanups: (() => Promise<unknown>)[] = [];
/** name → URL of every running perspective. */
const urls = new Map<string, string>();
let cli: ChildProcess;
let cliExit: Promise<number | null>;

function va(options: { httpPort?: number; dnsServer?: string; timeoutMs?: number } = {}): ValidationAuthority {
  const authority = new ValidationAuthority({
    httpPort: options.httpPort ?? responder.port,
    tlsPort: 1,
    dnsServer: options.dnsServer ?? dns.dnsServer,
    timeoutMs: options.timeoutMs ?? 5000,
    caaIdentities: [CAA_IDENTITY],
  });
  cleanups.push(() => authority.close());
  return authority;
}

async function servePerspective(name: string, rir: string, validator: Validator): Promise<void> {
  const server = await serveRemotePerspective(validator, { name, rir, tls: { ...serverTls, allowedClientNames: ['cobble-ca'] } });
  cleanups.push(() => server.close());
  urls.set(name, server.url);
}

/** The CA's client for a running perspective; `as` overrides the name/RIR it expects, `tls` its client identity. */
function remote(name: string, options: { as?: { name?: string; rir?: string }; tls?: PerspectiveTls; timeoutMs?: number } = {}): RemotePerspective {
  const url = urls.get(name);
  assert.ok(url, `no perspective ${name} running`);
  const rir = RIRS[name]!;
  const perspective = new RemotePerspective({
    name: options.as?.name ?? name,
    rir: options.as?.rir ?? rir,
    url,
    tls: options.tls ?? clientTls,
    timeoutMs: options.timeoutMs ?? 20_000,
  });
  cleanups.push(() => perspective.close());
  return perspective;
}

const RIRS: Record<string, string> = {
  'arin-1': 'ARIN', 'arin-2': 'ARIN', 'ripe-1': 'RIPE', 'ripe-2': 'RIPE', 'afrinic-1': 'AFRINIC', 'apnic-cli': 'APNIC',
  'ripe-hijacked': 'RIPE', 'arin-hijacked': 'ARIN', 'lacnic-hijacked': 'LACNIC',
  'arin-caa': 'ARIN', 'ripe-caa': 'RIPE', 'apnic-hanging': 'APNIC',
};

function corroborating(primary: Validator, names: string[], options: { requireDistinctRirs?: boolean } = {}) {
  const summaries: CorroborationSummary[] = [];
  const validator = new CorroboratingValidator(primary, names.map((name) => remote(name)), {
    ...options,
    slowRemoteTimeoutMs: 200,
    onSummary: (s) => summaries.push(s),
  });
  return { validator, summaries };
}

function assertFailure(result: { ok: boolean; problem?: { type: string; detail: string } }, kind: string, ...detailParts: (string | RegExp)[]): void {
  assert.equal(result.ok, false, `expected a ${kind} failure, got success`);
  assert.equal(result.problem!.type, `urn:ietf:params:acme:error:${kind}`, result.problem!.detail);
  for (const part of detailParts) {
    if (typeof part === 'string') assert.ok(result.problem!.detail.includes(part), `detail ${JSON.stringify(result.problem!.detail)} lacks ${JSON.stringify(part)}`);
    else assert.match(result.problem!.detail, part);
  }
}

async function startCliPerspective(): Promise<void> {
  const config = writeVaRemoteConfig(dir, { name: 'apnic-cli', rir: 'APNIC', port: 0, httpPort: responder.port, dnsServer: dns.dnsServer, caaIdentity: CAA_IDENTITY });
  cli = spawn(process.execPath, [cobbleBin, 'ca', 'va-remote', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => cli.kill('SIGKILL');
  process.once('exit', killOnExit);
  cliExit = new Promise((resolve) => cli.once('exit', (code) => {
    process.removeListener('exit', killOnExit);
    resolve(code);
  }));
  let output = '';
  cli.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    cli.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /listening on (https:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    void cliExit.then((code) => reject(new Error(`cobble ca va-remote exited with ${code}: ${output}`)));
  });
  assert.match(output, /Remote perspective apnic-cli \(APNIC\) listening on https:\/\/127\.0\.0\.1:\d+/);
  urls.set('apnic-cli', url);
}

before(async () => {
  [dns, dnsCaa, responder, hijacker] = await Promise.all([startChallTestSrv(), startChallTestSrv(), Http01Responder.start(), Http01Responder.start()]);
  await dnsCaa.addCAA(DOMAIN, [{ tag: 'issue', value: 'other-ca.example' }]);
  responder.set(TOKEN, KEY_AUTH);
  // What a BGP hijacker's web server would serve: not the subscriber's key authorization.
  hijacker.set(TOKEN, `${TOKEN}.hijacked`);
  // A web server that accepts connections and never answers: a perspective stuck behind it is a straggler.
  const sockets = new Set<Socket>();
  const hanging = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => hanging.once('listening', resolve));
  hangingPort = (hanging.address() as AddressInfo).port;
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hanging.close(resolve));
  });

  const ca = await createTestCa('cobble MPIC test CA');
  const rogue = await createTestCa('rogue CA');
  const [server, client, intruder, rogueSigned] = await Promise.all([ca.server('perspective'), ca.client('cobble-ca'), ca.client('intruder'), rogue.client('cobble-ca')]);
  serverTls = { ...server, ca: ca.cert };
  clientTls = { ...client, ca: ca.cert };
  rogueClient.trusted = clientTls;
  rogueClient.untrusted = { ...rogueSigned, ca: ca.cert };
  rogueClient.intruder = { ...intruder, ca: ca.cert };
  dir = mkdtempSync(join(tmpdir(), 'cobble-mpic-'));
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  writeFileSync(join(dir, 'server.pem'), server.cert);
  writeFileSync(join(dir, 'server.key'), server.key);
  writeFileSync(join(dir, 'client.pem'), client.cert);
  writeFileSync(join(dir, 'client.key'), client.key);

  await Promise.all([
    startCliPerspective(),
    ...['arin-1', 'arin-2', 'ripe-1', 'ripe-2', 'afrinic-1'].map((name) => servePerspective(name, RIRS[name]!, va())),
    ...['ripe-hijacked', 'arin-hijacked', 'lacnic-hijacked'].map((name) => servePerspective(name, RIRS[name]!, va({ httpPort: hijacker.port }))),
    ...['arin-caa', 'ripe-caa'].map((name) => servePerspective(name, RIRS[name]!, va({ dnsServer: dnsCaa.dnsServer }))),
    servePerspective('apnic-hanging', 'APNIC', va({ httpPort: hangingPort, timeoutMs: 60_000 })),
  ]);
});

after(async () => {
  cli?.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup();
  await Promise.all([dns?.close(), dnsCaa?.close(), responder?.close(), hijacker?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a remote perspective over mutual TLS', () => {
  test('answers a validation with its VA\'s result and records', async () => {
    const result = await remote('arin-1').validate(request);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.records[0]?.hostname, DOMAIN);
    assert.equal(result.records[0]?.addressUsed, '127.0.0.1');
  });

  test('passes on its VA\'s failure as it is', async () => {
    const result = await remote('ripe-hijacked').validate(request);
    assertFailure(result, 'unauthorized', 'did not match', 'hijacked');
  });

  test('answers a CAA check from its own DNS view', async () => {
    assert.deepEqual(await remote('arin-1').checkCaa(caaRequest), { ok: true });
    assertFailure(await remote('arin-caa').checkCaa(caaRequest), 'caa', 'prevents issuance');
  });

  test('the `cobble ca va-remote` process serves validations', async () => {
    assert.equal((await remote('apnic-cli').validate(request)).ok, true);
  });

  test('refuses a client whose certificate does not chain to its CA, or that has none', async () => {
    const untrusted = await remote('arin-1', { tls: rogueClient.untrusted }).validate(request);
    // TLS 1.3 rejects the client certificate after the client considers the handshake done, so the client sees the
    // alert or only the closed connection.
    assertFailure(untrusted, 'serverInternal', /^perspective arin-1: /, /unknown ca|alert|socket hang up|ECONNRESET/i);
    // With TLS 1.2 the refusal is part of the handshake: without a certificate OpenSSL sends an alert; an untrusted
    // one is refused by Node when the chain check fails, which cuts the connection before the handshake completes.
    const { port } = new URL(urls.get('arin-1')!);
    const handshake = (identity: Partial<PerspectiveTls>) => new Promise<Error | string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca: clientTls.ca, cert: identity.cert, key: identity.key, maxVersion: 'TLSv1.2' });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('handshake completed');
      });
      socket.once('error', resolve);
    });
    assert.match(String(await handshake(rogueClient.untrusted!)), /disconnected before secure TLS connection was established/);
    assert.match(String(await handshake({})), /alert handshake failure/);
    assert.equal(await handshake(clientTls), 'handshake completed');
  });

  test('refuses a client certificate from its CA whose name is not allowed', async () => {
    const result = await remote('arin-1', { tls: rogueClient.intruder }).validate(request);
    assertFailure(result, 'serverInternal', 'perspective arin-1: answered HTTP 403', 'intruder');
  });

  test('an answer under another name or RIR is a misconfiguration, hence a failure', async () => {
    assertFailure(await remote('arin-1', { as: { name: 'arin-9' } }).validate(request), 'serverInternal',
      'perspective arin-9: answered as perspective "arin-1" in RIR "ARIN", configured as "arin-9" in "ARIN"');
    assertFailure(await remote('arin-1', { as: { rir: 'RIPE' } }).checkCaa(caaRequest), 'serverInternal', 'in RIR "ARIN", configured as "arin-1" in "RIPE"');
  });

  test('an unreachable perspective is a failed result, not an exception', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => closed.once('listening', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const perspective = new RemotePerspective({ name: 'gone', rir: 'ARIN', url: `https://127.0.0.1:${port}`, tls: clientTls, timeoutMs: 5000 });
    cleanups.push(() => perspective.close());
    assertFailure(await perspective.validate(request), 'serverInternal', 'perspective gone: ', 'ECONNREFUSED');
  });
});

describe('corroboration', () => {
  test('quorum table: no failure below 2 remotes, 1 for 2-5, 2 for 6 or more', () => {
    assert.deepEqual([0, 1, 2, 3, 5, 6, 7, 12].map(allowedFailures), [0, 0, 1, 1, 1, 2, 2, 2]);
  });

  test('all perspectives agree: the validation passes, with the primary\'s records', async () => {
    const { validator, summaries } = corroborating(va(), ['arin-1', 'ripe-1', 'apnic-cli']);
    const result = await validator.validate(request);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.records[0]?.hostname, DOMAIN);
    assert.equal(summaries.length, 1);
    assert.deepEqual([...summaries[0]!.passed].sort(), ['apnic-cli', 'arin-1', 'ripe-1']);
    assert.equal(summaries[0]!.corroborated, true);
  });

  test('one disagreeing perspective of three is tolerated', async () => {
    const { validator, summaries } = corroborating(va(), ['arin-1', 'apnic-cli', 'ripe-hijacked']);
    const result = await validator.validate(request);
    assert.equal(result.ok, true, JSON.stringify(result));
    // The outcome may be decided before the third answers; within the straggler allowance it answers anyway.
    assert.deepEqual(summaries[0]!.failed, ['ripe-hijacked']);
  });

  test('two disagreeing perspectives of three: the first remote problem, "During secondary validation"', async () => {
    const { validator, summaries } = corroborating(va(), ['arin-1', 'ripe-hijacked', 'lacnic-hijacked']);
    const result: ValidationResult = await validator.validate(request);
    assertFailure(result, 'unauthorized', /^During secondary validation: /, 'did not match', 'hijacked');
    assert.equal(result.records[0]?.hostname, DOMAIN, 'the primary\'s records are kept');
    assert.deepEqual([...summaries[0]!.failed].sort(), ['lacnic-hijacked', 'ripe-hijacked']);
    assert.equal(summaries[0]!.corroborated, false);
  });

  test('a primary failure is the answer, and no remote is asked', async () => {
    const { validator, summaries } = corroborating(va({ httpPort: hijacker.port }), ['arin-1', 'ripe-1', 'apnic-cli']);
    const result = await validator.validate(request);
    assertFailure(result, 'unauthorized', 'did not match');
    assert.doesNotMatch(result.ok ? '' : result.problem.detail, /secondary/);
    assert.equal(summaries.length, 0);
  });

  test('6 remotes tolerate 2 disagreements but not 3', async () => {
    const good = ['arin-1', 'arin-2', 'ripe-1', 'ripe-2'];
    const twoBad = corroborating(va(), [...good, 'ripe-hijacked', 'arin-hijacked']);
    assert.equal((await twoBad.validator.validate(request)).ok, true);
    const threeBad = corroborating(va(), [...good.slice(0, 3), 'ripe-hijacked', 'arin-hijacked', 'lacnic-hijacked']);
    assertFailure(await threeBad.validator.validate(request), 'unauthorized', /^During secondary validation: /);
  });

  test('a failure also counts when the failing perspective is the only one outside the passing RIR', async () => {
    // Two ARIN perspectives pass and the quorum's count is met, but passing perspectives must span 2 RIRs.
    const strict = corroborating(va(), ['arin-1', 'arin-2', 'ripe-hijacked']);
    assertFailure(await strict.validator.validate(request), 'unauthorized', /^During secondary validation: /);
    assert.deepEqual(strict.summaries[0]!.passedRirs, ['ARIN']);
    const lab = corroborating(va(), ['arin-1', 'arin-2', 'ripe-hijacked'], { requireDistinctRirs: false });
    assert.equal((await lab.validator.validate(request)).ok, true);
  });

  test('remotes all in one RIR are refused at construction when distinct RIRs are required', () => {
    assert.throws(() => new CorroboratingValidator(va(), [remote('arin-1'), remote('arin-2')]), /2 distinct RIRs/);
    assert.throws(() => new CorroboratingValidator(va(), [remote('arin-1'), remote('arin-1')]), /configured twice/);
  });

  test('once decided, a straggler is cut off instead of awaited', { timeout: 30_000 }, async () => {
    // apnic-hanging's VA waits up to 60 s on a web server that never answers; the other two decide the outcome.
    const { validator, summaries } = corroborating(va(), ['arin-1', 'ripe-1', 'apnic-hanging']);
    const result = await validator.validate(request);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(summaries[0]!.cutOff, ['apnic-hanging']);
    assert.deepEqual([...summaries[0]!.passed].sort(), ['arin-1', 'ripe-1']);
  });

  test('CAA: one perspective seeing a forbidding record is tolerated, two are not', async () => {
    const tolerated = corroborating(va(), ['arin-1', 'ripe-1', 'arin-caa']);
    assert.deepEqual(await tolerated.validator.checkCaa(caaRequest), { ok: true });
    assert.equal(tolerated.summaries[0]!.operation, 'caa');
    const refused = corroborating(va(), ['apnic-cli', 'arin-caa', 'ripe-caa']);
    const result = await refused.validator.checkCaa(caaRequest);
    assertFailure(result, 'caa', /^During secondary validation: /, 'prevents issuance');
  });

  test('CAA corroboration also runs inside validate', async () => {
    const { validator } = corroborating(va(), ['apnic-cli', 'arin-caa', 'ripe-caa']);
    assertFailure(await validator.validate(request), 'caa', /^During secondary validation: /);
  });

  test('a primary CAA refusal is the answer', async () => {
    const { validator, summaries } = corroborating(va({ dnsServer: dnsCaa.dnsServer }), ['arin-1', 'ripe-1', 'apnic-cli']);
    assertFailure(await validator.checkCaa(caaRequest), 'caa', /^While processing CAA/);
    assert.equal(summaries.length, 0);
  });

  test('a perspective answering under the wrong name does not count towards the quorum', async () => {
    const summaries: CorroborationSummary[] = [];
    const remotes: Perspective[] = [remote('arin-1', { as: { name: 'arin-x' } }), remote('ripe-1', { as: { name: 'ripe-x' } }), remote('apnic-cli')];
    const validator = new CorroboratingValidator(va(), remotes, { onSummary: (s) => summaries.push(s) });
    assertFailure(await validator.validate(request), 'serverInternal', /^During secondary validation: perspective (arin|ripe)-x: answered as perspective/);
    assert.deepEqual([...summaries[0]!.failed].sort(), ['arin-x', 'ripe-x']);
  });
});

describe('configuration', () => {
  const perspectives = () => ({
    remotes: [
      { name: 'arin-1', rir: 'ARIN', url: urls.get('arin-1') },
      { name: 'ripe-1', rir: 'RIPE', url: urls.get('ripe-1') },
      { name: 'apnic-cli', rir: 'APNIC', url: urls.get('apnic-cli') },
    ],
    tls: { cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), ca: join(dir, 'ca.pem') },
  });

  test('corroboratingValidator builds the CA\'s validator from the config and its PEM files', async () => {
    const config = parseConfigSection(perspectivesConfigSchema, perspectives(), 'ca.yaml', ['va', 'perspectives']);
    assert.equal(config.requireDistinctRirs, true);
    assert.equal(config.timeoutMs, 15_000);
    const validator = await corroboratingValidator(va(), config);
    cleanups.push(async () => validator.close?.());
    assert.equal((await validator.validate(request)).ok, true);
    assert.deepEqual(await validator.checkCaa(caaRequest), { ok: true });
    const hijacked = await corroboratingValidator(va(), { ...config, remotes: [config.remotes[0]!, { name: 'ripe-hijacked', rir: 'RIPE', url: urls.get('ripe-hijacked')! }, { name: 'arin-hijacked', rir: 'ARIN', url: urls.get('arin-hijacked')! }] });
    cleanups.push(async () => hijacked.close?.());
    assertFailure(await hijacked.validate(request), 'unauthorized', /^During secondary validation: /);
  });

  test('a missing PEM file is a ConfigError naming the key', async () => {
    const config = parseConfigSection(perspectivesConfigSchema, { ...perspectives(), tls: { ...perspectives().tls, key: join(dir, 'nope.key') } }, 'ca.yaml');
    await assert.rejects(corroboratingValidator(va(), config, { source: 'ca.yaml' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^ca\.yaml: key "va\.perspectives\.tls\.key": cannot read .*nope\.key/);
      return true;
    });
  });

  test('perspective errors name the file, the full key and the expectation', () => {
    const errorOf = (input: unknown) => {
      try {
        parseConfigSection(perspectivesConfigSchema, input, 'ca.yaml', ['va', 'perspectives']);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err;
      }
      assert.fail('expected a ConfigError');
    };
    const base = perspectives();
    let err = errorOf({ ...base, remotes: [{ ...base.remotes[0], url: 'http://127.0.0.1:1' }, ...base.remotes.slice(1)] });
    assert.match(err.message, /ca\.yaml: key "va\.perspectives\.remotes\.0\.url": expected an https:\/\/ URL/);
    err = errorOf({ ...base, remotes: [{ ...base.remotes[0], region: 'x' }, ...base.remotes.slice(1)] });
    assert.match(err.message, /unknown key "va\.perspectives\.remotes\.0\.region"; expected one of: name, rir, url/);
    err = errorOf({ ...base, remotes: base.remotes.map((r) => ({ ...r, rir: 'ARIN' })) });
    assert.equal(err.keyPath, 'va.perspectives.requireDistinctRirs');
    assert.match(err.message, /all in one RIR/);
    err = errorOf({ ...base, remotes: [base.remotes[0], { ...base.remotes[1], name: 'arin-1' }] });
    assert.match(err.message, /key "va\.perspectives\.remotes\.1\.name": perspective name "arin-1" is used twice/);
    err = errorOf({ ...base, remotes: [base.remotes[0]] });
    assert.match(err.message, /key "va\.perspectives\.remotes": .*at least 2/);
    err = errorOf({ ...base, remotes: [{ ...base.remotes[0], rir: 'EU' }, ...base.remotes.slice(1)] });
    assert.match(err.message, /remotes\.0\.rir".*AFRINIC/);
  });

  test('the va-remote file loader names the file and the key', async () => {
    const file = join(dir, 'bad-remote.yaml');
    writeFileSync(file, 'name: x\nrir: ARIN\ntls: { cert: a, key: b, ca: c }\nva: { httpPort: 80, dns: "1.1.1.1:53" }\n');
    await assert.rejects(loadVaRemoteConfigFile(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, file);
      assert.match(err.message, /unknown key "va\.dns"; expected one of: httpPort, tlsPort, dnsServer, timeoutMs, caaIdentities/);
      return true;
    });
    const defaults = parseConfigSection(vaRemoteConfigSchema, { name: 'fra-1', rir: 'RIPE', tls: { cert: 'a', key: 'b', ca: 'c' } }, 'x.yaml');
    assert.deepEqual(defaults.listen, { host: '127.0.0.1', port: 14300 });
    assert.deepEqual(defaults.va, { httpPort: 80, tlsPort: 443 });
  });

  test('`cobble ca va-remote` with a bad config exits non-zero naming the problem', () => {
    const file = join(dir, 'bad-remote.yaml');
    return new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cobbleBin, 'ca', 'va-remote', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', (code) => {
        try {
          assert.equal(code, 1, stderr);
          assert.match(stderr, /unknown key "va\.dns"/);
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
  });
});

describe('the va-remote process', () => {
  test('stops cleanly on SIGTERM', async () => {
    cli.kill('SIGTERM');
    assert.equal(await cliExit, 0);
  });
});
