// Issuer: the issuers as a list (configured, or the development hierarchy created at first start and reused
// afterwards), leaf issuance through @cobble/pki's lint-then-sign, and the ACME server's own TLS certificate.
// @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, sign as nodeSign, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcKeyGenParams = webcrypto.EcKeyGenParams;
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;
type EcKeyImportParams = webcrypto.EcKeyImportParams;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { fromPem, issueTbs, leafEncoder, newSerialNumber, serialHex, toPem, type KeyAlgorithm, type LeafEncoder, type LeafFields, type SignatureAlgorithm, type Signer } from '@cobble/pki';
import { systemClock, type Clock } from '../core/clock.js';
export { configuredHierarchy, type ConfiguredHierarchy } from './hsm.js';

x509.cryptoProvider.set(webcrypto as never);
const subtle = webcrypto.subtle;

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DOMAIN_VALIDATED = '2.23.140.1.2.1';
const HIERARCHY_VERSION = 1;

/** Subscriber key types, which decide the issuer (as LE's E- and R-series intermediates). */
export type SubscriberKeyType = 'ecdsa' | 'rsa';

interface KeyAlgorithms {
  generate: EcKeyGenParams | RsaHashedKeyGenParams;
  import: EcKeyImportParams | RsaHashedImportParams;
  sign: Algorithm | EcdsaParams;
}

const ALGORITHMS: Record<'ecdsa-p384' | 'ecdsa-p256' | 'rsa-2048', KeyAlgorithms> = {
  'ecdsa-p384': {
    generate: { name: 'ECDSA', namedCurve: 'P-384' },
    import: { name: 'ECDSA', namedCurve: 'P-384' },
    sign: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams,
  },
  'ecdsa-p256': {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    import: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  },
  'rsa-2048': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

type AlgorithmName = keyof typeof ALGORITHMS;

/** A CA certificate and its private key, ready to sign. */
export interface SigningCa {
  cert: x509.X509Certificate;
  pem: string;
  key: CryptoKey;
  algorithm: AlgorithmName;
}

const SIGNATURE_ALGORITHM: Record<AlgorithmName, SignatureAlgorithm> = {
  'ecdsa-p384': 'ecdsa-with-SHA384',
  'ecdsa-p256': 'ecdsa-with-SHA256',
  'rsa-2048': 'sha256WithRSAEncryption',
};

export interface IssuerChain {
  /** Stable short name, in URLs and the database. */
  name: string;
  /** Subscriber key types it signs leaves for. */
  keyTypes: SubscriberKeyType[];
  /** False for a retired issuer: it signs nothing new but still serves its chains and CRLs. */
  active: boolean;
  /** Profiles it may sign; all when undefined. */
  profiles?: string[];
  /** The issuing certificate (named in leaves' AKI and AIA). */
  intermediate: { cert: x509.X509Certificate; pem: string };
  /** Signs leaves and CRLs with the issuing key (a file key here; a PKCS#11 token for configured issuers). */
  signer: Signer;
  /** The root of the default chain. */
  root: x509.X509Certificate;
  /** PEM chains served after the leaf: [default, ...alternates] (e.g. through a cross-signed intermediate). */
  chainsPem: string[];
  /** The trust anchor each chain of `chainsPem` leads to, in the same order ([0] is `root`). */
  chainRoots: x509.X509Certificate[];
}

// With a callback node:crypto signs on the libuv thread pool, so the event loop keeps serving while a key signs.
const signAsync = promisify(nodeSign);

/** A software issuing key that signs off the event loop. */
class ThreadPoolSigner implements Signer {
  readonly publicKey: Uint8Array;
  readonly signatureAlgorithm: SignatureAlgorithm;
  constructor(
    private readonly key: KeyObject,
    readonly keyAlgorithm: KeyAlgorithm,
    readonly description: string,
  ) {
    this.publicKey = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
    this.signatureAlgorithm = SIGNATURE_ALGORITHM[keyAlgorithm as AlgorithmName];
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const hash = this.signatureAlgorithm.endsWith('384') ? 'sha384' : 'sha256';
    return new Uint8Array(await signAsync(hash, data, { key: this.key, dsaEncoding: 'der' }));
  }
}

async function generateKeys(algorithm: AlgorithmName): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(ALGORITHMS[algorithm].generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function importPrivateKey(pem: string, algorithm: AlgorithmName): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', fromPem(pem, 'PRIVATE KEY', 'the stored issuing key'), ALGORITHMS[algorithm].import, false, ['sign']);
}

/** The one serial generator (pki's): a prefix byte, then 136 CSPRNG bits, as Boulder's; lower-case hex. */
export function newSerial(): string {
  return serialHex(newSerialNumber({ randomLength: 17 }));
}

async function caCertificate(params: {
  subject: string;
  keys: CryptoKeyPair;
  issuer?: SigningCa;
  algorithm: AlgorithmName;
  years: number;
  clock: Clock;
}): Promise<x509.X509Certificate> {
  const notBefore = new Date(Math.floor((params.clock.now() - 60_000) / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + params.years * 365 * 86_400_000);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, params.issuer ? 0 : undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | (params.issuer ? x509.KeyUsageFlags.digitalSignature : 0),
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(params.keys.publicKey),
  ];
  if (!params.issuer) {
    return x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: newSerial(),
      name: params.subject,
      notBefore,
      notAfter,
      keys: params.keys,
      signingAlgorithm: ALGORITHMS[params.algorithm].sign,
      extensions,
    });
  }
  extensions.push(
    await x509.AuthorityKeyIdentifierExtension.create(params.issuer.cert.publicKey),
    new x509.ExtendedKeyUsageExtension([SERVER_AUTH]),
    new x509.CertificatePolicyExtension([DOMAIN_VALIDATED]),
  );
  return x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: params.subject,
    issuer: params.issuer.cert.subject,
    notBefore,
    notAfter,
    publicKey: params.keys.publicKey,
    signingKey: params.issuer.key,
    signingAlgorithm: ALGORITHMS[params.issuer.algorithm].sign,
    extensions,
  });
}

interface StoredCa {
  certPem: string;
  keyPem: string;
  algorithm: AlgorithmName;
}

async function toSigningCa(stored: StoredCa): Promise<SigningCa> {
  return {
    cert: new x509.X509Certificate(stored.certPem),
    pem: stored.certPem,
    key: await importPrivateKey(stored.keyPem, stored.algorithm),
    algorithm: stored.algorithm,
  };
}

async function createCa(subject: string, algorithm: AlgorithmName, issuer: SigningCa | undefined, years: number, clock: Clock): Promise<{ stored: StoredCa; ca: SigningCa; keys: CryptoKeyPair }> {
  const keys = await generateKeys(algorithm);
  const cert = await caCertificate({ subject, keys, issuer, algorithm, years, clock });
  const keyPem = toPem(new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey)), 'PRIVATE KEY');
  const stored = { certPem: cert.toString('pem') + '\n', keyPem, algorithm };
  return { stored, ca: { cert, pem: stored.certPem, key: keys.privateKey, algorithm }, keys };
}

interface HierarchyFile {
  version: number;
  ecdsaRoot: StoredCa;
  ecdsaIntermediate: StoredCa;
  ecdsaCrossPem: string;
  rsaRoot: StoredCa;
  rsaIntermediate: StoredCa;
  serverTlsRoot: StoredCa;
}

export interface Hierarchy {
  /** In configuration order: the first active issuer that fits a leaf signs it. */
  issuers: IssuerChain[];
  serverTlsRoot: SigningCa;
  /** PEM file of the server-TLS root, which clients must trust for the ACME server's HTTPS. */
  trustBundlePath: string;
  directory: string;
}

const ORG = 'C=XX, O=cobble development';

/**
 * Loads the development hierarchy from `dataDir/issuer`, creating it on first start. The file is written once,
 * atomically (temp file + rename), so a crash during creation never leaves half a hierarchy.
 */
export async function loadOrCreateHierarchy(dataDir: string, clock: Clock = systemClock): Promise<Hierarchy> {
  const directory = join(dataDir, 'issuer');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const file = join(directory, 'hierarchy.json');
  let stored: HierarchyFile | undefined;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as HierarchyFile;
    if (stored.version !== HIERARCHY_VERSION) throw new Error(`${file}: unsupported hierarchy version ${stored.version}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!stored) {
    const ecdsaRoot = await createCa(`${ORG}, CN=cobble Dev ECDSA Root E1`, 'ecdsa-p384', undefined, 20, clock);
    const rsaRoot = await createCa(`${ORG}, CN=cobble Dev RSA Root R1`, 'rsa-2048', undefined, 20, clock);
    const ecdsaIntermediate = await createCa(`${ORG}, CN=cobble Dev ECDSA Issuing E2`, 'ecdsa-p384', ecdsaRoot.ca, 5, clock);
    const rsaIntermediate = await createCa(`${ORG}, CN=cobble Dev RSA Issuing R2`, 'rsa-2048', rsaRoot.ca, 5, clock);
    // Same subject and key as the ECDSA intermediate, signed by the RSA root: the alternate chain (as LE's E-series
    // intermediates chain to ISRG Root X1).
    const cross = await caCertificate({
      subject: `${ORG}, CN=cobble Dev ECDSA Issuing E2`,
      keys: ecdsaIntermediate.keys,
      issuer: rsaRoot.ca,
      algorithm: 'ecdsa-p384',
      years: 5,
      clock,
    });
    const serverTlsRoot = await createCa(`${ORG}, CN=cobble Dev Server TLS Root`, 'ecdsa-p256', undefined, 20, clock);
    stored = {
      version: HIERARCHY_VERSION,
      ecdsaRoot: ecdsaRoot.stored,
      ecdsaIntermediate: ecdsaIntermediate.stored,
      ecdsaCrossPem: cross.toString('pem') + '\n',
      rsaRoot: rsaRoot.stored,
      rsaIntermediate: rsaIntermediate.stored,
      serverTlsRoot: serverTlsRoot.stored,
    };
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(stored, null, 1), { mode: 0o600 });
    await rename(tmp, file);
  }
  const trustBundlePath = join(directory, 'server-tls-root.pem');
  await writeFile(trustBundlePath, stored.serverTlsRoot.certPem);
  await writeFile(join(directory, 'root-ecdsa.pem'), stored.ecdsaRoot.certPem);
  await writeFile(join(directory, 'root-rsa.pem'), stored.rsaRoot.certPem);
  const issuing = async (name: SubscriberKeyType, ca: StoredCa, root: StoredCa, alternates: Array<{ pem: string; root: StoredCa }>): Promise<IssuerChain> => ({
    name,
    keyTypes: [name],
    active: true,
    intermediate: { cert: new x509.X509Certificate(ca.certPem), pem: ca.certPem },
    signer: new ThreadPoolSigner(createPrivateKey(ca.keyPem), ca.algorithm, `file:${file}#${name}`),
    root: new x509.X509Certificate(root.certPem),
    chainsPem: [ca.certPem, ...alternates.map((a) => a.pem)],
    chainRoots: [root, ...alternates.map((a) => a.root)].map((r) => new x509.X509Certificate(r.certPem)),
  });
  return {
    issuers: [
      // The alternate chain: the ECDSA intermediate cross-signed by the RSA root.
      await issuing('ecdsa', stored.ecdsaIntermediate, stored.ecdsaRoot, [{ pem: stored.ecdsaCrossPem, root: stored.rsaRoot }]),
      await issuing('rsa', stored.rsaIntermediate, stored.rsaRoot, []),
    ],
    serverTlsRoot: await toSigningCa(stored.serverTlsRoot),
    trustBundlePath,
    directory,
  };
}

/** A fresh TLS certificate for the ACME server itself (loopback names), signed by the server-TLS root. */
export async function issueServerTlsCertificate(root: SigningCa, host: string, clock: Clock = systemClock): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeys('ecdsa-p256');
  const names: x509.JsonGeneralName[] = [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ];
  if (/^[0-9.]+$/.test(host) || host.includes(':')) {
    if (!names.some((n) => n.value === host)) names.push({ type: 'ip', value: host });
  } else if (host !== 'localhost') {
    names.push({ type: 'dns', value: host });
  }
  const notBefore = new Date(clock.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: 'CN=cobble ACME server',
    issuer: root.cert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 30 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: root.key,
    signingAlgorithm: ALGORITHMS[root.algorithm].sign,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([SERVER_AUTH]),
      await x509.AuthorityKeyIdentifierExtension.create(root.cert.publicKey),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return {
    certPem: cert.toString('pem') + '\n',
    keyPem: toPem(new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey)), 'PRIVATE KEY'),
  };
}

/** The root PEM of each issuer's default chain, by issuer name (what a relying party trusts for its leaves). */
export function rootsPemOf(hierarchy: Hierarchy): Record<string, string> {
  return Object.fromEntries(hierarchy.issuers.map((i) => [i.name, toPem(new Uint8Array(i.root.rawData), 'CERTIFICATE')]));
}

/** The first active issuer for a subscriber key type and profile; undefined when none is configured for them. */
export function selectIssuer(hierarchy: Hierarchy, keyType: SubscriberKeyType, profile: string): IssuerChain | undefined {
  return hierarchy.issuers.find((i) => i.active && i.keyTypes.includes(keyType) && (!i.profiles || i.profiles.includes(profile)));
}

// The issuer owns the path of the AIA caIssuers URL it names in leaves; the server routes it by exact lookup of the same
// path. The CRL and OCSP URLs belong to their components (crl/, ocsp/) and come in as LeafUrls.
export function issuerPaths(name: string): { aia: string } {
  return { aia: `/aia/${name}.der` };
}

/** The URLs a leaf names besides its issuer's AIA path: where the CA listens, its CRL shard, the OCSP responder if on. */
export interface LeafUrls {
  urlBase: string;
  crlUrl: string;
  ocspUrl?: string;
}

const encoders = new WeakMap<IssuerChain, Map<string, LeafEncoder>>();

// One encoder per issuer and set of URLs: a handful (the CRL shards) per issuer.
function encoderFor(chain: IssuerChain, urls: LeafUrls): LeafEncoder {
  let byUrls = encoders.get(chain);
  if (!byUrls) encoders.set(chain, (byUrls = new Map()));
  const key = `${urls.urlBase} ${urls.crlUrl} ${urls.ocspUrl ?? ''}`;
  let encoder = byUrls.get(key);
  if (!encoder) {
    encoder = leafEncoder({
      issuerCertificate: new Uint8Array(chain.intermediate.cert.rawData),
      signatureAlgorithm: chain.signer.signatureAlgorithm,
      issuerUrl: urls.urlBase + issuerPaths(chain.name).aia,
      crlUrl: urls.crlUrl,
      ocspUrl: urls.ocspUrl,
    });
    byUrls.set(key, encoder);
  }
  return encoder;
}

const issuerDers = new WeakMap<IssuerChain, Uint8Array>();

/**
 * Signs a subscriber certificate through @cobble/pki's lint-then-sign: the TBS is encoded once, a throwaway-key copy
 * of exactly those bytes is linted, and only then does the issuer's key sign them. Throws LintFailure before any real
 * signature when a lint fails. Returns the DER.
 */
export async function issueLeaf(chain: IssuerChain, urls: LeafUrls, fields: LeafFields): Promise<Uint8Array> {
  let issuerDer = issuerDers.get(chain);
  if (!issuerDer) issuerDers.set(chain, (issuerDer = new Uint8Array(chain.intermediate.cert.rawData)));
  const tbs = encoderFor(chain, urls).encodeTbs(fields);
  return (await issueTbs(tbs, chain.signer, { kind: 'leaf', issuerCertificate: issuerDer, afterSigning: 'signature' }, `leaf for ${fields.dnsNames.concat(fields.ipAddresses ?? []).join(', ')}`)).der;
}

export { x509 };
