import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/cobble.js', import.meta.url));

test('an unknown command is refused with usage and exit code 2', () => {
  const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.match(r.stderr, /usage: cobble <command>/);
});

test('`ca serve --workers 2` whose workers cannot start exits with an error instead of restarting them forever', async () => {
  // The ACME port is taken, so every worker fails to listen before it is ready.
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => blocker.once('listening', resolve));
  const port = (blocker.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'cobble-cli-workers-'));
  try {
    writeFileSync(join(dir, 'ca.yaml'), `dataDir: ${join(dir, 'data')}\nlisten: { host: 127.0.0.1, port: ${port}, httpPort: 0 }\nlog: { level: error }\n`);
    const child = spawn(process.execPath, [bin, 'ca', 'serve', '--workers', '2', '--config', join(dir, 'ca.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 90_000);
    const code = await exited;
    clearTimeout(timer);
    assert.notEqual(code, 0, stderr);
    assert.equal(code !== null, true, `the primary was killed after 90 s instead of exiting on its own: ${stderr}`);
    assert.match(stderr, /worker exited with code \d+ before it was ready/);
    assert.doesNotMatch(stderr, /starting a new one/);
    // No worker is left behind in the process group.
    assert.throws(() => process.kill(-child.pid!, 0), /ESRCH/);
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
