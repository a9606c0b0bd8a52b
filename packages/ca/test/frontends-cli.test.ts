// `cobble ca serve --workers N` runs several front ends on one database: an account cache the configuration turns on
// would serve accounts another worker changed, so the CLI refuses it and names the key and the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));

test('--workers 2 with cache.accounts: true is refused, naming the file, the key and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cobble-frontends-cli-'));
  try {
    const config = join(dir, 'ca.yaml');
    writeFileSync(config, `dataDir: ${join(dir, 'data')}\ncache:\n  accounts: true\n`);
    const run = spawnSync(process.execPath, [bin, 'ca', 'serve', '--workers', '2', '--config', config], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cache\\.accounts: true cannot be used with --workers 2`));
    assert.match(run.stderr, /remove it or set it to false/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
