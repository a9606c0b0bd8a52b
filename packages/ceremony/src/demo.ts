// The 2020 hierarchy demo: runs every ceremony in examples/ceremony-2020 on fresh SoftHSM2 tokens, issues
// example leaves with the intermediates' HSM keys, verifies everything with OpenSSL and measures the bytes a
// TLS server sends for each chain, trimmed (2020 profiles) and untrimmed (the 2016 "Authority X3" style).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  OID, Pkcs11Session, certificateParts, crossCertificateTemplate, fromPem, generateSoftwareKey, intermediateTemplate,
  issueCertificate, leafTemplate, newSerialNumber, signCertificate, throwawaySigner, toPem, useSoftHsm,
  type PolicySpec, type Signer,
} from '@cobble/pki';
import { createPublicKey } from 'node:crypto';
import { runCeremony } from './run.js';

export const DEMO_CONFIG_DIR = fileURLToPath(new URL('../../../examples/ceremony-2020/', import.meta.url));
export const DEMO_TOKENS = [{ label: 'root HSM', pin: '1234', soPin: '5678' }, { label: 'intermediate HSM', pin: '1234', soPin: '5678' }];
/** The demo's certificates are dated as in 2020; OpenSSL checks them at this time. */
export const DEMO_CHECK_TIME = new Date('2021-01-15T00:00:00Z');

export interface SizeRow {
  chain: string;
  profile: 'untrimmed' | 'trimmed';
  certificates: Array<{ name: string; bytes: number }>;
  derBytes: number;
  /** TLS 1.3 Certificate handshake message: 4 header + 1 context + 3 list length + per entry 3 + DER + 2 extensions. */
  tls13Bytes: number;
}

export interface VerifyResult {
  what: string;
  ok: boolean;
  output: string;
}

export interface DemoResult {
  workDir: string;
  outputs: string[];
  rows: SizeRow[];
  savings: Array<{ what: string; bytes: number; claim?: string }>;
  verifications: VerifyResult[];
}

function row(chain: string, profile: SizeRow['profile'], certs: Array<[string, Uint8Array]>): SizeRow {
  const certificates = certs.map(([name, der]) => ({ name, bytes: der.length }));
  const derBytes = certificates.reduce((n, c) => n + c.bytes, 0);
  return { chain, profile, certificates, derBytes, tls13Bytes: 4 + 1 + 3 + certificates.reduce((n, c) => n + 3 + c.bytes + 2, 0) };
}

const DV_AND_ISRG_WITH_CPS: PolicySpec[] = [{ oid: OID.domainValidated }, { oid: '1.3.6.1.4.1.44947.1.1.1', cpsUri: 'http://cps.letsencrypt.org' }];

/** `expect`: text that must appear too; `openssl crl -verify` of OpenSSL 3.0 exits 0 even on "verify failure". */
function openssl(args: string[], expect?: RegExp): { ok: boolean; output: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || String(r.error ?? '');
  return { ok: r.status === 0 && (!expect || expect.test(output)), output };
}

/** Verifies every demo output with the real OpenSSL (strict X.509 checks, at DEMO_CHECK_TIME). */
export function verifyDemoOutputs(workDir: string): VerifyResult[] {
  const f = (name: string) => join(workDir, name);
  const at = String(Math.floor(DEMO_CHECK_TIME.getTime() / 1000));
  const verify = (what: string, ca: string, cert: string, untrusted: string[] = [], extra: string[] = []): VerifyResult => {
    const args = ['verify', '-x509_strict', '-check_ss_sig', '-attime', at, '-CAfile', f(ca), ...untrusted.flatMap((u) => ['-untrusted', f(u)]), ...extra, f(cert)];
    return { what, ...openssl(args) };
  };
  return [
    verify('ISRG Root X1 (self-signed)', 'x1.cert.pem', 'x1.cert.pem'),
    verify('ISRG Root X2 (self-signed)', 'x2.cert.pem', 'x2.cert.pem'),
    verify('X2 cross-signed by X1', 'x1.cert.pem', 'x2-cross-by-x1.cert.pem'),
    verify('R3 <- X1', 'x1.cert.pem', 'r3.cert.pem'),
    verify('R4 <- X1', 'x1.cert.pem', 'r4.cert.pem'),
    verify('E1 <- X2', 'x2.cert.pem', 'e1.cert.pem'),
    verify('E2 <- X2', 'x2.cert.pem', 'e2.cert.pem'),
    verify('E1 <- X2 cross <- X1', 'x1.cert.pem', 'e1.cert.pem', ['x2-cross-by-x1.cert.pem']),
    verify('OCSP responder <- X1', 'x1.cert.pem', 'x1-ocsp.cert.pem'),
    verify('ECDSA leaf <- E1 <- X2', 'x2.cert.pem', 'leaves/leaf-ecdsa.cert.pem', ['e1.cert.pem'], ['-purpose', 'sslserver']),
    verify('ECDSA leaf <- E1 <- X2 cross <- X1', 'x1.cert.pem', 'leaves/leaf-ecdsa.cert.pem', ['leaves/chain-e1-x2cross.pem'], ['-purpose', 'sslserver']),
    verify('RSA leaf <- R3 <- X1', 'x1.cert.pem', 'leaves/leaf-rsa.cert.pem', ['r3.cert.pem'], ['-purpose', 'sslserver']),
    { what: 'X1 CRL', ...openssl(['crl', '-in', f('x1.crl.pem'), '-CAfile', f('x1.cert.pem'), '-verify', '-noout'], /verify OK/) },
    { what: 'X2 CRL', ...openssl(['crl', '-in', f('x2.crl.pem'), '-CAfile', f('x2.cert.pem'), '-verify', '-noout'], /verify OK/) },
    { what: 'R3 cross-sign CSR', ...openssl(['req', '-in', f('r3-cross.csr.pem'), '-verify', '-noout'], /verify OK/) },
  ];
}

function cert(workDir: string, name: string): Uint8Array {
  return fromPem(readFileSync(join(workDir, name), 'utf8'), 'CERTIFICATE', name);
}

/** Leaves signed on the HSM by E1 and R3, plus untrimmed look-alikes signed by throwaway keys, measured. */
async function measure(workDir: string, session: Pkcs11Session): Promise<{ rows: SizeRow[]; savings: DemoResult['savings'] }> {
  const x1 = cert(workDir, 'x1.cert.pem');
  const x2 = cert(workDir, 'x2.cert.pem');
  const e1 = cert(workDir, 'e1.cert.pem');
  const r3 = cert(workDir, 'r3.cert.pem');
  const cross = cert(workDir, 'x2-cross-by-x1.cert.pem');
  const e1Signer = await session.signer('E1', { expectedPublicKey: certificateParts(e1).spki });
  const r3Signer = await session.signer('R3', { expectedPublicKey: certificateParts(r3).spki });
  const spkiOf = (key: ReturnType<typeof generateSoftwareKey>) => new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  const ecLeafKey = spkiOf(generateSoftwareKey('ecdsa-p256'));
  const rsaLeafKey = spkiOf(generateSoftwareKey('rsa-2048'));
  const validity = { notBefore: new Date('2021-01-01T00:00:00Z'), notAfter: new Date('2021-03-31T23:59:59Z') };
  const leafFor = (issuerCertificate: Uint8Array, publicKey: Uint8Array, host: string, rsa: boolean) => leafTemplate({
    ...validity, serialNumber: newSerialNumber({ randomLength: 17 }), dnsNames: ['example.com', 'www.example.com'], commonName: 'example.com',
    publicKey, issuerCertificate, ocspUrl: `http://${host === 'trimmed-e1' ? 'e1.o.lencr.org' : host === 'trimmed-r3' ? 'r3.o.lencr.org' : `ocsp.int-${host}.letsencrypt.org`}`,
    issuerUrl: host === 'trimmed-e1' ? 'http://e1.i.lencr.org/' : host === 'trimmed-r3' ? 'http://r3.i.lencr.org/' : `http://cert.int-${host}.letsencrypt.org/`,
    policies: DV_AND_ISRG_WITH_CPS, subjectKeyIdentifier: true, keyEncipherment: rsa, extendedKeyUsages: [OID.serverAuth, OID.clientAuth],
  });

  // Trimmed: the real ceremony outputs, leaves signed with the intermediates' keys on the token.
  const ecLeaf = (await issueCertificate(leafFor(e1, ecLeafKey, 'trimmed-e1', false), e1Signer, { kind: 'leaf', issuerCertificate: e1 })).der;
  const rsaLeaf = (await issueCertificate(leafFor(r3, rsaLeafKey, 'trimmed-r3', true), r3Signer, { kind: 'leaf', issuerCertificate: r3 })).der;
  mkdirSync(join(workDir, 'leaves'), { recursive: true });
  writeFileSync(join(workDir, 'leaves/leaf-ecdsa.cert.pem'), toPem(ecLeaf, 'CERTIFICATE'), { flag: 'wx' });
  writeFileSync(join(workDir, 'leaves/leaf-rsa.cert.pem'), toPem(rsaLeaf, 'CERTIFICATE'), { flag: 'wx' });
  writeFileSync(join(workDir, 'leaves/chain-e1-x2cross.pem'), toPem(e1, 'CERTIFICATE') + toPem(cross, 'CERTIFICATE'), { flag: 'wx' });

  // Untrimmed: the same keys and validity in the pre-2020 shape (long CN, letsencrypt.org URLs, CPS qualifier,
  // OCSP URL). Signed by throwaway keys of the issuers' algorithms: only their sizes matter, they never leave here.
  const untrimmedPolicies: (root: string) => PolicySpec[] = (root) => [{ oid: OID.domainValidated }, { oid: '1.3.6.1.4.1.44947.1.1.1', cpsUri: `http://cps.root-${root}.letsencrypt.org` }];
  const untrimmedIntermediate = async (name: string, own: Uint8Array, issuer: Uint8Array, root: string, issuerSigner: Pick<Signer, 'keyAlgorithm' | 'signatureAlgorithm'>) => signCertificate(intermediateTemplate({
    subject: { country: 'US', organization: "Let's Encrypt", commonName: `Let's Encrypt Authority ${name}` },
    publicKey: certificateParts(own).spki, issuerCertificate: issuer, serialNumber: newSerialNumber(),
    notBefore: new Date('2020-09-04T00:00:00Z'), notAfter: new Date('2025-09-15T16:00:00Z'),
    ocspUrl: `http://ocsp.root-${root}.letsencrypt.org/`, issuerUrl: `http://cert.root-${root}.letsencrypt.org/`, crlUrl: `http://crl.root-${root}.letsencrypt.org/`,
    policies: untrimmedPolicies(root), extendedKeyUsages: [OID.clientAuth, OID.serverAuth],
  }), throwawaySigner(issuerSigner));
  const x1Like = { keyAlgorithm: 'rsa-4096', signatureAlgorithm: 'sha256WithRSAEncryption' } as const;
  const x2Like = { keyAlgorithm: 'ecdsa-p384', signatureAlgorithm: 'ecdsa-with-SHA384' } as const;
  const r3Untrimmed = await untrimmedIntermediate('R3', r3, x1, 'x1', x1Like);
  const e1Untrimmed = await untrimmedIntermediate('E1', e1, x2, 'x2', x2Like);
  const crossUntrimmed = await signCertificate(crossCertificateTemplate({
    certificateToCrossSign: x2, issuerCertificate: x1, serialNumber: newSerialNumber(),
    notBefore: new Date('2020-09-04T00:00:00Z'), notAfter: new Date('2025-09-15T16:00:00Z'),
    ocspUrl: 'http://ocsp.root-x1.letsencrypt.org/', issuerUrl: 'http://cert.root-x1.letsencrypt.org/', crlUrl: 'http://crl.root-x1.letsencrypt.org/',
    policies: untrimmedPolicies('x1'),
  }), throwawaySigner(x1Like));
  const ecLeafUntrimmed = await signCertificate(leafFor(e1Untrimmed, ecLeafKey, 'e1', false), throwawaySigner(e1Signer));
  const rsaLeafUntrimmed = await signCertificate(leafFor(r3Untrimmed, rsaLeafKey, 'r3', true), throwawaySigner(r3Signer));

  const rows = [
    row('RSA leaf + R3', 'untrimmed', [['RSA leaf', rsaLeafUntrimmed], ['R3', r3Untrimmed]]),
    row('RSA leaf + R3', 'trimmed', [['RSA leaf', rsaLeaf], ['R3', r3]]),
    row('ECDSA leaf + E1', 'untrimmed', [['ECDSA leaf', ecLeafUntrimmed], ['E1', e1Untrimmed]]),
    row('ECDSA leaf + E1', 'trimmed', [['ECDSA leaf', ecLeaf], ['E1', e1]]),
    row('ECDSA leaf + E1 + X2 cross', 'untrimmed', [['ECDSA leaf', ecLeafUntrimmed], ['E1', e1Untrimmed], ['X2 cross', crossUntrimmed]]),
    row('ECDSA leaf + E1 + X2 cross', 'trimmed', [['ECDSA leaf', ecLeaf], ['E1', e1], ['X2 cross', cross]]),
  ];
  const savings = [
    { what: 'ECDSA instead of RSA, leaf (RSA-2048 leaf signed by R3 vs P-256 leaf signed by E1)', bytes: rsaLeaf.length - ecLeaf.length, claim: '~400' },
    { what: 'ECDSA instead of RSA, intermediate (R3: RSA-2048 signed by RSA-4096 X1 vs E1: P-384 signed by P-384 X2)', bytes: r3.length - e1.length, claim: '~400' },
    { what: 'trimming, R3', bytes: r3Untrimmed.length - r3.length, claim: '~120' },
    { what: 'trimming, E1', bytes: e1Untrimmed.length - e1.length, claim: '~120' },
    { what: 'trimming, X2 cross-certificate', bytes: crossUntrimmed.length - cross.length },
    { what: 'shorter issuer name and URLs, ECDSA leaf', bytes: ecLeafUntrimmed.length - ecLeaf.length },
  ];
  return { rows, savings };
}

export function formatSizeTable(rows: SizeRow[], savings: DemoResult['savings']): string {
  const lines = [
    '| chain served | profile | certificates (DER bytes) | total DER | TLS 1.3 Certificate message |',
    '| --- | --- | --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.chain} | ${r.profile} | ${r.certificates.map((c) => `${c.name} ${c.bytes}`).join(' + ')} | ${r.derBytes} | ${r.tls13Bytes} |`),
    '',
    '| saving per certificate | bytes | seed claims |',
    '| --- | ---: | --- |',
    ...savings.map((s) => `| ${s.what} | ${s.bytes} | ${s.claim ?? ''} |`),
  ];
  return lines.join('\n');
}

export interface DemoOptions {
  /** New (or empty) directory for tokens and outputs. */
  workDir: string;
  configDir?: string;
  log?: (line: string) => void;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const workDir = resolve(options.workDir);
  const log = options.log ?? ((l: string) => console.log(l));
  if (existsSync(workDir) && readdirSync(workDir).length > 0) throw new Error(`${workDir} is not empty; the demo starts from fresh tokens`);
  mkdirSync(workDir, { recursive: true });
  const hsm = useSoftHsm(join(workDir, 'softhsm'));
  for (const t of DEMO_TOKENS) {
    const slot = hsm.initToken(t.label, t.pin, t.soPin);
    log(`initialized SoftHSM2 token "${t.label}" in slot ${slot}`);
  }
  const configDir = options.configDir ?? DEMO_CONFIG_DIR;
  const configs = readdirSync(configDir).filter((n) => n.endsWith('.yaml')).sort();
  const record = join(workDir, 'ceremony-record.log');
  const outputs: string[] = [];
  for (const name of configs) {
    const started = Date.now();
    const result = await runCeremony(join(configDir, name), { baseDir: workDir, log: (l) => appendFileSync(record, l + '\n') });
    outputs.push(...result.outputs.map((o) => o.path));
    log(`${name.padEnd(28)} ${result.type.padEnd(18)} ${String(Date.now() - started).padStart(5)} ms  -> ${result.outputs.map((o) => o.path.slice(workDir.length + 1)).join(', ')}`);
  }
  const session = Pkcs11Session.open({ module: hsm.module, tokenLabel: 'intermediate HSM', pin: '1234' });
  let measured: Awaited<ReturnType<typeof measure>>;
  try {
    measured = await measure(workDir, session);
  } finally {
    session.close();
  }
  const verifications = verifyDemoOutputs(workDir);
  return { workDir, outputs, rows: measured.rows, savings: measured.savings, verifications };
}
