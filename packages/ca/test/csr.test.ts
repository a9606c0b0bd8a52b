// The hand-written CSR reader (src/ra/csr.ts) against @peculiar/x509 on CSRs made by the real `openssl req`, and its
// refusals of malformed DER. With the policy's key check, as finalize uses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AcmeProblem } from '../src/index.js';
import { parseCsr } from '../src/ra/csr.js';
import { checkSubscriberKey } from '../src/policy/index.js';

interface Case {
  label: string;
  key: string[];
  subject: string;
  extensions?: string[];
  extra?: string[];
}

const CASES: Case[] = [
  { label: 'P-256, CN and two SANs', key: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], subject: '/CN=a.example.com', extensions: ['subjectAltName=DNS:a.example.com,DNS:b.example.com'] },
  { label: 'P-384, SAN only, empty subject', key: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], subject: '/', extensions: ['subjectAltName=DNS:*.example.org'] },
  { label: 'RSA 2048, CN only', key: ['-newkey', 'rsa:2048'], subject: '/CN=rsa.example.net' },
  { label: 'P-256, UTF8 CN with O and C, extra extensions', key: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], subject: '/C=DE/O=Zürich Ltd/CN=ü.example.com', extensions: ['subjectAltName=DNS:xn--tda.example.com', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth'], extra: ['-utf8'] },
  { label: 'P-256, SHA-384 signature, critical SAN', key: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha384'], subject: '/', extensions: ['subjectAltName=critical,DNS:c.example.com'] },
  { label: 'P-256, compressed point', key: ['-key', 'COMPRESSED_P256'], subject: '/CN=d.example.com' },
];

function run(args: string[], what: string) {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `openssl ${args[0]} (${what}): ${result.stderr}`);
}

function opensslCsr(dir: string, item: Case, index: number): Buffer {
  const out = join(dir, `${index}.der`);
  let key = item.key;
  if (key[1] === 'COMPRESSED_P256') {
    // A key whose point OpenSSL writes in compressed form, so the CSR's SPKI is not the canonical one.
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'plain.pem')], item.label);
    run(['ec', '-in', join(dir, 'plain.pem'), '-conv_form', 'compressed', '-out', join(dir, 'compressed.pem')], item.label);
    key = ['-key', join(dir, 'compressed.pem')];
  } else {
    key = [...key, '-keyout', join(dir, `${index}.key`)];
  }
  const args = ['req', '-new', '-nodes', ...key, '-subj', item.subject, '-outform', 'DER', '-out', out, ...(item.extra ?? [])];
  for (const extension of item.extensions ?? []) args.push('-addext', extension);
  run(args, item.label);
  return readFileSync(out);
}

test('CSRs from openssl req read the same as @peculiar/x509 reads them, and their signatures verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-csr-'));
  try {
    for (const [index, item] of CASES.entries()) {
      const der = opensslCsr(dir, item, index);
      const parsed = parseCsr(der);
      const reference = new x509.Pkcs10CertificateRequest(der);
      const referenceSans = (reference.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null)?.names.items.map((n) => n.value) ?? [];
      const referenceCns = reference.subjectName.getField('CN');
      assert.deepEqual(parsed.dnsNames, referenceSans, `${item.label}: SANs`);
      assert.deepEqual(parsed.commonNames, referenceCns, `${item.label}: common names`);
      assert.ok(parsed.spkiDer.equals(Buffer.from(reference.publicKey.rawData)), `${item.label}: SPKI bytes`);
      assert.ok(parsed.signed.equals(Buffer.from(AsnConvert.serialize(AsnConvert.parse(der, CertificationRequest).certificationRequestInfo))), `${item.label}: signed bytes`);
      assert.equal(parsed.hash, item.key.includes('-sha384') ? 'sha384' : 'sha256', `${item.label}: hash`);
      const { key, spki, isRsa } = checkSubscriberKey(parsed.spkiDer);
      assert.equal(isRsa, item.key.includes('rsa:2048'), `${item.label}: key type`);
      assert.ok(verify(parsed.hash, parsed.signed, { key, dsaEncoding: 'der' }, parsed.signature), `${item.label}: signature`);
      // The certificate's SPKI is canonical: the same key, and for EC the uncompressed point whatever the CSR used.
      const original = createPublicKey({ key: parsed.spkiDer, format: 'der', type: 'spki' });
      assert.deepEqual(createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }), original.export({ format: 'jwk' }), `${item.label}: same key`);
      if (isRsa) assert.ok(spki.equals(original.export({ type: 'spki', format: 'der' })), `${item.label}: RSA SPKI as OpenSSL encodes it`);
      else assert.equal(spki.length, item.key.includes('ec_paramgen_curve:P-384') ? 120 : 91, `${item.label}: uncompressed point`);
      if (item.label.includes('compressed')) assert.equal(parsed.spkiDer.length, 59, 'the CSR really carries a compressed point');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function refusesAsBadCsr(der: Buffer, pattern: RegExp) {
  assert.throws(() => parseCsr(der), (err: unknown) => err instanceof AcmeProblem && err.type.endsWith(':badCSR') && pattern.test(err.message), pattern.source);
}

test('malformed DER, other name types and unaccepted algorithms are badCSR with a reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-csr-'));
  try {
    const good = opensslCsr(dir, CASES[0]!, 0);
    refusesAsBadCsr(Buffer.from('not a csr'), /not a DER-encoded PKCS#10/);
    refusesAsBadCsr(Buffer.concat([good, Buffer.from([0])]), /trailing data/);
    refusesAsBadCsr(good.subarray(0, good.length - 5), /truncated/);
    const indefinite = Buffer.from(good);
    indefinite[1] = 0x80;
    refusesAsBadCsr(indefinite, /indefinite/);
    // iPAddress SANs (RFC 8738) are read, as canonical text; whether they may be issued is the order's business.
    const ip = opensslCsr(dir, { label: 'IP SAN', key: CASES[0]!.key, subject: '/', extensions: ['subjectAltName=DNS:a.example.com,IP:192.0.2.7,IP:2001:DB8:0:0:0:0:0:1'] }, 1);
    const parsedIp = parseCsr(ip);
    assert.deepEqual(parsedIp.dnsNames, ['a.example.com']);
    assert.deepEqual(parsedIp.ipAddresses, ['192.0.2.7', '2001:db8::1']);
    const email = opensslCsr(dir, { label: 'email SAN', key: CASES[0]!.key, subject: '/', extensions: ['subjectAltName=email:a@example.com'] }, 2);
    refusesAsBadCsr(email, /rfc822Name name \(a@example\.com\); only DNS names and IP addresses/);
    const sha1 = opensslCsr(dir, { label: 'SHA-1', key: ['-newkey', 'rsa:2048', '-sha1'], subject: '/CN=e.example.com' }, 3);
    refusesAsBadCsr(sha1, /signature algorithm 1\.2\.840\.113549\.1\.1\.5 is not accepted/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the EC fast path refuses a point that is not on the curve', () => {
  const der = Buffer.from(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
  der[der.length - 1] ^= 1; // y no longer matches x
  assert.throws(() => checkSubscriberKey(der), (err: unknown) => err instanceof AcmeProblem && err.type.endsWith(':badPublicKey') && /not a point on the curve/.test(err.message));
});

test('mutated CSRs (bit flips, truncations, length changes) are parsed or refused as badCSR, never anything else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-csr-'));
  try {
    const good = opensslCsr(dir, CASES[0]!, 0);
    // A fixed xorshift sequence, so a failure reproduces.
    let state = 0x2545f491;
    const next = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(good);
      const position = Math.floor(next() * bytes.length);
      const mutation = i % 3;
      let input: Buffer;
      if (mutation === 0) {
        bytes[position] ^= 1 << Math.floor(next() * 8);
        input = bytes;
      } else if (mutation === 1) {
        input = bytes.subarray(0, position);
      } else {
        bytes[position] = Math.floor(next() * 256);
        input = bytes;
      }
      try {
        const parsed = parseCsr(input);
        assert.ok(Array.isArray(parsed.dnsNames) && parsed.signed.length > 0);
      } catch (err) {
        assert.ok(err instanceof AcmeProblem && err.type.endsWith(':badCSR'), `mutation ${i} threw ${String(err)}`);
        refused++;
      }
    }
    assert.ok(refused > 1000, `most mutations must be refused (refused ${refused})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
