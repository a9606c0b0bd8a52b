// The CA on HSM keys, end to end: the ceremonies in examples/ca-hsm/ceremony run on fresh SoftHSM2 tokens (dates
// moved to today), the CA starts from examples/ca-hsm/ca.yaml and signs with E1 and R3 on the token, and certbot
// (Debian's, unmodified) obtains certificates. The default chain leaf → E1 → X2-cross verifies to X1, the alternate
// leaf → E1 (fetched through Link: rel="alternate", chosen by --preferred-chain) verifies to X2; all with openssl
// verify -x509_strict. Also: startup refuses a wrong PIN and a chain that does not lead to its root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { runCeremony } from '@cobble/ceremony';
import { generateEncryptedKey, useSoftHsm } from '@cobble/pki';
import { ConfigError, parseCaConfig, readCaConfigFile, startCa, type CaConfigInput, type IssuingKeyConfig, type RunningCa } from '../src/index.js';
import { AcmeTestClient, Http01Responder, issueViaHttp01, splitPemChain } from './support/acme.js';
import { freePort, startChallTestSrv, type ChallTestSrv } from './va/challtestsrv.js';
import { certbotRunner, describeRun, run } from './clients/common.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/ca-hsm/', import.meta.url));
const PIN = '1234';

let dir: string;
let outputs: string;
let dns: ChallTestSrv;
let httpPort: number;
let ca: RunningCa;
/** The example file as written (startCa parses it). */
let example: CaConfigInput;

/** The example's dates moved so that its earliest not-before is an hour ago (lints and validity depend on today). */
function shiftDates(yaml: string, deltaMs: number): string {
  return yaml.replace(/\b(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})\b/g, (_, day: string, time: string) =>
    new Date(Date.parse(`${day}T${time}Z`) + deltaMs).toISOString().slice(0, 19).replace('T', ' '));
}

/** The example config with its issuer paths resolved against the ceremony output directory. */
function caConfig(overrides: Partial<CaConfigInput> = {}): CaConfigInput {
  const at = (p: string) => (isAbsolute(p) ? p : join(outputs, p));
  const issuers = structuredClone(example.issuers!) as IssuingKeyConfig[];
  for (const key of issuers) {
    key.alternateChains ??= [];
    key.certificate = at(key.certificate);
    for (const chain of [key.defaultChain, ...key.alternateChains]) {
      chain.certificates = chain.certificates.map(at);
      chain.root = at(chain.root);
    }
  }
  return {
    ...example,
    dataDir: join(dir, 'ca-data'),
    listen: { host: '127.0.0.1', port: 0, httpPort: 0 },
    va: { httpPort, tlsPort: 443, dnsServer: dns.dnsServer, timeoutMs: 5000 },
    log: { level: 'error' },
    issuers,
    ...overrides,
  };
}

/** certbot certonly --standalone with its own state directory; returns the live/ files. */
async function certbot(name: string, domain: string, extra: string[]): Promise<{ cert: string; chain: string; fullchain: string }> {
  const state = join(dir, `certbot-${name}`);
  const result = await certbotRunner(ca, state)([
    'certonly', '--agree-tos', '--register-unsafely-without-email',
    '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(httpPort),
    '--cert-name', name, '-d', domain, ...extra,
  ]);
  assert.equal(result.code, 0, describeRun(`certbot ${extra.join(' ')}`, result));
  const live = join(state, 'config', 'live', name);
  const read = (file: string) => readFile(join(live, file), 'utf8');
  return { cert: await read('cert.pem'), chain: await read('chain.pem'), fullchain: await read('fullchain.pem') };
}

/** openssl verify -x509_strict of a leaf with the given untrusted intermediates against exactly one trust anchor. */
function verify(leafPem: string, intermediatesPem: string, rootFile: string): { ok: boolean; output: string } {
  const leafFile = join(dir, `verify-leaf-${process.hrtime.bigint()}.pem`);
  const untrustedFile = `${leafFile}.untrusted`;
  writeFileSync(leafFile, leafPem);
  writeFileSync(untrustedFile, intermediatesPem);
  const untrusted = intermediatesPem.trim() ? ['-untrusted', untrustedFile] : [];
  const r = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(outputs, rootFile), ...untrusted, leafFile], { encoding: 'utf8' });
  const output = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0 && /: OK/.test(output), output };
}

/** startCa that must fail; should it start anyway, it is closed so the test fails instead of hanging. */
async function startOrClose(config: CaConfigInput): Promise<void> {
  const started = await startCa(config);
  await started.close();
}

const pem = async (file: string) => readFile(join(outputs, file), 'utf8');
const der = (p: string) => new X509Certificate(p).raw;
const sameCerts = (actual: string, expected: string[]) =>
  assert.deepEqual(splitPemChain(actual).map(der), expected.map(der), 'served chain certificates');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cobble-ca-hsm-'));
  outputs = join(dir, 'ceremony');
  await mkdir(outputs);
  const hsm = useSoftHsm(join(dir, 'softhsm'));
  hsm.initToken('root HSM', PIN, '5678');
  hsm.initToken('intermediate HSM', PIN, '5678');
  process.env.ROOT_HSM_PIN = PIN;
  process.env.INTERMEDIATE_HSM_PIN = PIN;

  const ceremonyDir = join(EXAMPLE_DIR, 'ceremony');
  const files = (await readdir(ceremonyDir)).filter((n) => n.endsWith('.yaml')).sort();
  const texts = await Promise.all(files.map((n) => readFile(join(ceremonyDir, n), 'utf8')));
  const earliest = Math.min(...texts.flatMap((t) => [...t.matchAll(/not-before: (\S+ \S+)/g)].map((m) => Date.parse(m[1]!.replace(' ', 'T') + 'Z'))));
  const delta = Math.floor((Date.now() - 3_600_000 - earliest) / 1000) * 1000;
  for (const [i, name] of files.entries()) {
    const shifted = join(dir, name);
    await writeFile(shifted, shiftDates(texts[i]!, delta));
    await runCeremony(shifted, { baseDir: outputs, log: () => {} });
  }

  example = (await readCaConfigFile(join(EXAMPLE_DIR, 'ca.yaml'))).input;
  dns = await startChallTestSrv({ defaultIPv4: '127.0.0.1' });
  httpPort = await freePort();
});

after(async () => {
  await ca?.close();
  await dns?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the issuers section is strict and says what is missing', () => {
  const chain = { certificates: ['e1.cert.pem'], root: 'x2.cert.pem' };
  const token = { module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'intermediate HSM', keyLabel: 'E1', pinEnv: 'PIN' };
  const key = { name: 'e1', keyTypes: ['ecdsa', 'rsa'], certificate: 'e1.cert.pem', pkcs11: token, defaultChain: chain };
  const parsed = parseCaConfig({ issuers: [key] }).issuers![0]!;
  assert.equal(parsed.alternateChains.length, 0);
  assert.equal(parsed.active, true);
  const refused = (issuers: unknown, message: RegExp) =>
    assert.throws(() => parseCaConfig({ issuers }, 'ca.yaml'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
  refused([{ ...key, keyTypes: ['ecdsa'] }], /ca\.yaml: key "issuers": no active issuer signs RSA subscriber keys; add "rsa" to the keyTypes of an active issuer/);
  refused([key, { ...key, name: 'r3', active: false, keyTypes: ['rsa'] }].map((k, i) => (i === 0 ? { ...k, keyTypes: ['ecdsa'] } : k)), /no active issuer signs RSA subscriber keys/);
  refused([key, key], /key "issuers\.1\.name": the issuer name "e1" is used twice/);
  refused([{ ...key, name: 'E 1' }], /key "issuers\.0\.name": expected a short name/);
  refused([{ ...key, keyFile: { path: 'e1.key.pem', passphraseEnv: 'P' } }], /key "issuers\.0\.keyFile": give exactly one of pkcs11 or keyFile/);
  refused([{ ...key, pkcs11: { ...token, pin: '1234' } }], /key "issuers\.0\.pkcs11\.pinEnv": give exactly one of pin or pinEnv/);
  refused([{ ...key, pkcs11: { ...token, tokenLabel: undefined } }], /key "issuers\.0\.pkcs11": give exactly one of slot or tokenLabel/);
  refused([{ ...key, defaultChain: { ...chain, certificates: [] } }], /key "issuers\.0\.defaultChain\.certificates": expected at least the issuing certificate/);
  refused([{ ...key, chains: [] }], /unknown key "issuers\.0\.chains"; expected one of: name, keyTypes, active, profiles, certificate, pkcs11, keyFile, defaultChain, alternateChains/);
});

// First, while no session of this process is logged in: PKCS#11 login state is per token and process, so once the
// CA's session is logged in, C_Login answers CKR_USER_ALREADY_LOGGED_IN before it looks at a PIN.
test('startup refuses a wrong PIN, an unset PIN variable and a chain that does not reach its root, naming the config key', async () => {
  process.env.COBBLE_TEST_WRONG_PIN = '9999';
  const wrongPin = caConfig();
  wrongPin.issuers![0]!.pkcs11 = { ...wrongPin.issuers![0]!.pkcs11!, pinEnv: 'COBBLE_TEST_WRONG_PIN' };
  await assert.rejects(startOrClose({ ...wrongPin, dataDir: join(dir, 'ca-data-refused') }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /issuers\.0\.pkcs11: .*wrong PIN/);
    return true;
  });

  const unset = caConfig();
  unset.issuers![1]!.pkcs11 = { ...unset.issuers![1]!.pkcs11!, pinEnv: 'COBBLE_TEST_UNSET_PIN' };
  await assert.rejects(startOrClose({ ...unset, dataDir: join(dir, 'ca-data-refused') }), /issuers\.1: the environment variable COBBLE_TEST_UNSET_PIN .* is not set/);

  const brokenChain = caConfig();
  // E1 alone does not lead to X1: the cross-certificate is missing.
  brokenChain.issuers![0]!.alternateChains = [{ certificates: [join(outputs, 'e1.cert.pem')], root: join(outputs, 'x1.cert.pem') }];
  await assert.rejects(startOrClose({ ...brokenChain, dataDir: join(dir, 'ca-data-refused') }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /issuers\.0\.alternateChains\.0: "C=US, O=Example CA, CN=E1" \(.*e1\.cert\.pem\) is not issued by .*CN=Example Root X1/);
    return true;
  });
});

test('startup refuses a key that is not the issuing certificate\'s, on the token or in a key file', async () => {
  const wrongLabel = caConfig();
  wrongLabel.issuers![0]!.pkcs11 = { ...wrongLabel.issuers![0]!.pkcs11!, keyLabel: 'R3' };
  await assert.rejects(startOrClose({ ...wrongLabel, dataDir: join(dir, 'ca-data-refused') }),
    /issuers\.0\.pkcs11: cannot use the key of "C=US, O=Example CA, CN=E1" .*: the key labelled "R3" on token "intermediate HSM" is not the key of the issuer certificate/);

  const missing = caConfig();
  missing.issuers![1]!.pkcs11 = { ...missing.issuers![1]!.pkcs11!, keyLabel: 'R9' };
  await assert.rejects(startOrClose({ ...missing, dataDir: join(dir, 'ca-data-refused') }), /issuers\.1\.pkcs11: cannot use the key of "C=US, O=Example CA, CN=R3" .*R9/);

  const keyPath = join(dir, 'other.key.pem');
  writeFileSync(keyPath, generateEncryptedKey('ecdsa-p384', 'correct horse battery', 'test key').pem);
  process.env.COBBLE_TEST_KEY_PASSPHRASE = 'correct horse battery';
  const otherFile = caConfig();
  otherFile.issuers![0]! = { ...otherFile.issuers![0]!, pkcs11: undefined, keyFile: { path: keyPath, passphraseEnv: 'COBBLE_TEST_KEY_PASSPHRASE' } };
  await assert.rejects(startOrClose({ ...otherFile, dataDir: join(dir, 'ca-data-refused') }), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.keyPath, 'issuers.0.keyFile');
    assert.match(err.message, /issuers\.0\.keyFile: cannot use the key of "C=US, O=Example CA, CN=E1" .*other\.key\.pem is not the expected key/);
    return true;
  });
});

test('`cobble ca serve` reports a wrong PIN as the config file and key, without a stack, with and without workers', async () => {
  const file = join(dir, 'ca-wrong-pin.yaml');
  const config = caConfig({ dataDir: join(dir, 'ca-data-refused') });
  config.issuers![0]!.pkcs11 = { ...config.issuers![0]!.pkcs11!, pinEnv: 'COBBLE_TEST_WRONG_PIN' };
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  const cli = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));
  for (const extra of [[], ['--workers', '2']]) {
    // A process of its own: its login attempt is not masked by this process's logged-in sessions.
    const result = await run(process.execPath, [cli, 'ca', 'serve', '--config', file, ...extra], { COBBLE_TEST_WRONG_PIN: '9999' }, 60_000);
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, new RegExp(`^cobble ca: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: issuers\\.0\\.pkcs11: .*wrong PIN`, 'm'));
    assert.doesNotMatch(result.output, /\n\s+at /, 'no stack trace');
  }
});

test('the CA starts on the token', async () => {
  ca = await startCa(caConfig());
  assert.match(ca.rootsPem.e1!, /BEGIN CERTIFICATE/);
  assert.equal(new X509Certificate(ca.rootsPem.e1!).subject, new X509Certificate(await pem('x1.cert.pem')).subject, 'the default chain of E1 leads to X1');
});

test('certbot on E1 (HSM): default chain leaf → E1 → X2-cross verifies to X1; --preferred-chain picks leaf → E1 for X2', async () => {
  const [e1, cross, x2] = await Promise.all([pem('e1.cert.pem'), pem('x2-cross-by-x1.cert.pem'), pem('x2.cert.pem')]);
  const x2Name = new X509Certificate(x2).subject.match(/CN=(.*)/)![1]!;

  const byDefault = await certbot('default', 'hsm-default.example.com', []);
  const leaf = new X509Certificate(byDefault.cert);
  assert.equal(leaf.issuer, new X509Certificate(e1).subject, 'the leaf is issued by E1');
  assert.ok(leaf.verify(new X509Certificate(e1).publicKey), 'signed by the E1 key on the token');
  assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
  sameCerts(byDefault.chain, [e1, cross]);
  let checked = verify(byDefault.cert, byDefault.chain, 'x1.cert.pem');
  assert.ok(checked.ok, `default chain against X1:\n${checked.output}`);

  // The CRL at the leaf's distribution point is signed on the token too.
  const leafFile = join(dir, 'default-leaf.pem');
  writeFileSync(leafFile, byDefault.cert);
  const crlUrl = /URI:(http:\S+)/.exec(spawnSync('openssl', ['x509', '-in', leafFile, '-noout', '-ext', 'crlDistributionPoints'], { encoding: 'utf8' }).stdout)?.[1];
  assert.ok(crlUrl, 'the leaf names a CRL distribution point');
  const crl = await fetch(crlUrl);
  assert.equal(crl.status, 200);
  const crlFile = join(dir, 'e1.crl');
  writeFileSync(crlFile, Buffer.from(await crl.arrayBuffer()));
  const crlChecked = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', join(outputs, 'e1.cert.pem'), '-verify', '-noout'], { encoding: 'utf8' });
  assert.match(`${crlChecked.stdout}${crlChecked.stderr}`, /verify OK/, 'the CRL verifies with E1');

  const preferred = await certbot('alternate', 'hsm-alternate.example.com', ['--preferred-chain', x2Name]);
  sameCerts(preferred.chain, [e1]);
  checked = verify(preferred.cert, preferred.chain, 'x2.cert.pem');
  assert.ok(checked.ok, `alternate chain against X2:\n${checked.output}`);
  checked = verify(preferred.cert, preferred.chain, 'x1.cert.pem');
  assert.equal(checked.ok, false, 'without the cross-certificate there is no path to X1');
});

test('certbot with an RSA key: leaf → R3 (HSM) verifies to X1', async () => {
  const r3 = await pem('r3.cert.pem');
  const issued = await certbot('rsa', 'hsm-rsa.example.com', ['--key-type', 'rsa']);
  const leaf = new X509Certificate(issued.cert);
  assert.equal(leaf.publicKey.asymmetricKeyType, 'rsa');
  assert.ok(leaf.verify(new X509Certificate(r3).publicKey), 'signed by the R3 key on the token');
  sameCerts(issued.chain, [r3]);
  const checked = verify(issued.cert, issued.chain, 'x1.cert.pem');
  assert.ok(checked.ok, checked.output);
});

test('the certificate URL links the alternate chain with rel="alternate" and each chain downloads', async () => {
  const responder = await Http01Responder.start();
  // A second CA on the same token and data, whose VA asks this responder; the first keeps serving certbot.
  const second = await startCa(caConfig({ dataDir: join(dir, 'ca-data-2'), va: { httpPort: responder.port, tlsPort: 443, dnsServer: dns.dnsServer, timeoutMs: 5000 } }));
  const client = await AcmeTestClient.create(second.directoryUrl, second.trustBundlePath);
  try {
    assert.equal((await client.register()).status, 201);
    const issued = await issueViaHttp01(client, responder, ['hsm-links.example.com'], 'ecdsa-p384');
    const [e1, cross] = await Promise.all([pem('e1.cert.pem'), pem('x2-cross-by-x1.cert.pem')]);
    const [leafPem, ...defaultRest] = splitPemChain(issued.chainPem);
    sameCerts(defaultRest.join(''), [e1, cross]);
    const alternates = issued.certResponse.links('alternate');
    assert.equal(alternates.length, 1, 'one alternate chain');
    const alternate = await client.post(alternates[0]!, undefined);
    assert.equal(alternate.status, 200);
    assert.equal(alternate.header('content-type'), 'application/pem-certificate-chain');
    const [altLeaf, ...altRest] = splitPemChain(alternate.text());
    assert.equal(altLeaf, leafPem, 'the same leaf');
    sameCerts(altRest.join(''), [e1]);
    assert.ok(alternate.links('alternate').length >= 1, 'the alternate links back to the default');
    assert.ok(verify(leafPem!, defaultRest.join(''), 'x1.cert.pem').ok);
    assert.ok(verify(altLeaf!, altRest.join(''), 'x2.cert.pem').ok);
  } finally {
    client.close();
    await second.close();
    await responder.close();
  }
});
