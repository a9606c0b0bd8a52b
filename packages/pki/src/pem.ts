// PEM armour. Labels are the ones OpenSSL reads ("X509 CRL", not "CRL").
export type PemLabel = 'CERTIFICATE' | 'X509 CRL' | 'CERTIFICATE REQUEST' | 'PUBLIC KEY' | 'ENCRYPTED PRIVATE KEY' | 'PRIVATE KEY';

export function toPem(der: Uint8Array, label: PemLabel): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** All blocks with `label` in `text`. */
export function fromPemAll(text: string, label: PemLabel): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
}

/** The single block with `label`; throws naming `source` when there is none or more than one. */
export function fromPem(text: string, label: PemLabel, source = 'input'): Uint8Array {
  const blocks = fromPemAll(text, label);
  if (blocks.length !== 1) {
    throw new Error(`${source}: expected exactly one "-----BEGIN ${label}-----" block, found ${blocks.length}`);
  }
  return blocks[0];
}
