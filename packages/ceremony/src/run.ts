// Runs one ceremony: validate everything (config, inputs, outputs absent), open the key, lint-then-sign,
// then write all outputs at once with O_EXCL. Any error before the writes leaves the file system untouched.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  IssuanceCheckError, KeyFileError, LintFailure, OID, Pkcs11Error, Pkcs11Session, certificateParts, createCertificateRequest,
  crossCertificateTemplate, encodeName, fromPem, generateEncryptedKey, intermediateTemplate, issueCertificate, issueCrl,
  keyAlgorithmOfSpki, loadKeyFileSigner, nameToString, newSerialNumber, ocspSignerTemplate, rootTemplate, throwawaySigner, toPem,
  CertificateView, type CertificateTemplate, type KeyAlgorithm, type KeyUsageName, type SignatureAlgorithm, type Signer,
} from '@cobble/pki';
import {
  CeremonyError, KEY_USAGE_NAMES, SIGNATURE_ALGORITHM_NAMES, parseCeremonyConfig, type CeremonyConfig, type KeyFileConfig,
  type Pkcs11KeyGenConfig, type Pkcs11SigningConfig,
} from './config.js';

export interface CeremonyOptions {
  /** Relative paths in the config resolve against this directory (default: the working directory). */
  baseDir?: string;
  /** Where the ceremony record goes (every output PEM and its SHA-256); default console.log. */
  log?: (line: string) => void;
  /** Environment for pin-env / passphrase-env (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface CeremonyOutput {
  key: string;
  path: string;
  sha256: string;
  contents: string;
}

export interface CeremonyResult {
  type: CeremonyConfig['ceremony-type'];
  outputs: CeremonyOutput[];
}

interface Context {
  file: string;
  baseDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  outputs: Array<{ key: string; path: string; contents: string }>;
  cleanup: Array<() => void>;
}

function fail(ctx: Context, key: string | undefined, problem: string): never {
  throw new CeremonyError(ctx.file, key, problem);
}

function resolvePath(ctx: Context, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.baseDir, p);
}

function planOutput(ctx: Context, key: string, p: string): string {
  const full = resolvePath(ctx, p);
  if (existsSync(full)) fail(ctx, key, `${full} already exists; a ceremony never overwrites its outputs: move the old file away or choose a new path`);
  if (!existsSync(dirname(full)) || !statSync(dirname(full)).isDirectory()) fail(ctx, key, `directory ${dirname(full)} does not exist; create it first`);
  if (ctx.outputs.some((o) => o.path === full)) fail(ctx, key, `${full} is also named by another output`);
  ctx.outputs.push({ key, path: full, contents: '' });
  return full;
}

function setOutput(ctx: Context, key: string, contents: string): void {
  const out = ctx.outputs.find((o) => o.key === key);
  if (!out) throw new Error(`internal: output ${key} was not planned`);
  out.contents = contents;
}

function readInput(ctx: Context, key: string, p: string): string {
  const full = resolvePath(ctx, p);
  try {
    return readFileSync(full, 'utf8');
  } catch (err) {
    fail(ctx, key, `cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function readCertificate(ctx: Context, key: string, p: string): Uint8Array {
  const text = readInput(ctx, key, p);
  let der: Uint8Array;
  try {
    der = fromPem(text, 'CERTIFICATE', resolvePath(ctx, p));
    new CertificateView(der);
  } catch (err) {
    fail(ctx, key, `expected a PEM certificate: ${(err as Error).message}`);
  }
  return der;
}

function readPublicKey(ctx: Context, key: string, p: string): Uint8Array {
  const text = readInput(ctx, key, p);
  try {
    const spki = fromPem(text, 'PUBLIC KEY', resolvePath(ctx, p));
    keyAlgorithmOfSpki(spki);
    return spki;
  } catch (err) {
    fail(ctx, key, `expected a PEM public key of a supported type: ${(err as Error).message}`);
  }
}

function secretFrom(ctx: Context, base: string, inline: string | undefined, envKey: string | undefined, what: string): string {
  if (inline !== undefined) return inline;
  const value = ctx.env[envKey!];
  if (!value) fail(ctx, `${base}-env`, `environment variable ${envKey} is not set; export the ${what} there`);
  return value;
}

function keyAlgorithmOf(spec: { type: 'rsa' | 'ecdsa'; 'rsa-mod-length'?: number; 'ecdsa-curve'?: 'P-256' | 'P-384' }): KeyAlgorithm {
  return spec.type === 'rsa' ? (`rsa-${spec['rsa-mod-length']}` as KeyAlgorithm) : spec['ecdsa-curve'] === 'P-256' ? 'ecdsa-p256' : 'ecdsa-p384';
}

function signatureAlgorithm(ctx: Context, name: keyof typeof SIGNATURE_ALGORITHM_NAMES | undefined, key: KeyAlgorithm): SignatureAlgorithm | undefined {
  if (name === undefined) return undefined;
  const algorithm = SIGNATURE_ALGORITHM_NAMES[name];
  const rsa = key.startsWith('rsa-');
  const ok = rsa ? algorithm.endsWith('RSAEncryption') : algorithm === (key === 'ecdsa-p256' ? 'ecdsa-with-SHA256' : 'ecdsa-with-SHA384');
  if (!ok) {
    const allowed = rsa ? 'SHA256WithRSA or SHA384WithRSA' : key === 'ecdsa-p256' ? 'ECDSAWithSHA256' : 'ECDSAWithSHA384';
    fail(ctx, 'certificate-profile.signature-algorithm', `${name} does not fit the signing key (${key}); expected ${allowed}`);
  }
  return algorithm;
}

function openToken(ctx: Context, cfg: Pkcs11KeyGenConfig | Pkcs11SigningConfig): Pkcs11Session {
  const pin = secretFrom(ctx, 'pkcs11.pin', cfg.pin, cfg['pin-env'], 'user PIN');
  try {
    const session = Pkcs11Session.open({ module: cfg.module, slot: cfg.slot, tokenLabel: cfg['token-label'], pin });
    ctx.cleanup.push(() => session.close());
    return session;
  } catch (err) {
    if (err instanceof Pkcs11Error) {
      const key = err.reason === 'module' ? 'pkcs11.module' : err.reason === 'pin' ? (cfg.pin !== undefined ? 'pkcs11.pin' : 'pkcs11.pin-env')
        : cfg.slot !== undefined ? 'pkcs11.slot' : 'pkcs11.token-label';
      fail(ctx, key, err.message);
    }
    throw err;
  }
}

/** The signing key named by `pkcs11` or `key-file`; `expected` is the issuer's public key when there is one. */
async function openSigner(ctx: Context, config: { pkcs11?: Pkcs11SigningConfig; 'key-file'?: KeyFileConfig }, expected: Uint8Array | undefined, sigName: keyof typeof SIGNATURE_ALGORITHM_NAMES | undefined): Promise<{ signer: Signer; random?: (n: number) => Uint8Array }> {
  if (config.pkcs11) {
    const session = openToken(ctx, config.pkcs11);
    const label = config.pkcs11['signing-key-label'];
    try {
      const probe = await session.signer(label, { expectedPublicKey: expected });
      const algorithm = signatureAlgorithm(ctx, sigName, probe.keyAlgorithm);
      const signer = algorithm && algorithm !== probe.signatureAlgorithm ? await session.signer(label, { expectedPublicKey: expected, signatureAlgorithm: algorithm }) : probe;
      return { signer, random: (n) => session.randomBytes(n) };
    } catch (err) {
      if (err instanceof Pkcs11Error) fail(ctx, 'pkcs11.signing-key-label', err.message);
      throw err;
    }
  }
  const kf = config['key-file']!;
  const passphrase = secretFrom(ctx, 'key-file.passphrase', kf.passphrase, kf['passphrase-env'], 'key file passphrase');
  try {
    const probe = loadKeyFileSigner(resolvePath(ctx, kf.path), passphrase);
    const signer = loadKeyFileSigner(resolvePath(ctx, kf.path), passphrase, signatureAlgorithm(ctx, sigName, probe.keyAlgorithm));
    if (expected && Buffer.compare(Buffer.from(expected), Buffer.from(signer.publicKey)) !== 0) {
      fail(ctx, 'key-file.path', `${resolvePath(ctx, kf.path)} is not the key of the issuer certificate`);
    }
    return { signer };
  } catch (err) {
    if (err instanceof KeyFileError) fail(ctx, err.message.includes('passphrase') ? (kf.passphrase !== undefined ? 'key-file.passphrase' : 'key-file.passphrase-env') : 'key-file.path', err.message);
    throw err;
  }
}

function keyUsagesOf(list: Array<keyof typeof KEY_USAGE_NAMES> | undefined): KeyUsageName[] | undefined {
  return list?.map((n) => KEY_USAGE_NAMES[n]);
}

function ekusOf(list: Array<'serverAuth' | 'clientAuth'> | undefined): string[] | undefined {
  return list?.map((n) => (n === 'serverAuth' ? OID.serverAuth : OID.clientAuth));
}

async function issue(ctx: Context, template: CertificateTemplate, signer: Signer, options: Parameters<typeof issueCertificate>[2]): Promise<Uint8Array> {
  try {
    const issued = await issueCertificate(template, signer, options);
    const waived = options.skipLints?.join(', ') || 'none';
    if (signer.description.startsWith('throwaway')) ctx.log(`profile pre-check before key generation, on a ${signer.description}: lints clean; waived lints: ${waived}`);
    else ctx.log(`signed ${options.kind} certificate with ${signer.description} (${signer.signatureAlgorithm}): lint copy clean, TBS identical to the lint copy, signature verified, final certificate clean; waived lints: ${waived}`);
    return issued.der;
  } catch (err) {
    if (err instanceof LintFailure) {
      fail(ctx, 'certificate-profile', `lint failure, nothing was signed or written. ${err.message}\nFix the profile; waive a rule only if it truly does not apply, by naming it under skip-lints.`);
    }
    if (err instanceof IssuanceCheckError) fail(ctx, undefined, `post-signing check failed, nothing was written: ${err.message}`);
    throw err;
  }
}

async function runConfig(ctx: Context, config: CeremonyConfig): Promise<void> {
  switch (config['ceremony-type']) {
    case 'key':
    case 'root': {
      const algorithm = keyAlgorithmOf(config.key);
      planOutput(ctx, 'outputs.public-key-path', config.outputs['public-key-path']);
      const certPath = config['ceremony-type'] === 'root' ? planOutput(ctx, 'outputs.certificate-path', config.outputs['certificate-path']) : undefined;
      const p11ConfigPath = config['ceremony-type'] === 'key' && config.outputs['pkcs11-config-path'] !== undefined
        ? planOutput(ctx, 'outputs.pkcs11-config-path', config.outputs['pkcs11-config-path']) : undefined;
      if (p11ConfigPath && !config.pkcs11) fail(ctx, 'outputs.pkcs11-config-path', 'only a pkcs11 key has a PKCS#11 config; remove this output');
      const keyFilePath = config['key-file'] ? planOutput(ctx, 'key-file.path', config['key-file'].path) : undefined;
      const profile = config['ceremony-type'] === 'root' ? config['certificate-profile'] : undefined;
      const sigAlg = signatureAlgorithm(ctx, profile?.['signature-algorithm'], algorithm);
      const rootFor = (publicKey: Uint8Array, serialNumber: Uint8Array) => rootTemplate({
        subject: { country: profile!.country, organization: profile!.organization, commonName: profile!['common-name'] },
        publicKey, serialNumber, notBefore: profile!['not-before'], notAfter: profile!['not-after'], keyUsages: keyUsagesOf(profile!['key-usages']),
      });
      const skip = config['ceremony-type'] === 'root' ? config['skip-lints'] : undefined;
      if (profile) {
        // Lint the profile on a throwaway key before a key is generated, so a bad profile leaves no key behind.
        const dry = throwawaySigner({ keyAlgorithm: algorithm, signatureAlgorithm: sigAlg ?? (algorithm.startsWith('rsa') ? 'sha256WithRSAEncryption' : algorithm === 'ecdsa-p256' ? 'ecdsa-with-SHA256' : 'ecdsa-with-SHA384') });
        await issue(ctx, rootFor(dry.publicKey, newSerialNumber()), dry, { kind: 'root', skipLints: skip });
      }
      let signer: Signer;
      let random: ((n: number) => Uint8Array) | undefined;
      if (config.pkcs11) {
        const session = openToken(ctx, config.pkcs11);
        const label = config.pkcs11['store-key-with-label'];
        ctx.log(`generating ${algorithm} key "${label}" on token "${session.tokenLabel}"`);
        try {
          signer = session.generateKeyPair(label, algorithm, sigAlg);
        } catch (err) {
          if (err instanceof Pkcs11Error) fail(ctx, 'pkcs11.store-key-with-label', err.message);
          throw err;
        }
        random = (n) => session.randomBytes(n);
        if (p11ConfigPath) {
          setOutput(ctx, 'outputs.pkcs11-config-path', JSON.stringify({
            module: config.pkcs11.module, tokenLabel: session.tokenLabel, slot: config.pkcs11.slot, keyLabel: label,
          }, null, 2) + '\n');
        }
      } else {
        const kf = config['key-file']!;
        const passphrase = secretFrom(ctx, 'key-file.passphrase', kf.passphrase, kf['passphrase-env'], 'key file passphrase');
        try {
          const generated = generateEncryptedKey(algorithm, passphrase, `file:${keyFilePath}`, sigAlg);
          signer = generated.signer;
          setOutput(ctx, 'key-file.path', generated.pem);
        } catch (err) {
          if (err instanceof KeyFileError) fail(ctx, kf.passphrase !== undefined ? 'key-file.passphrase' : 'key-file.passphrase-env', err.message);
          throw err;
        }
      }
      setOutput(ctx, 'outputs.public-key-path', toPem(signer.publicKey, 'PUBLIC KEY'));
      if (profile && certPath) {
        const der = await issue(ctx, rootFor(signer.publicKey, newSerialNumber({ randomBytes: random })), signer, { kind: 'root', skipLints: skip });
        setOutput(ctx, 'outputs.certificate-path', toPem(der, 'CERTIFICATE'));
      }
      return;
    }
    case 'intermediate':
    case 'ocsp-signer': {
      const publicKey = readPublicKey(ctx, 'inputs.public-key-path', config.inputs['public-key-path']);
      const issuerCert = readCertificate(ctx, 'inputs.issuer-certificate-path', config.inputs['issuer-certificate-path']);
      planOutput(ctx, 'outputs.certificate-path', config.outputs['certificate-path']);
      const { signer, random } = await openSigner(ctx, config, certificateParts(issuerCert).spki, config['certificate-profile']['signature-algorithm']);
      const p = config['certificate-profile'];
      const common = {
        subject: { country: p.country, organization: p.organization, commonName: p['common-name'] },
        publicKey, issuerCertificate: issuerCert, serialNumber: newSerialNumber({ randomBytes: random }),
        notBefore: p['not-before'], notAfter: p['not-after'],
      };
      let template: CertificateTemplate;
      if (config['ceremony-type'] === 'intermediate') {
        const ip = config['certificate-profile'];
        template = intermediateTemplate({
          ...common, issuerUrl: ip['issuer-url'], crlUrl: ip['crl-url'], ocspUrl: ip['ocsp-url'],
          policies: ip.policies.map((x) => ({ oid: x.oid, cpsUri: x['cps-uri'] })),
          keyUsages: keyUsagesOf(ip['key-usages']), extendedKeyUsages: ekusOf(ip.ekus), pathLength: ip['path-length'],
        });
      } else {
        template = ocspSignerTemplate({ ...common, issuerUrl: config['certificate-profile']['issuer-url'] });
      }
      const der = await issue(ctx, template, signer, { kind: config['ceremony-type'], issuerCertificate: issuerCert, skipLints: config['skip-lints'] });
      setOutput(ctx, 'outputs.certificate-path', toPem(der, 'CERTIFICATE'));
      return;
    }
    case 'cross-certificate': {
      const issuerCert = readCertificate(ctx, 'inputs.issuer-certificate-path', config.inputs['issuer-certificate-path']);
      const existing = readCertificate(ctx, 'inputs.certificate-to-cross-sign-path', config.inputs['certificate-to-cross-sign-path']);
      planOutput(ctx, 'outputs.certificate-path', config.outputs['certificate-path']);
      const p = config['certificate-profile'];
      const { signer, random } = await openSigner(ctx, config, certificateParts(issuerCert).spki, p['signature-algorithm']);
      let template: CertificateTemplate;
      try {
        template = crossCertificateTemplate({
          certificateToCrossSign: existing, issuerCertificate: issuerCert, serialNumber: newSerialNumber({ randomBytes: random }),
          notBefore: p['not-before'], notAfter: p['not-after'], issuerUrl: p['issuer-url'], crlUrl: p['crl-url'],
          policies: p.policies.map((x) => ({ oid: x.oid, cpsUri: x['cps-uri'] })), extendedKeyUsages: ekusOf(p.ekus),
        });
      } catch (err) {
        fail(ctx, 'inputs.certificate-to-cross-sign-path', (err as Error).message);
      }
      const der = await issue(ctx, template, signer, { kind: 'cross-certificate', issuerCertificate: issuerCert, crossSigned: existing, skipLints: config['skip-lints'] });
      setOutput(ctx, 'outputs.certificate-path', toPem(der, 'CERTIFICATE'));
      return;
    }
    case 'cross-csr': {
      const publicKey = readPublicKey(ctx, 'inputs.public-key-path', config.inputs['public-key-path']);
      planOutput(ctx, 'outputs.csr-path', config.outputs['csr-path']);
      const { signer } = await openSigner(ctx, config, publicKey, undefined);
      const p = config['certificate-profile'];
      const der = await createCertificateRequest(encodeName({ country: p.country, organization: p.organization, commonName: p['common-name'] }), signer);
      ctx.log(`signed CSR with ${signer.description}; signature verified`);
      setOutput(ctx, 'outputs.csr-path', toPem(der, 'CERTIFICATE REQUEST'));
      return;
    }
    case 'crl': {
      const issuerCert = readCertificate(ctx, 'inputs.issuer-certificate-path', config.inputs['issuer-certificate-path']);
      planOutput(ctx, 'outputs.crl-path', config.outputs['crl-path']);
      const p = config['crl-profile'];
      const issuerView = new CertificateView(issuerCert);
      const entries = (p['revoked-certificates'] ?? []).map((r, i) => {
        const key = `crl-profile.revoked-certificates[${i}].certificate-path`;
        const cert = new CertificateView(readCertificate(ctx, key, r['certificate-path']));
        if (!cert.isCA) fail(ctx, key, 'this CRL lists CA certificates only (onlyContainsCACerts); the certificate is not a CA');
        if (Buffer.compare(Buffer.from(cert.raw.issuer), Buffer.from(issuerView.raw.subject)) !== 0) fail(ctx, key, `the certificate was issued by ${nameToString(cert.raw.issuer)}, not by this CRL's issuer`);
        return { serialNumber: cert.raw.serial, revocationDate: r['revocation-date'], reason: r['revocation-reason'] };
      });
      const { signer } = await openSigner(ctx, config, certificateParts(issuerCert).spki, undefined);
      try {
        const crl = await issueCrl({ thisUpdate: p['this-update'], nextUpdate: p['next-update'], number: p.number, entries, kind: 'ca' }, signer, { issuerCertificate: issuerCert, skipLints: config['skip-lints'] });
        ctx.log(`signed CRL number ${p.number} with ${signer.description}: lint copy clean, TBS identical, signature verified, final CRL clean; waived lints: ${config['skip-lints']?.join(', ') || 'none'}`);
        setOutput(ctx, 'outputs.crl-path', toPem(crl.der, 'X509 CRL'));
      } catch (err) {
        if (err instanceof LintFailure) fail(ctx, 'crl-profile', `lint failure, nothing was signed or written. ${err.message}`);
        if (err instanceof IssuanceCheckError) fail(ctx, undefined, `post-signing check failed, nothing was written: ${err.message}`);
        throw err;
      }
      return;
    }
  }
}

function writeOutputs(ctx: Context): CeremonyOutput[] {
  const written: CeremonyOutput[] = [];
  try {
    for (const o of ctx.outputs) {
      if (!o.contents) throw new Error(`internal: output ${o.key} has no contents`);
      writeFileSync(o.path, o.contents, { flag: 'wx', mode: o.key === 'key-file.path' ? 0o600 : 0o644 });
      written.push({ ...o, sha256: createHash('sha256').update(o.contents).digest('hex') });
    }
  } catch (err) {
    for (const w of written) { try { unlinkSync(w.path); } catch { /* best effort */ } }
    const e = err as NodeJS.ErrnoException;
    const failed = ctx.outputs[written.length];
    if (e.code === 'EEXIST') fail(ctx, failed.key, `${failed.path} appeared during the ceremony; nothing was kept`);
    fail(ctx, failed?.key, `cannot write ${failed?.path}: ${e.message}; nothing was kept`);
  }
  return written;
}

/** Runs the ceremony described by the YAML file at `configPath`. */
export async function runCeremony(configPath: string, options: CeremonyOptions = {}): Promise<CeremonyResult> {
  const file = resolve(configPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CeremonyError(file, undefined, `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const config = parseCeremonyConfig(text, file);
  const ctx: Context = {
    file, baseDir: resolve(options.baseDir ?? process.cwd()), env: options.env ?? process.env, log: options.log ?? ((l) => console.log(l)),
    outputs: [], cleanup: [],
  };
  ctx.log(`${new Date().toISOString()} ceremony ${config['ceremony-type']} from ${file} (sha256 ${createHash('sha256').update(text).digest('hex')})`);
  try {
    await runConfig(ctx, config);
  } finally {
    for (const c of ctx.cleanup.reverse()) { try { c(); } catch { /* closing must not mask the real error */ } }
  }
  const written = writeOutputs(ctx);
  for (const w of written) {
    ctx.log(`wrote ${w.key} ${w.path} sha256 ${w.sha256}`);
    if (w.key !== 'key-file.path') ctx.log(w.contents.trimEnd());
  }
  return { type: config['ceremony-type'], outputs: written };
}
