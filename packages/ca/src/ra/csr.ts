// PKCS#10 parsing for finalize, written by hand on purpose. The schema parsers (@peculiar/asn1-csr over asn1js) cost
// about 1 ms per CSR on the issuance path (measured: a tenth of an issuance's server CPU in bench/acme-issuance),
// and finalize needs only six fields. This is a strict DER walk over exactly those: definite minimal lengths, no
// trailing bytes, the tags RFC 2986 and RFC 5280 give. Anything else is a badCSR; it is checked against
// @peculiar/x509 on a corpus of OpenSSL-made CSRs in test/csr.test.ts.
import { AcmeProblem } from '../core/index.js';
import { ipText } from '../core/ip.js';

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_COMMON_NAME = '2.5.4.3';

/** Signature algorithms accepted on CSRs (BR 7.1.3.2 families), by OID, with the hash node:crypto needs. */
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** GeneralName choices (RFC 5280 §4.2.1.6) by context tag number, for error messages. */
const GENERAL_NAME_KINDS = ['otherName', 'rfc822Name', 'dNSName', 'x400Address', 'directoryName', 'ediPartyName', 'uniformResourceIdentifier', 'iPAddress', 'registeredID'];

export interface ParsedCsr {
  /** The SubjectPublicKeyInfo exactly as in the CSR. */
  spkiDer: Buffer;
  /** node:crypto hash name for the signature. */
  hash: string;
  /** The exact signed bytes (CertificationRequestInfo) and the signature. */
  signed: Buffer;
  signature: Buffer;
  commonNames: string[];
  dnsNames: string[];
  /** iPAddress SANs (RFC 8738), as canonical text (RFC 5952 for IPv6). */
  ipAddresses: string[];
}

class DerError extends Error {}

interface Element {
  tag: number;
  /** Offsets into the buffer: the whole TLV is [start, end), the value [valueStart, end). */
  start: number;
  valueStart: number;
  end: number;
}

/** Strict DER reader over one buffer: single-byte tags, definite minimal lengths, elements that fit their parent. */
class Der {
  constructor(readonly bytes: Buffer) {}

  /** The element at `offset`, which must end by `limit`. */
  element(offset: number, limit: number): Element {
    const bytes = this.bytes;
    if (offset + 2 > limit) throw new DerError('truncated');
    const tag = bytes[offset]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tag');
    let length = bytes[offset + 1]!;
    let valueStart = offset + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3) throw new DerError('indefinite or oversized length');
      if (valueStart + count > limit) throw new DerError('truncated');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[valueStart + i]!;
      if (length < 0x80 || bytes[valueStart] === 0) throw new DerError('non-minimal length');
      valueStart += count;
    }
    const end = valueStart + length;
    if (end > limit) throw new DerError('truncated');
    return { tag, start: offset, valueStart, end };
  }

  /** The elements inside a constructed element, optionally all of one tag. */
  children(parent: Element, tag?: number): Element[] {
    if ((parent.tag & 0x20) === 0) throw new DerError('expected a constructed element');
    const out: Element[] = [];
    for (let offset = parent.valueStart; offset < parent.end; ) {
      const child = this.element(offset, parent.end);
      if (tag !== undefined && child.tag !== tag) throw new DerError(`unexpected tag 0x${child.tag.toString(16)}`);
      out.push(child);
      offset = child.end;
    }
    return out;
  }

  expect(element: Element | undefined, tag: number): Element {
    if (element === undefined || element.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}`);
    return element;
  }

  value(element: Element): Buffer {
    return this.bytes.subarray(element.valueStart, element.end);
  }

  raw(element: Element): Buffer {
    return this.bytes.subarray(element.start, element.end);
  }

  oid(element: Element): string {
    const value = this.value(this.expect(element, 0x06));
    if (value.length === 0 || (value[value.length - 1]! & 0x80) !== 0) throw new DerError('malformed OID');
    const arcs: number[] = [];
    let arc = 0;
    for (let i = 0; i < value.length; i++) {
      const byte = value[i]!;
      if (arc === 0 && byte === 0x80) throw new DerError('non-minimal OID arc');
      arc = arc * 128 + (byte & 0x7f);
      if (arc > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
      if ((byte & 0x80) === 0) {
        if (arcs.length === 0) arcs.push(arc < 40 ? 0 : arc < 80 ? 1 : 2, arc < 80 ? arc % 40 : arc - 80);
        else arcs.push(arc);
        arc = 0;
      }
    }
    return arcs.join('.');
  }

  /** A DirectoryString or IA5String value as text. */
  text(element: Element): string {
    const value = this.value(element);
    switch (element.tag) {
      case 0x0c: // UTF8String
        return new TextDecoder('utf-8', { fatal: true }).decode(value);
      case 0x13: // PrintableString
      case 0x16: // IA5String
      case 0x14: // TeletexString, read as Latin-1 as OpenSSL does
        return value.toString('latin1');
      case 0x1e: // BMPString: UCS-2 big-endian
        if (value.length % 2 !== 0) throw new DerError('odd BMPString length');
        return Buffer.from(value).swap16().toString('utf16le');
      case 0x1c: { // UniversalString: UCS-4 big-endian
        if (value.length % 4 !== 0) throw new DerError('bad UniversalString length');
        const points: number[] = [];
        for (let i = 0; i < value.length; i += 4) points.push(value.readUInt32BE(i));
        return String.fromCodePoint(...points);
      }
      default:
        throw new DerError(`unsupported string type 0x${element.tag.toString(16)}`);
    }
  }
}

function readNames(der: Der, subject: Element): string[] {
  const commonNames: string[] = [];
  for (const rdn of der.children(subject, 0x31)) {
    for (const attribute of der.children(rdn, 0x30)) {
      const [type, value, extra] = der.children(attribute);
      if (value === undefined || extra !== undefined) throw new DerError('malformed AttributeTypeAndValue');
      if (der.oid(type!) === OID_COMMON_NAME) commonNames.push(der.text(value));
    }
  }
  return commonNames;
}

function readSanNames(der: Der, attributes: Element): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const attribute of der.children(attributes, 0x30)) {
    const [type, values, extra] = der.children(attribute);
    if (values === undefined || extra !== undefined) throw new DerError('malformed Attribute');
    if (der.oid(type!) !== OID_EXTENSION_REQUEST) continue;
    for (const extensions of der.children(der.expect(values, 0x31), 0x30)) {
      for (const extension of der.children(extensions, 0x30)) {
        const parts = der.children(extension);
        const id = der.oid(parts[0]!);
        const hasCritical = parts[1]?.tag === 0x01;
        const value = der.expect(parts[hasCritical ? 2 : 1], 0x04);
        if (parts.length !== (hasCritical ? 3 : 2)) throw new DerError('malformed Extension');
        if (id !== OID_SUBJECT_ALT_NAME) continue;
        // The OCTET STRING holds the DER of GeneralNames.
        const names = der.expect(der.element(value.valueStart, value.end), 0x30);
        if (names.end !== value.end) throw new DerError('trailing data in subjectAltName');
        for (const name of der.children(names)) {
          const value = der.value(name);
          if (name.tag === 0x87 && (value.length === 4 || value.length === 16)) {
            ipAddresses.push(ipText(value));
            continue;
          }
          if (name.tag !== 0x82) {
            const kind = GENERAL_NAME_KINDS[name.tag & 0x1f] ?? `[${name.tag & 0x1f}]`;
            throw new AcmeProblem('badCSR', `the CSR asks for a ${kind} name${describeName(der, name)}; only DNS names and IP addresses are issued`);
          }
          dnsNames.push(value.toString('latin1'));
        }
      }
    }
  }
  return { dnsNames, ipAddresses };
}

function describeName(der: Der, name: Element): string {
  const value = der.value(name);
  if (name.tag === 0x81 || name.tag === 0x86) return ` (${value.toString('latin1')})`;
  return '';
}

export function parseCsr(bytes: Buffer): ParsedCsr {
  const der = new Der(bytes);
  try {
    const outer = der.expect(der.element(0, bytes.length), 0x30);
    if (outer.end !== bytes.length) throw new DerError('trailing data after the CSR');
    const [info, algorithm, signature, extra] = der.children(outer);
    if (extra !== undefined) throw new DerError('extra fields in CertificationRequest');
    const [version, subject, spki, attributes, extraInfo] = der.children(der.expect(info, 0x30));
    if (extraInfo !== undefined) throw new DerError('extra fields in CertificationRequestInfo');
    if (!der.value(der.expect(version, 0x02)).equals(Buffer.from([0]))) throw new DerError('CSR version must be 1 (0)');
    const algorithmOid = der.oid(der.children(der.expect(algorithm, 0x30))[0]!);
    const bits = der.value(der.expect(signature, 0x03));
    if (bits.length < 2 || bits[0] !== 0) throw new DerError('malformed signature BIT STRING');
    const hash = SIGNATURE_HASHES[algorithmOid];
    if (!hash) {
      throw new AcmeProblem('badCSR', `the CSR signature algorithm ${algorithmOid} is not accepted; use ECDSA or RSASSA-PKCS1-v1_5 with SHA-2`);
    }
    der.expect(spki, 0x30);
    return {
      spkiDer: der.raw(spki),
      hash,
      signed: der.raw(info!),
      signature: bits.subarray(1),
      commonNames: readNames(der, der.expect(subject, 0x30)),
      // RFC 2986 makes the attributes field mandatory, but an empty one is sometimes left out; both mean no SANs.
      ...(attributes === undefined ? { dnsNames: [], ipAddresses: [] } : readSanNames(der, der.expect(attributes, 0xa0))),
    };
  } catch (err) {
    if (err instanceof AcmeProblem) throw err;
    if (err instanceof DerError) throw new AcmeProblem('badCSR', `the CSR is not a DER-encoded PKCS#10 request (${err.message})`);
    throw new AcmeProblem('badCSR', 'the CSR cannot be parsed');
  }
}
