// Shared by the pki tests: temp dirs, the real openssl, and a small software hierarchy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KeyObjectSigner, OID, generateSoftwareKey, intermediateTemplate, issueCertificate, newSerialNumber, rootTemplate, toPem, type KeyAlgorithm, type PemLabel, type Signer,
} from '../src/index.js';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cobble-${prefix}-`));
  made.push(dir);
  return dir;
}

export function openssl(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export function writePem(dir: string, name: string, der: Uint8Array, label: PemLabel = 'CERTIFICATE'): string {
  const path = join(dir, name);
  writeFileSync(path, toPem(der, label));
  return path;
}

const keys = new Map<string, KeyObjectSigner>();
/** One software key per name and test process (RSA generation is slow). */
export function softwareSigner(name: string, algorithm: KeyAlgorithm): KeyObjectSigner {
  let s = keys.get(name);
  if (!s) {
    s = new KeyObjectSigner(generateSoftwareKey(algorithm), `test key ${name}`);
    keys.set(name, s);
  }
  return s;
}

export const at = (iso: string) => new Date(iso);
/** 2021-01-15, inside every test certificate's validity, for `openssl verify -attime`. */
export const CHECK_TIME = String(Date.parse('2021-01-15T00:00:00Z') / 1000);

/** A test root "C=US, O=Cobble Test, CN=<name>", valid 2020-09-04 to 2040-09-17. */
export async function testRoot(key: Signer, commonName: string): Promise<Uint8Array> {
  return (await issueCertificate(rootTemplate({
    subject: { country: 'US', organization: 'Cobble Test', commonName }, publicKey: key.publicKey,
    serialNumber: newSerialNumber(), notBefore: at('2020-09-04T00:00:00Z'), notAfter: at('2040-09-17T16:00:00Z'),
  }), key, { kind: 'root' })).der;
}

/** A DV intermediate under a test root, valid from 2020-09-04 to `notAfter`. */
export async function testIntermediate(root: { der: Uint8Array; key: Signer }, key: Signer, commonName: string, notAfter: string): Promise<Uint8Array> {
  return (await issueCertificate(intermediateTemplate({
    subject: { country: 'US', organization: 'Cobble Test', commonName }, publicKey: key.publicKey, issuerCertificate: root.der,
    serialNumber: newSerialNumber(), notBefore: at('2020-09-04T00:00:00Z'), notAfter: at(notAfter),
    issuerUrl: 'http://x2.i.example/', crlUrl: 'http://x2.c.example/', policies: [{ oid: OID.domainValidated }],
  }), root.key, { kind: 'intermediate', issuerCertificate: root.der })).der;
}
