// TLS presentation-language encoding (RFC 8446 §3) as used by every DAP message: big-endian integers and
// length-prefixed opaque vectors. Uint8Array only (no Buffer) so the client side also runs in browsers.

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  u64(v: number | bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt(v));
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Fixed-length field: refuses a value of the wrong size rather than emitting a malformed message. */
  fixed(b: Uint8Array, len: number): this {
    if (b.length !== len) throw new RangeError(`expected ${len} bytes, got ${b.length}`);
    return this.bytes(b);
  }

  opaque8(b: Uint8Array): this {
    if (b.length > 0xff) throw new RangeError('opaque<..2^8-1> too long');
    return this.u8(b.length).bytes(b);
  }

  opaque16(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError('opaque<..2^16-1> too long');
    return this.u16(b.length).bytes(b);
  }

  opaque32(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  /** A vector with a length prefix of `width` bytes whose items are written by `fn`. */
  vector(width: 2 | 4, fn: (w: Writer) => void): this {
    const start = this.pos;
    if (width === 2) this.u16(0);
    else this.u32(0);
    fn(this);
    const len = this.pos - start - width;
    if (width === 2) {
      if (len > 0xffff) throw new RangeError('vector<..2^16-1> too long');
      this.view.setUint16(start, len);
    } else this.view.setUint32(start, len);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DecodeError(`message truncated: need ${n} bytes at offset ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** uint64 as a JS number; DAP times, durations and counts stay far below 2^53. */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('uint64 value too large');
    return Number(v);
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  opaque8(): Uint8Array {
    return this.bytes(this.u8());
  }

  opaque16(): Uint8Array {
    return this.bytes(this.u16());
  }

  opaque32(): Uint8Array {
    return this.bytes(this.u32());
  }

  /** Reads a length-prefixed vector, calling `item` until its bytes are consumed. */
  vector<T>(width: 2 | 4, item: (r: Reader) => T): T[] {
    const len = width === 2 ? this.u16() : this.u32();
    const sub = new Reader(this.bytes(len));
    const out: T[] = [];
    while (sub.remaining > 0) out.push(item(sub));
    return out;
  }

  /** Items filling the rest of the message (DAP-18 "[message_length]" vectors). */
  rest<T>(item: (r: Reader) => T): T[] {
    const out: T[] = [];
    while (this.remaining > 0) out.push(item(this));
    return out;
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes`);
  }
}

export function decodeAll<T>(bytes: Uint8Array, fn: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const v = fn(r);
  r.end();
  return v;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_REV = new Int16Array(128).fill(-1);
for (let i = 0; i < B64URL.length; i++) B64URL_REV[B64URL.charCodeAt(i)] = i;

/** Unpadded base64url (RFC 4648 §5), the encoding of IDs in DAP URLs and problem documents. */
export function b64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63] + B64URL[(n >> 6) & 63] + B64URL[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64URL[n >> 18] + B64URL[(n >> 12) & 63];
    if (i + 1 < bytes.length) out += B64URL[(n >> 6) & 63];
  }
  return out;
}

export function fromB64url(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new DecodeError('invalid base64url length');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const v = c < 128 ? B64URL_REV[c] : -1;
    if (v < 0) throw new DecodeError(`invalid base64url character '${clean[i]}'`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) throw new DecodeError('invalid hex');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export { concat, equalBytes } from '@cobble/vdaf';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
