// A parsed view of a certificate or CRL that the lints share: typed extensions plus byte-exact raw parts.
import { createPublicKey } from 'node:crypto';
import { keyAlgorithmOfSpki, type KeyAlgorithm, type SignatureAlgorithm } from '../algorithms.js';
import { derChildren, toArrayBuffer } from '../bytes.js';
import {
  AsnConvert, OID, asn1, certificateParts, parseCertificateShared, parseCrl, signatureAlgorithmOf, splitSigned,
} from '../x509.js';

type Ctor<T> = new (...args: any[]) => T;

// Typed values of extensions, kept per extension object: `parseCertificateShared` hands out one object for each
// distinct extension encoding, so an extension every leaf of an issuer carries (AKI, EKU, policies, CRL DP, ...) is
// parsed once, not once per leaf. Shared like the pieces they come from: read-only.
const extensionValues = new WeakMap<asn1.Extension, Map<Ctor<unknown>, unknown>>();

export class ExtensionSet {
  constructor(readonly list: asn1.Extension[]) {}

  all(oid: string): asn1.Extension[] {
    return this.list.filter((e) => e.extnID === oid);
  }

  get(oid: string): asn1.Extension | undefined {
    return this.list.find((e) => e.extnID === oid);
  }

  has(oid: string): boolean {
    return this.get(oid) !== undefined;
  }

  /** The extension's value as `type`; parsed once per distinct extension, since lints ask for the same ones often. */
  parse<T>(oid: string, type: Ctor<T>): T | undefined {
    const ext = this.get(oid);
    if (!ext) return undefined;
    let values = extensionValues.get(ext);
    if (!values) extensionValues.set(ext, (values = new Map()));
    if (!values.has(type)) values.set(type, AsnConvert.parse(ext.extnValue.buffer, type));
    return values.get(type) as T;
  }

  critical(oid: string): boolean {
    return this.get(oid)?.critical === true;
  }
}

export class CertificateView {
  readonly cert: asn1.Certificate;
  readonly raw: ReturnType<typeof certificateParts>;
  readonly outerSignatureAlgorithm: Uint8Array;
  readonly extensions: ExtensionSet;

  constructor(readonly der: Uint8Array) {
    this.cert = parseCertificateShared(der);
    this.raw = certificateParts(der);
    this.outerSignatureAlgorithm = splitSigned(der).signatureAlgorithm;
    this.extensions = new ExtensionSet(this.cert.tbsCertificate.extensions ?? []);
  }

  get tbs(): asn1.TBSCertificate {
    return this.cert.tbsCertificate;
  }

  get notBefore(): Date {
    return this.tbs.validity.notBefore.getTime();
  }

  get notAfter(): Date {
    return this.tbs.validity.notAfter.getTime();
  }

  get signatureAlgorithm(): SignatureAlgorithm | undefined {
    return signatureAlgorithmOf(this.outerSignatureAlgorithm);
  }

  private keyAlgorithmMemo?: KeyAlgorithm;
  get keyAlgorithm(): KeyAlgorithm {
    return (this.keyAlgorithmMemo ??= keyAlgorithmOfSpki(this.raw.spki));
  }

  get basicConstraints(): asn1.BasicConstraints | undefined {
    return this.extensions.parse(OID.basicConstraints, asn1.BasicConstraints);
  }

  get isCA(): boolean {
    return this.basicConstraints?.cA === true;
  }

  get keyUsageFlags(): number | undefined {
    const ku = this.extensions.parse(OID.keyUsage, asn1.KeyUsage);
    return ku === undefined ? undefined : ku.toNumber();
  }

  get subjectKeyIdentifier(): Uint8Array | undefined {
    const ski = this.extensions.parse(OID.subjectKeyIdentifier, asn1.SubjectKeyIdentifier);
    return ski ? new Uint8Array(ski.buffer) : undefined;
  }

  get authorityKeyIdentifier(): asn1.AuthorityKeyIdentifier | undefined {
    return this.extensions.parse(OID.authorityKeyIdentifier, asn1.AuthorityKeyIdentifier);
  }

  get extendedKeyUsages(): string[] | undefined {
    const eku = this.extensions.parse(OID.extKeyUsage, asn1.ExtendedKeyUsage);
    return eku ? [...eku] : undefined;
  }

  get policies(): asn1.PolicyInformation[] | undefined {
    const cp = this.extensions.parse(OID.certificatePolicies, asn1.CertificatePolicies);
    return cp ? [...cp] : undefined;
  }

  get selfIssued(): boolean {
    return Buffer.from(this.raw.issuer).equals(Buffer.from(this.raw.subject));
  }

  /** Validity length in seconds, inclusive of the notAfter second (BR 6.3.2 / RFC 5280 4.1.2.5). */
  get validitySeconds(): number {
    return (this.notAfter.getTime() - this.notBefore.getTime()) / 1000 + 1;
  }

  rsaPublicExponent(): bigint | undefined {
    const key = createPublicKey({ key: Buffer.from(this.raw.spki), format: 'der', type: 'spki' });
    return key.asymmetricKeyDetails?.publicExponent;
  }

  spkiAlgorithmIdentifier(): Uint8Array {
    return derChildren(derChildren(this.raw.spki)[0].value)[0].raw;
  }
}

export class CrlView {
  readonly crl: asn1.CertificateList;
  readonly tbsRaw: Uint8Array;
  readonly innerSignatureAlgorithm: Uint8Array;
  readonly outerSignatureAlgorithm: Uint8Array;
  readonly issuerRaw: Uint8Array;
  readonly extensions: ExtensionSet;

  constructor(readonly der: Uint8Array) {
    this.crl = parseCrl(der);
    const parts = splitSigned(der);
    this.tbsRaw = parts.tbs;
    this.outerSignatureAlgorithm = parts.signatureAlgorithm;
    const fields = derChildren(derChildren(parts.tbs)[0].value);
    const offset = fields[0].tag === 0x02 ? 1 : 0;
    this.innerSignatureAlgorithm = fields[offset].raw;
    this.issuerRaw = fields[offset + 1].raw;
    this.extensions = new ExtensionSet(this.crl.tbsCertList.crlExtensions ?? []);
  }

  get tbs(): asn1.TBSCertList {
    return this.crl.tbsCertList;
  }

  get signatureAlgorithm(): SignatureAlgorithm | undefined {
    return signatureAlgorithmOf(this.outerSignatureAlgorithm);
  }

  /** Raw INTEGER content of the CRL number, for range checks beyond 2^53. */
  crlNumberBytes(): Uint8Array | undefined {
    const ext = this.extensions.get(OID.crlNumber);
    if (!ext) return undefined;
    const [integer] = derChildren(new Uint8Array(toArrayBuffer(new Uint8Array(ext.extnValue.buffer))));
    return integer.tag === 0x02 ? integer.value : undefined;
  }
}
