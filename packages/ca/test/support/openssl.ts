import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitPemChain } from './acme.js';

/** Runs the real `openssl verify -x509_strict` on a served chain (leaf first) against a root. */
export function opensslVerifyStrict(chainPem: string, rootPem: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-verify-'));
  try {
    const [leaf, ...intermediates] = splitPemChain(chainPem);
    writeFileSync(join(dir, 'leaf.pem'), leaf ?? '');
    writeFileSync(join(dir, 'untrusted.pem'), intermediates.join(''));
    writeFileSync(join(dir, 'root.pem'), rootPem);
    const result = spawnSync(
      'openssl',
      ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')],
      { encoding: 'utf8', timeout: 20_000 },
    );
    const output = `${result.stdout}${result.stderr}`;
    return { ok: result.status === 0 && /: OK/.test(output), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
