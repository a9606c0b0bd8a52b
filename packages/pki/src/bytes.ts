// Small byte helpers shared by the signers, the builders and the lints.

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesEqual(a: Uint8Array | ArrayBuffer, b: Uint8Array | ArrayBuffer): boolean {
  return Buffer.from(asBytes(a)).equals(Buffer.from(asBytes(b)));
}

export function asBytes(data: Uint8Array | ArrayBuffer): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** asn1-schema wants a standalone ArrayBuffer (a Node Buffer view onto a shared pool is refused). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const out: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) out.unshift(n % 256);
  return Uint8Array.of(0x80 | out.length, ...out);
}

function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body[0] & 0x80) body = Uint8Array.of(0, ...body);
  return Uint8Array.of(0x02, ...derLength(body.length), ...body);
}

/**
 * PKCS#11 (and WebCrypto) return an ECDSA signature as raw r||s; X.509 carries
 * Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }. Hand-written because it is six lines.
 */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length % 2 !== 0 || raw.length === 0) throw new Error(`ECDSA signature of odd length ${raw.length}`);
  const half = raw.length / 2;
  const r = derUnsignedInteger(raw.subarray(0, half));
  const s = derUnsignedInteger(raw.subarray(half));
  return Uint8Array.of(0x30, ...derLength(r.length + s.length), ...r, ...s);
}

export interface DerElement {
  tag: number;
  /** The whole TLV. */
  raw: Uint8Array;
  /** The value octets. */
  value: Uint8Array;
}

/** Reads the TLV elements directly inside `bytes` (used to take byte-exact slices such as TBS and names). */
export function derChildren(bytes: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    const tag = bytes[offset++];
    let length = bytes[offset++];
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw new Error('unsupported DER length');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[offset++];
    }
    if (offset + length > bytes.length) throw new Error('truncated DER');
    out.push({ tag, raw: bytes.subarray(start, offset + length), value: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  return out;
}

/** The value of the single element `bytes` holds (e.g. the fields of a SEQUENCE). */
export function derSequenceItems(bytes: Uint8Array): DerElement[] {
  const [outer] = derChildren(bytes);
  if (!outer) throw new Error('empty DER');
  return derChildren(outer.value);
}
