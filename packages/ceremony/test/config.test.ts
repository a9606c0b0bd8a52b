import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CeremonyError, DEMO_CONFIG_DIR, parseCeremonyConfig } from '../src/index.js';

const FILE = '/ceremonies/r3.yaml';
const intermediate = `ceremony-type: intermediate
pkcs11:
  module: /usr/lib/softhsm/libsofthsm2.so
  token-label: root HSM
  pin: "1234"
  signing-key-label: X1
inputs:
  public-key-path: r3.pubkey.pem
  issuer-certificate-path: x1.cert.pem
outputs:
  certificate-path: r3.cert.pem
certificate-profile:
  signature-algorithm: SHA256WithRSA
  common-name: R3
  organization: Let's Encrypt
  country: US
  not-before: 2020-09-04 00:00:00
  not-after: 2025-09-15 16:00:00
  crl-url: http://x1.c.lencr.org/
  issuer-url: http://x1.i.lencr.org/
  policies:
    - oid: 2.23.140.1.2.1
`;

function error(text: string): CeremonyError {
  try {
    parseCeremonyConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof CeremonyError, `expected a CeremonyError, got ${err}`);
    return err;
  }
  assert.fail('the config was accepted');
}

test('every example config of the 2020 hierarchy parses', () => {
  const names = readdirSync(DEMO_CONFIG_DIR).filter((n) => n.endsWith('.yaml'));
  assert.ok(names.length >= 16);
  for (const name of names) parseCeremonyConfig(readFileSync(join(DEMO_CONFIG_DIR, name), 'utf8'), name);
});

test('a valid intermediate config parses into typed values', () => {
  const config = parseCeremonyConfig(intermediate, FILE);
  assert.equal(config['ceremony-type'], 'intermediate');
  if (config['ceremony-type'] !== 'intermediate') return;
  assert.deepEqual(config['certificate-profile']['not-before'], new Date('2020-09-04T00:00:00Z'));
  assert.equal(config.pkcs11?.['token-label'], 'root HSM');
});

test('unknown keys are refused, naming the file, the key path and the keys allowed there', () => {
  const top = error(intermediate + 'extra-thing: 1\n');
  assert.equal(top.file, FILE);
  assert.equal(top.key, 'extra-thing');
  assert.match(top.message, /^\/ceremonies\/r3\.yaml: key 'extra-thing': unknown key; allowed here: ceremony-type, pkcs11, key-file, inputs, outputs, certificate-profile, skip-lints/);
  const nested = error(intermediate.replace('  crl-url:', '  cps-url: http://cps.example/\n  crl-url:'));
  assert.equal(nested.key, 'certificate-profile.cps-url');
  assert.match(nested.message, /allowed here: signature-algorithm, common-name, .*crl-url, issuer-url, ocsp-url, policies/);
  const inList = error(intermediate.replace('    - oid: 2.23.140.1.2.1', '    - oid: 2.23.140.1.2.1\n      qualifier: x'));
  assert.equal(inList.key, 'certificate-profile.policies[0].qualifier');
  assert.match(inList.message, /allowed here: oid, cps-uri/);
});

test('wrong values say what is expected', () => {
  const date = error(intermediate.replace('2025-09-15 16:00:00', '2025-13-15 16:00:00'));
  assert.equal(date.key, 'certificate-profile.not-after');
  assert.match(date.message, /expected a valid UTC date and time "YYYY-MM-DD HH:MM:SS".*got "2025-13-15 16:00:00"/);
  const pin = error(intermediate.replace('pin: "1234"', 'pin: 1234'));
  assert.equal(pin.key, 'pkcs11.pin');
  assert.match(pin.message, /quoted string/);
  const both = error(intermediate.replace('  token-label: root HSM', '  token-label: root HSM\n  slot: 3'));
  assert.match(both.message, /give exactly one of slot or token-label/);
  const missing = error(intermediate.replace('  issuer-certificate-path: x1.cert.pem\n', ''));
  assert.equal(missing.key, 'inputs.issuer-certificate-path');
  assert.match(missing.message, /required key is missing/);
  const alg = error(intermediate.replace('SHA256WithRSA', 'SHA1WithRSA'));
  assert.match(alg.message, /key 'certificate-profile.signature-algorithm': expected one of SHA256WithRSA, SHA384WithRSA, ECDSAWithSHA256, ECDSAWithSHA384/);
  const url = error(intermediate.replace('http://x1.c.lencr.org/', 'https://x1.c.lencr.org/'));
  assert.match(url.message, /key 'certificate-profile.crl-url': expected an http:\/\/ URL/);
  const lint = error(intermediate + 'skip-lints: [e_no_such_lint]\n');
  assert.equal(lint.key, 'skip-lints[0]');
  const type = error(intermediate.replace('ceremony-type: intermediate', 'ceremony-type: subordinate'));
  assert.match(type.message, /key 'ceremony-type': expected one of key, root, intermediate, cross-certificate, cross-csr, crl, ocsp-signer; got "subordinate"/);
  const source = error(intermediate.replace(/pkcs11:\n( {2}.*\n)+?inputs:/, 'inputs:'));
  assert.match(source.message, /give exactly one of pkcs11 \(an HSM\) or key-file/);
});

test('key specs, YAML syntax, duplicate keys and empty files are reported with their place', () => {
  const root = `ceremony-type: key
pkcs11: {module: /m.so, token-label: t, pin: "1", store-key-with-label: k}
key: {type: rsa}
outputs: {public-key-path: k.pem}
`;
  assert.match(error(root).message, /key 'key.rsa-mod-length': an rsa key needs rsa-mod-length/);
  assert.match(error(root.replace('{type: rsa}', '{type: rsa, rsa-mod-length: 1024}')).message, /key 'key.rsa-mod-length': expected 2048, 3072 or 4096/);
  assert.match(error(root.replace('{type: rsa}', '{type: ecdsa, ecdsa-curve: P-384, rsa-mod-length: 2048}')).message, /rsa-mod-length does not apply to an ecdsa key/);
  assert.match(error('ceremony-type: key\n  bad: [\n').message, /not valid YAML \(line \d+, column \d+\)/);
  assert.match(error(intermediate + 'inputs: {}\n').message, /not valid YAML.*(unique|Map keys)/i);
  assert.match(error('').message, /the file is empty/);
  assert.match(error('- a list\n').message, /expected a YAML mapping/);
});
