// Keys on a PKCS#11 token (an HSM; SoftHSM2 in tests): generate key pairs that never leave the token and sign
// with them. Flow follows Boulder's pkcs11helpers: one session per use, user login, objects found by label.
import { createPublicKey } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import {
  SIGNATURE_ALGORITHMS, curveOf, isRsa, keyAlgorithmOfSpki, rsaBits, type KeyAlgorithm, type SignatureAlgorithm,
} from './algorithms.js';
import { ecdsaRawToDer, toHex } from './bytes.js';
import { checkSignatureAlgorithm, digest, verifySignature, type Signer } from './signer.js';

export class Pkcs11Error extends Error {
  constructor(message: string, readonly reason: 'module' | 'token' | 'pin' | 'key-missing' | 'key-exists' | 'key-mismatch' | 'device') {
    super(message);
    this.name = 'Pkcs11Error';
  }
}

export interface TokenSelector {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** Slot ID (not an index). Give this or `tokenLabel`. */
  slot?: number;
  /** Token label, e.g. "root HSM"; SoftHSM assigns random slot IDs, so a label is easier to keep in a config. */
  tokenLabel?: string;
  /** User PIN. */
  pin: string;
}

// DER OIDs of the named curves, the value of CKA_EC_PARAMS.
const EC_PARAMS: Record<'P-256' | 'P-384', string> = { 'P-256': '06082a8648ce3d030107', 'P-384': '06052b81040022' };
const COORDINATE_BYTES: Record<'P-256' | 'P-384', number> = { 'P-256': 32, 'P-384': 48 };
// DigestInfo prefixes for CKM_RSA_PKCS (RFC 8017 9.2 note 1); plain CKM_RSA_PKCS works on every HSM.
const DIGEST_INFO_PREFIX: Record<'sha256' | 'sha384', string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
};

interface LoadedModule {
  p11: pkcs11js.PKCS11;
  sessions: number;
}
// C_Initialize may be called once per module and process; sessions share the loaded module.
const loadedModules = new Map<string, LoadedModule>();

function codeName(err: unknown): string {
  return err instanceof Error ? err.message.split(':')[0] : String(err);
}

function isCode(err: unknown, code: number): boolean {
  return err instanceof pkcs11js.Pkcs11Error && err.code === code;
}

function slotId(handle: Buffer): bigint {
  return handle.length >= 8 ? handle.readBigUInt64LE(0) : BigInt(handle.readUInt32LE(0));
}

/** An open, logged-in session on one token. Close it when done (finalizes the module after the last session). */
export class Pkcs11Session {
  private closed = false;

  private constructor(
    private readonly loaded: LoadedModule,
    private readonly modulePath: string,
    private readonly session: Buffer,
    readonly tokenLabel: string,
  ) {}

  static open(selector: TokenSelector): Pkcs11Session {
    if ((selector.slot === undefined) === (selector.tokenLabel === undefined)) {
      throw new Pkcs11Error('name the token by exactly one of slot or token label', 'token');
    }
    let loaded = loadedModules.get(selector.module);
    if (!loaded) {
      const p11 = new pkcs11js.PKCS11();
      try {
        p11.load(selector.module);
      } catch (err) {
        throw new Pkcs11Error(`cannot load PKCS#11 module ${selector.module}: ${(err as Error).message}`, 'module');
      }
      try {
        p11.C_Initialize();
      } catch (err) {
        if (!isCode(err, pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
          throw new Pkcs11Error(`PKCS#11 module ${selector.module} failed to initialize: ${codeName(err)}`, 'module');
        }
      }
      loaded = { p11, sessions: 0 };
      loadedModules.set(selector.module, loaded);
    }
    const { p11 } = loaded;
    loaded.sessions++;
    let session: Buffer | undefined;
    try {
      const slots = p11.C_GetSlotList(true);
      const infos = slots.map((handle) => ({ handle, id: slotId(handle), label: p11.C_GetTokenInfo(handle).label.trim() }));
      const match = selector.tokenLabel !== undefined
        ? infos.filter((s) => s.label === selector.tokenLabel)
        : infos.filter((s) => s.id === BigInt(selector.slot!));
      const wanted = selector.tokenLabel !== undefined ? `token labelled "${selector.tokenLabel}"` : `slot ${selector.slot}`;
      if (match.length === 0) {
        const present = infos.map((s) => `slot ${s.id} "${s.label}"`).join(', ') || 'none';
        throw new Pkcs11Error(`no ${wanted} in ${selector.module} (tokens present: ${present})`, 'token');
      }
      if (match.length > 1) throw new Pkcs11Error(`more than one ${wanted}; name the token by slot instead`, 'token');
      session = p11.C_OpenSession(match[0].handle, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        p11.C_Login(session, pkcs11js.CKU_USER, selector.pin);
      } catch (err) {
        if (isCode(err, pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) {
          // Another session of this process on the same token already logged in; login state is per token.
        } else if (isCode(err, pkcs11js.CKR_PIN_INCORRECT) || isCode(err, pkcs11js.CKR_PIN_LEN_RANGE)) {
          throw new Pkcs11Error(`wrong PIN for ${wanted} (${codeName(err)})`, 'pin');
        } else if (isCode(err, pkcs11js.CKR_PIN_LOCKED)) {
          throw new Pkcs11Error(`the user PIN of ${wanted} is locked (CKR_PIN_LOCKED); the security officer must reset it`, 'pin');
        } else {
          throw new Pkcs11Error(`login to ${wanted} failed: ${codeName(err)}`, 'device');
        }
      }
      return new Pkcs11Session(loaded, selector.module, session, match[0].label);
    } catch (err) {
      if (session) {
        try { p11.C_CloseSession(session); } catch { /* already failing */ }
      }
      release(selector.module, loaded);
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // No C_Logout: login state is per token and other sessions of this process may still sign.
      this.loaded.p11.C_CloseSession(this.session);
    } finally {
      release(this.modulePath, this.loaded);
    }
  }

  private get p11(): pkcs11js.PKCS11 {
    if (this.closed) throw new Pkcs11Error('the PKCS#11 session is closed', 'device');
    return this.loaded.p11;
  }

  randomBytes(length: number): Uint8Array {
    return new Uint8Array(this.p11.C_GenerateRandom(this.session, Buffer.alloc(length)));
  }

  private find(template: pkcs11js.Template): Buffer[] {
    const p11 = this.p11;
    p11.C_FindObjectsInit(this.session, template);
    try {
      return p11.C_FindObjects(this.session, 16);
    } finally {
      p11.C_FindObjectsFinal(this.session);
    }
  }

  hasObjectLabelled(label: string): boolean {
    return this.find([{ type: pkcs11js.CKA_LABEL, value: label }]).length > 0;
  }

  /** Generates a key pair on the token; refuses if any object already carries `label`. */
  generateKeyPair(label: string, algorithm: KeyAlgorithm, signatureAlgorithm?: SignatureAlgorithm): Signer {
    if (this.hasObjectLabelled(label)) {
      throw new Pkcs11Error(`token "${this.tokenLabel}" already holds an object labelled "${label}"; choose a new label`, 'key-exists');
    }
    const id = this.randomBytes(4);
    const common = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: Buffer.from(id) },
    ];
    const publicTemplate: pkcs11js.Template = [...common, { type: pkcs11js.CKA_VERIFY, value: true }];
    const mechanism = isRsa(algorithm) ? pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN : pkcs11js.CKM_EC_KEY_PAIR_GEN;
    if (isRsa(algorithm)) {
      publicTemplate.push({ type: pkcs11js.CKA_MODULUS_BITS, value: rsaBits(algorithm) });
      publicTemplate.push({ type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) });
    } else {
      publicTemplate.push({ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(EC_PARAMS[curveOf(algorithm)], 'hex') });
    }
    // Sign-only private key that never leaves the token (SoftHSM would otherwise also allow decrypt/unwrap).
    const privateTemplate: pkcs11js.Template = [
      ...common,
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_DECRYPT, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: false },
      { type: pkcs11js.CKA_DERIVE, value: false },
    ];
    let pair: pkcs11js.KeyPair;
    try {
      pair = this.p11.C_GenerateKeyPair(this.session, { mechanism }, publicTemplate, privateTemplate);
    } catch (err) {
      throw new Pkcs11Error(`key generation (${algorithm}) on token "${this.tokenLabel}" failed: ${codeName(err)}`, 'device');
    }
    const spki = this.readPublicKey(pair.publicKey);
    const actual = keyAlgorithmOfSpki(spki);
    if (actual !== algorithm) {
      throw new Pkcs11Error(`token "${this.tokenLabel}" generated a ${actual} key when ${algorithm} was asked for`, 'device');
    }
    return new Pkcs11Signer(this, pair.privateKey, spki, label, checkSignatureAlgorithm(algorithm, signatureAlgorithm));
  }

  /**
   * The signer for the private key labelled `label`. When `expectedPublicKey` is given (the issuer certificate's
   * key), the token's key must be that key. A test signature proves the private key matches the public key.
   */
  async signer(label: string, options: { signatureAlgorithm?: SignatureAlgorithm; expectedPublicKey?: Uint8Array } = {}): Promise<Signer> {
    const privateKeys = this.find([
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]);
    if (privateKeys.length === 0) {
      throw new Pkcs11Error(`token "${this.tokenLabel}" has no private key labelled "${label}"`, 'key-missing');
    }
    if (privateKeys.length > 1) {
      throw new Pkcs11Error(`token "${this.tokenLabel}" has ${privateKeys.length} private keys labelled "${label}"; labels must be unique`, 'key-exists');
    }
    const [id] = this.p11.C_GetAttributeValue(this.session, privateKeys[0], [{ type: pkcs11js.CKA_ID }]);
    const publicKeys = this.find([
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_ID, value: id.value },
    ]);
    if (publicKeys.length !== 1) {
      throw new Pkcs11Error(`token "${this.tokenLabel}" has ${publicKeys.length} public keys for the private key labelled "${label}" (need exactly 1)`, 'key-missing');
    }
    const spki = this.readPublicKey(publicKeys[0]);
    if (options.expectedPublicKey && !Buffer.from(options.expectedPublicKey).equals(Buffer.from(spki))) {
      throw new Pkcs11Error(`the key labelled "${label}" on token "${this.tokenLabel}" is not the key of the issuer certificate`, 'key-mismatch');
    }
    const keyAlgorithm = keyAlgorithmOfSpki(spki);
    const signer = new Pkcs11Signer(this, privateKeys[0], spki, label, checkSignatureAlgorithm(keyAlgorithm, options.signatureAlgorithm));
    const probe = new TextEncoder().encode(`cobble key check ${label}`);
    if (!verifySignature(spki, signer.signatureAlgorithm, probe, await signer.sign(probe))) {
      throw new Pkcs11Error(`the private and public keys labelled "${label}" on token "${this.tokenLabel}" do not match`, 'key-mismatch');
    }
    return signer;
  }

  private readPublicKey(handle: Buffer): Uint8Array {
    const [keyType] = this.p11.C_GetAttributeValue(this.session, handle, [{ type: pkcs11js.CKA_KEY_TYPE }]);
    const type = keyType.value.readUInt32LE(0);
    if (type === pkcs11js.CKK_RSA) {
      const [modulus, exponent] = this.p11.C_GetAttributeValue(this.session, handle, [
        { type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT },
      ]);
      const jwk = { kty: 'RSA', n: stripZeros(modulus.value).toString('base64url'), e: stripZeros(exponent.value).toString('base64url') };
      return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
    }
    if (type === pkcs11js.CKK_EC) {
      const [params, point] = this.p11.C_GetAttributeValue(this.session, handle, [
        { type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT },
      ]);
      const curve = (Object.keys(EC_PARAMS) as Array<'P-256' | 'P-384'>).find((c) => EC_PARAMS[c] === toHex(params.value));
      if (!curve) throw new Pkcs11Error(`unsupported EC curve parameters ${toHex(params.value)}`, 'device');
      const size = COORDINATE_BYTES[curve];
      const raw = unwrapEcPoint(point.value, size);
      const jwk = {
        kty: 'EC', crv: curve,
        x: raw.subarray(1, 1 + size).toString('base64url'), y: raw.subarray(1 + size).toString('base64url'),
      };
      return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
    }
    throw new Pkcs11Error(`unsupported PKCS#11 key type ${type}`, 'device');
  }

  /** @internal */
  signRaw(key: Buffer, algorithm: SignatureAlgorithm, data: Uint8Array): Uint8Array {
    const p11 = this.p11;
    const info = SIGNATURE_ALGORITHMS[algorithm];
    const hash = digest(algorithm, data);
    if (info.keyType === 'rsa') {
      p11.C_SignInit(this.session, { mechanism: pkcs11js.CKM_RSA_PKCS }, key);
      const input = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[info.hash], 'hex'), hash]);
      return new Uint8Array(p11.C_Sign(this.session, input, Buffer.alloc(1024)));
    }
    p11.C_SignInit(this.session, { mechanism: pkcs11js.CKM_ECDSA }, key);
    return ecdsaRawToDer(p11.C_Sign(this.session, hash, Buffer.alloc(256)));
  }
}

function release(modulePath: string, loaded: LoadedModule): void {
  loaded.sessions--;
  if (loaded.sessions === 0) {
    loadedModules.delete(modulePath);
    // Finalizing lets the next open re-read SOFTHSM2_CONF (tests use one token directory each).
    try { loaded.p11.C_Finalize(); } catch { /* nothing left to release */ }
    try { loaded.p11.close(); } catch { /* module already unloaded */ }
  }
}

function stripZeros(value: Buffer): Buffer {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  return value.subarray(i);
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point; a few HSMs return the bare point. */
function unwrapEcPoint(value: Buffer, coordinateBytes: number): Buffer {
  const pointLength = 1 + 2 * coordinateBytes;
  if (value.length === pointLength && value[0] === 0x04) return value;
  if (value[0] === 0x04 && value.length === pointLength + 2 && value[1] === pointLength) return value.subarray(2);
  if (value[0] === 0x04 && value.length === pointLength + 3 && value[1] === 0x81 && value[2] === pointLength) return value.subarray(3);
  throw new Pkcs11Error(`cannot parse CKA_EC_POINT ${toHex(value)}`, 'device');
}

class Pkcs11Signer implements Signer {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly description: string;

  constructor(
    private readonly session: Pkcs11Session,
    private readonly handle: Buffer,
    readonly publicKey: Uint8Array,
    label: string,
    readonly signatureAlgorithm: SignatureAlgorithm,
  ) {
    this.keyAlgorithm = keyAlgorithmOfSpki(publicKey);
    this.description = `pkcs11:token=${session.tokenLabel};object=${label}`;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return this.session.signRaw(this.handle, this.signatureAlgorithm, data);
  }
}
