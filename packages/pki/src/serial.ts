// Serial numbers: positive INTEGERs with at least 128 bits from a CSPRNG (BR 7.1 requires 64), never longer
// than 20 octets (RFC 5280 4.1.2.2). Like Boulder, one fixed prefix byte in 0x01..0x7f keeps the INTEGER
// positive and its length constant, whatever the random bytes are.
import { randomBytes as nodeRandomBytes } from 'node:crypto';

export interface SerialOptions {
  /** Random source; the ceremony passes the HSM's C_GenerateRandom. Defaults to node's CSPRNG. */
  randomBytes?: (length: number) => Uint8Array;
  /** Prefix byte 0x01..0x7f (Boulder gives each CA its own). Default 0x01. */
  prefix?: number;
  /** Random bytes after the prefix, 16..19. Default 16 (128 bits). */
  randomLength?: number;
}

export function newSerialNumber(options: SerialOptions = {}): Uint8Array {
  const prefix = options.prefix ?? 1;
  const length = options.randomLength ?? 16;
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > 0x7f) throw new Error('serial prefix must be 0x01..0x7f');
  if (!Number.isInteger(length) || length < 16 || length > 19) throw new Error('serial random part must be 16..19 bytes');
  const random = (options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n))))(length);
  if (random.length !== length) throw new Error(`random source returned ${random.length} bytes, wanted ${length}`);
  return Uint8Array.of(prefix, ...random);
}

/** Lower-case hex of a serial, as OpenSSL prints it (without colons). */
export function serialHex(serial: Uint8Array): string {
  return Buffer.from(serial).toString('hex');
}
