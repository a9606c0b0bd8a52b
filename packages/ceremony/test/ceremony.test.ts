// End to end on SoftHSM2: the 2020 demo, every output checked by the real OpenSSL, and the failure modes an
// operator meets (each a clear error with nothing written).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pkcs11Session, SOFTHSM_MODULE, softHsmAvailable } from '@cobble/pki';
import { CeremonyError, DEMO_CHECK_TIME, runCeremony, runDemo, type DemoResult } from '../src/index.js';

const skip = !softHsmAvailable() && 'softhsm2 is not installed';
const root = mkdtempSync(join(tmpdir(), 'cobble-ceremony-'));
const work = join(root, 'demo');
const configs = join(root, 'configs');
mkdirSync(configs);
after(() => rmSync(root, { recursive: true, force: true }));
const at = String(DEMO_CHECK_TIME.getTime() / 1000);
const quiet = () => {};

function openssl(...args: string[]) {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let demo: DemoResult | undefined;
let demoMs = 0;
if (!skip) {
  const started = Date.now();
  demo = await runDemo({ workDir: work, log: quiet });
  demoMs = Date.now() - started;
}

function config(name: string, text: string): string {
  const path = join(configs, name);
  writeFileSync(path, text);
  return path;
}

async function ceremonyError(path: string): Promise<CeremonyError> {
  try {
    await runCeremony(path, { baseDir: work, log: quiet });
  } catch (err) {
    assert.ok(err instanceof CeremonyError, `expected a CeremonyError, got ${err}`);
    return err;
  }
  assert.fail('the ceremony succeeded');
}

const signing = (token: string, label: string, pin = '"1234"') => `pkcs11:
  module: ${SOFTHSM_MODULE}
  token-label: ${token}
  pin: ${pin}
  signing-key-label: ${label}
`;

const intermediateUnder = (issuer: string, token: string, label: string, output: string, extra = '') => `ceremony-type: intermediate
${signing(token, label)}inputs:
  public-key-path: x1-ocsp.pubkey.pem
  issuer-certificate-path: ${issuer}
outputs:
  certificate-path: ${output}
certificate-profile:
  signature-algorithm: ${label.startsWith('E') || label === 'X2' ? 'ECDSAWithSHA384' : 'SHA256WithRSA'}
  common-name: Test Sub
  organization: Let's Encrypt
  country: US
  not-before: 2021-01-01 00:00:00
  not-after: 2024-01-01 00:00:00
  crl-url: http://test.c.lencr.org/
  issuer-url: http://test.i.lencr.org/
  policies: [{oid: 2.23.140.1.2.1}]
${extra}`;

test('the 2020 demo runs end to end on fresh SoftHSM2 tokens', { skip }, () => {
  assert.ok(demo);
  const files = readdirSync(work).filter((n) => n.endsWith('.pem')).sort();
  assert.deepEqual(files, [
    'e1.cert.pem', 'e1.pubkey.pem', 'e2.cert.pem', 'e2.pubkey.pem', 'r3-cross.csr.pem', 'r3.cert.pem', 'r3.pubkey.pem', 'r4.cert.pem', 'r4.pubkey.pem',
    'x1-ocsp.cert.pem', 'x1-ocsp.pubkey.pem', 'x1.cert.pem', 'x1.crl.pem', 'x1.pubkey.pem', 'x2-cross-by-x1.cert.pem', 'x2.cert.pem', 'x2.crl.pem', 'x2.pubkey.pem',
  ]);
  assert.deepEqual(JSON.parse(readFileSync(join(work, 'e1.pkcs11.json'), 'utf8')), { module: SOFTHSM_MODULE, tokenLabel: 'intermediate HSM', keyLabel: 'E1' });
  for (const v of demo.verifications) assert.ok(v.ok, `${v.what}: ${v.output}`);
  // The record keeps every output PEM for the auditors.
  const record = readFileSync(join(work, 'ceremony-record.log'), 'utf8');
  assert.ok(record.includes(readFileSync(join(work, 'e1.cert.pem'), 'utf8').trim()));
  // The table: ECDSA chains are smaller than RSA ones, trimmed smaller than untrimmed, by the amounts we report.
  const total = (chain: string, profile: string) => demo!.rows.find((r) => r.chain === chain && r.profile === profile)!.derBytes;
  assert.ok(total('ECDSA leaf + E1', 'trimmed') < total('RSA leaf + R3', 'trimmed'));
  for (const chain of ['RSA leaf + R3', 'ECDSA leaf + E1', 'ECDSA leaf + E1 + X2 cross']) assert.ok(total(chain, 'trimmed') < total(chain, 'untrimmed'));
  const e1 = readFileSync(join(work, 'e1.cert.pem'), 'utf8');
  assert.equal(demo.rows.find((r) => r.chain === 'ECDSA leaf + E1' && r.profile === 'trimmed')!.certificates[1].bytes, Buffer.from(e1.replace(/-----[^-]+-----|\s/g, ''), 'base64').length);
  assert.ok(demoMs < 60_000, `demo took ${demoMs} ms`);
});

test('every output certificate verifies along its chain with openssl verify -x509_strict', { skip }, () => {
  const chains: Record<string, { ca: string; untrusted?: string }[]> = {
    'x1.cert.pem': [{ ca: 'x1.cert.pem' }],
    'x2.cert.pem': [{ ca: 'x2.cert.pem' }],
    'x2-cross-by-x1.cert.pem': [{ ca: 'x1.cert.pem' }],
    'r3.cert.pem': [{ ca: 'x1.cert.pem' }],
    'r4.cert.pem': [{ ca: 'x1.cert.pem' }],
    'e1.cert.pem': [{ ca: 'x2.cert.pem' }, { ca: 'x1.cert.pem', untrusted: 'x2-cross-by-x1.cert.pem' }],
    'e2.cert.pem': [{ ca: 'x2.cert.pem' }, { ca: 'x1.cert.pem', untrusted: 'x2-cross-by-x1.cert.pem' }],
    'x1-ocsp.cert.pem': [{ ca: 'x1.cert.pem' }],
  };
  const outputs = readdirSync(work).filter((n) => n.endsWith('.cert.pem')).sort();
  assert.deepEqual(outputs, Object.keys(chains).sort(), 'every certificate output has a chain to check');
  for (const [cert, paths] of Object.entries(chains)) {
    for (const { ca, untrusted } of paths) {
      const args = ['verify', '-x509_strict', '-check_ss_sig', '-attime', at, '-CAfile', join(work, ca), ...(untrusted ? ['-untrusted', join(work, untrusted)] : []), join(work, cert)];
      const r = openssl(...args);
      assert.equal(r.status, 0, `${cert} via ${ca}: ${r.out}`);
      assert.match(r.out, /: OK/);
    }
  }
  // The strict check is not vacuous: E1 does not verify against X1 without the cross-certificate.
  assert.notEqual(openssl('verify', '-x509_strict', '-attime', at, '-CAfile', join(work, 'x1.cert.pem'), join(work, 'e1.cert.pem')).status, 0);
  const text = openssl('x509', '-in', join(work, 'e1.cert.pem'), '-noout', '-text').out;
  assert.match(text, /Subject: C ?= ?US, O ?= ?Let's Encrypt, CN ?= ?E1/);
  assert.doesNotMatch(text, /OCSP|CPS/);
});

test('every CRL parses and verifies with openssl crl', { skip }, () => {
  for (const [crl, ca] of [['x1.crl.pem', 'x1.cert.pem'], ['x2.crl.pem', 'x2.cert.pem']]) {
    const r = openssl('crl', '-in', join(work, crl), '-CAfile', join(work, ca), '-verify', '-noout', '-text');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /verify OK/);
    assert.match(r.out, /Issuing Distribution Point: critical\s+Only CA Certificates/);
  }
  // Against the wrong issuer the signature check fails (OpenSSL 3.0 still exits 0 then, so read what it says).
  const wrong = openssl('crl', '-in', join(work, 'x1.crl.pem'), '-CAfile', join(work, 'x2.cert.pem'), '-verify', '-noout');
  assert.doesNotMatch(wrong.out, /verify OK/);
  assert.match(wrong.out, /verify failure/);
});

test('an unknown YAML key is refused before anything happens', { skip }, async () => {
  const path = config('unknown-key.yaml', intermediateUnder('x1.cert.pem', 'root HSM', 'X1', 'unknown.cert.pem', 'certificate-policy-url: http://cps.example/\n'));
  const err = await ceremonyError(path);
  assert.equal(err.key, 'certificate-policy-url');
  assert.match(err.message, new RegExp(`^${path}: key 'certificate-policy-url': unknown key; allowed here:`));
  assert.ok(!existsSync(join(work, 'unknown.cert.pem')));
});

test('a wrong PIN is a clear error and nothing is written', { skip }, async () => {
  const path = config('wrong-pin.yaml', intermediateUnder('x1.cert.pem', 'root HSM', 'X1', 'wrong-pin.cert.pem').replace('pin: "1234"', 'pin: "9999"'));
  const err = await ceremonyError(path);
  assert.equal(err.key, 'pkcs11.pin');
  assert.match(err.message, /wrong PIN for token labelled "root HSM" \(CKR_PIN_INCORRECT\)/);
  assert.ok(!existsSync(join(work, 'wrong-pin.cert.pem')));
});

test('a missing key label is a clear error and nothing is written', { skip }, async () => {
  const err = await ceremonyError(config('missing-label.yaml', intermediateUnder('x1.cert.pem', 'root HSM', 'X9', 'missing-label.cert.pem')));
  assert.equal(err.key, 'pkcs11.signing-key-label');
  assert.match(err.message, /token "root HSM" has no private key labelled "X9"/);
  assert.ok(!existsSync(join(work, 'missing-label.cert.pem')));
});

test('an existing output is never overwritten', { skip }, async () => {
  const before = readFileSync(join(work, 'r3.cert.pem'));
  const err = await ceremonyError(config('exists.yaml', intermediateUnder('x1.cert.pem', 'root HSM', 'X1', 'r3.cert.pem')));
  assert.equal(err.key, 'outputs.certificate-path');
  assert.match(err.message, /r3\.cert\.pem already exists; a ceremony never overwrites its outputs/);
  assert.deepEqual(readFileSync(join(work, 'r3.cert.pem')), before);
});

test('a lint failure (a CA under R3, whose path length is 0) is a clear error and nothing is written', { skip }, async () => {
  const err = await ceremonyError(config('path-length.yaml', intermediateUnder('r3.cert.pem', 'intermediate HSM', 'R3', 'under-r3.cert.pem')));
  assert.equal(err.key, 'certificate-profile');
  assert.match(err.message, /lint failure, nothing was signed or written/);
  assert.match(err.message, /e_path_length_forbidden_by_issuer .*pathLenConstraint 0, which forbids any CA certificate below it/);
  assert.ok(!existsSync(join(work, 'under-r3.cert.pem')));
});

test('a root whose profile fails the lints leaves no key on the token', { skip }, async () => {
  const err = await ceremonyError(config('bad-root.yaml', `ceremony-type: root
pkcs11: {module: ${SOFTHSM_MODULE}, token-label: root HSM, pin: "1234", store-key-with-label: bad root}
key: {type: ecdsa, ecdsa-curve: P-384}
outputs: {public-key-path: bad-root.pubkey.pem, certificate-path: bad-root.cert.pem}
certificate-profile:
  signature-algorithm: ECDSAWithSHA384
  common-name: Bad Root
  organization: Test
  country: US
  not-before: 2020-01-01 00:00:00
  not-after: 2050-01-01 00:00:00
`));
  assert.match(err.message, /e_root_validity_period/);
  assert.ok(!existsSync(join(work, 'bad-root.pubkey.pem')) && !existsSync(join(work, 'bad-root.cert.pem')));
  const session = Pkcs11Session.open({ module: SOFTHSM_MODULE, tokenLabel: 'root HSM', pin: '1234' });
  try {
    assert.equal(session.hasObjectLabelled('bad root'), false);
    assert.equal(session.hasObjectLabelled('X2'), true);
  } finally {
    session.close();
  }
});

test('development key files: root, key and intermediate without an HSM; a wrong passphrase writes nothing', { skip }, async () => {
  const dev = join(root, 'dev');
  mkdirSync(dev);
  const keyFile = (path: string, pass = 'a long dev passphrase') => `key-file:\n  path: ${path}\n  passphrase: "${pass}"\n`;
  await runCeremony(config('dev-root.yaml', `ceremony-type: root
${keyFile('root.key.pem')}key: {type: ecdsa, ecdsa-curve: P-384}
outputs: {public-key-path: root.pubkey.pem, certificate-path: root.cert.pem}
certificate-profile: {signature-algorithm: ECDSAWithSHA384, common-name: Dev Root, organization: Dev, country: US, not-before: "2020-09-04 00:00:00", not-after: "2040-09-04 00:00:00"}
`), { baseDir: dev, log: quiet });
  await runCeremony(config('dev-int-key.yaml', `ceremony-type: key
${keyFile('int.key.pem')}key: {type: ecdsa, ecdsa-curve: P-256}
outputs: {public-key-path: int.pubkey.pem}
`), { baseDir: dev, log: quiet });
  const int = `ceremony-type: intermediate
${keyFile('root.key.pem')}inputs: {public-key-path: int.pubkey.pem, issuer-certificate-path: root.cert.pem}
outputs: {certificate-path: int.cert.pem}
certificate-profile: {signature-algorithm: ECDSAWithSHA384, common-name: Dev 1, organization: Dev, country: US, not-before: "2020-09-04 00:00:00", not-after: "2025-09-04 00:00:00", crl-url: "http://dev.c.example/", issuer-url: "http://dev.i.example/", policies: [{oid: 2.23.140.1.2.1}]}
`;
  const wrong = await runCeremony(config('dev-int-wrong.yaml', int.replace('a long dev passphrase', 'not the passphrase')), { baseDir: dev, log: quiet }).catch((e: unknown) => e);
  assert.ok(wrong instanceof CeremonyError);
  assert.equal(wrong.key, 'key-file.passphrase');
  assert.match(wrong.message, /cannot decrypt the key: wrong passphrase/);
  assert.ok(!existsSync(join(dev, 'int.cert.pem')));
  await runCeremony(config('dev-int.yaml', int), { baseDir: dev, log: quiet });
  const v = openssl('verify', '-x509_strict', '-check_ss_sig', '-attime', at, '-CAfile', join(dev, 'root.cert.pem'), join(dev, 'int.cert.pem'));
  assert.equal(v.status, 0, v.out);
  assert.equal(readFileSync(join(dev, 'root.key.pem'), 'utf8').split('\n')[0], '-----BEGIN ENCRYPTED PRIVATE KEY-----');
});

test('the cobble ceremony command runs a config and reports errors with file and key', { skip }, () => {
  const bin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));
  const crl = config('crl-2.yaml', `ceremony-type: crl
${signing('root HSM', 'X2')}inputs: {issuer-certificate-path: x2.cert.pem}
outputs: {crl-path: x2-2.crl.pem}
crl-profile:
  this-update: 2021-01-01 00:00:00
  next-update: 2021-12-01 00:00:00
  number: 2
  revoked-certificates:
    - certificate-path: e2.cert.pem
      revocation-date: 2021-01-01 00:00:00
      revocation-reason: superseded
`);
  const ok = spawnSync(process.execPath, [bin, 'ceremony', '--config', crl, '--base-dir', work], { encoding: 'utf8', env: process.env });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote outputs.crl-path .*x2-2\.crl\.pem sha256 [0-9a-f]{64}/);
  const r = openssl('crl', '-in', join(work, 'x2-2.crl.pem'), '-CAfile', join(work, 'x2.cert.pem'), '-verify', '-noout', '-text');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /Superseded/);
  const bad = spawnSync(process.execPath, [bin, 'ceremony', '--config', join(configs, 'unknown-key.yaml'), '--base-dir', work], { encoding: 'utf8', env: process.env });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^cobble ceremony: .*unknown-key\.yaml: key 'certificate-policy-url': unknown key/);
});
