// Encodings that are identical in DAP-09 and DAP-18.
import { DecodeError, Reader, Writer, decodeAll } from '../codec.js';
import type { Extension, HpkeCiphertext, HpkeConfig, PingPong } from './types.js';

export function writeHpkeConfig(w: Writer, c: HpkeConfig): void {
  w.u8(c.id).u16(c.kemId).u16(c.kdfId).u16(c.aeadId).opaque16(c.publicKey);
}

export function readHpkeConfig(r: Reader): HpkeConfig {
  const id = r.u8();
  const kemId = r.u16();
  const kdfId = r.u16();
  const aeadId = r.u16();
  const publicKey = r.opaque16().slice();
  if (publicKey.length === 0) throw new DecodeError('empty HPKE public key');
  return { id, kemId, kdfId, aeadId, publicKey };
}

export const encodeHpkeConfig = (c: HpkeConfig): Uint8Array => {
  const w = new Writer(64);
  writeHpkeConfig(w, c);
  return w.finish();
};
export const decodeHpkeConfig = (b: Uint8Array): HpkeConfig => decodeAll(b, readHpkeConfig);

export function encodeHpkeConfigList(list: HpkeConfig[]): Uint8Array {
  return new Writer(64 * list.length + 2).vector(2, (w) => list.forEach((c) => writeHpkeConfig(w, c))).finish();
}

export function decodeHpkeConfigList(b: Uint8Array): HpkeConfig[] {
  return decodeAll(b, (r) => r.vector(2, readHpkeConfig));
}

export function writeCiphertext(w: Writer, c: HpkeCiphertext): void {
  w.u8(c.configId).opaque16(c.enc).opaque32(c.payload);
}

export function readCiphertext(r: Reader): HpkeCiphertext {
  return { configId: r.u8(), enc: r.opaque16(), payload: r.opaque32() };
}

export const encodeCiphertext = (c: HpkeCiphertext): Uint8Array => {
  const w = new Writer(c.payload.length + 64);
  writeCiphertext(w, c);
  return w.finish();
};
export const decodeCiphertext = (b: Uint8Array): HpkeCiphertext => decodeAll(b, readCiphertext);

export function writeExtensions(w: Writer, exts: Extension[]): void {
  w.vector(2, (v) => exts.forEach((e) => v.u16(e.type).opaque16(e.data)));
}

export function readExtensions(r: Reader): Extension[] {
  return r.vector(2, (v) => ({ type: v.u16(), data: v.opaque16() }));
}

export function encodePingPong(m: PingPong): Uint8Array {
  const w = new Writer(64);
  if (m.type === 'initialize') w.u8(0).opaque32(m.prepShare);
  else if (m.type === 'continue') w.u8(1).opaque32(m.prepMsg).opaque32(m.prepShare);
  else w.u8(2).opaque32(m.prepMsg);
  return w.finish();
}

export function decodePingPong(b: Uint8Array): PingPong {
  return decodeAll(b, (r) => {
    const t = r.u8();
    if (t === 0) return { type: 'initialize', prepShare: r.opaque32() };
    if (t === 1) return { type: 'continue', prepMsg: r.opaque32(), prepShare: r.opaque32() };
    if (t === 2) return { type: 'finish', prepMsg: r.opaque32() };
    throw new DecodeError(`unknown ping-pong message type ${t}`);
  });
}
