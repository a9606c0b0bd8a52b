import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitPemChain } from './acme.js';

/** Runs the real `openssl verify -x509_strict` on a served chain (leaf first) against a root; with a DER CRL, also
 * `-crl_check` (the leaf's revocation status from that CRL). */
export function opensslVerifyStrict(chainPem: string, rootPem: string, crlDer?: Uint8Array): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-verify-'));
  try {
    const [leaf, ...intermediates] = splitPemChain(chainPem);
    writeFileSync(join(dir, 'leaf.pem'), leaf ?? '');
    writeFileSync(join(dir, 'untrusted.pem'), intermediates.join(''));
    writeFileSync(join(dir, 'root.pem'), rootPem);
    const crlArgs: string[] = [];
    if (crlDer) {
      const b64 = Buffer.from(crlDer).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
      writeFileSync(join(dir, 'crl.pem'), `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`);
      crlArgs.push('-crl_check', '-CRLfile', join(dir, 'crl.pem'));
    }
    const result = spawnSync(
      'openssl',
      ['verify', '-x509_strict', '-purpose', 'sslserver', ...crlArgs, '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')],
      { encoding: 'utf8', timeout: 20_000 },
    );
    const output = `${result.stdout}${result.stderr}`;
    return { ok: result.status === 0 && /: OK/.test(output), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
