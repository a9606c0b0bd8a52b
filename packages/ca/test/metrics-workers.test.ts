// `cobble ca serve --workers 2` with metrics.port: the workers do not listen on it; the primary serves the sum of both
// workers' registries, so a scrape counts every request whichever worker answered it (one worker alone would show
// about half of them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/core/ports.js';

/** One GET on a connection of its own, so the cluster spreads them over the workers. */
function getDirectory(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

test('--workers 2: /metrics on the primary sums both workers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cobble-metrics-workers-'));
  const bin = fileURLToPath(new URL('../../cli/bin/cobble.js', import.meta.url));
  const metricsPort = await freePort();
  const configPath = join(dir, 'ca.yaml');
  await writeFile(configPath, `dataDir: ${join(dir, 'data')}\nlisten: { port: 0, httpPort: 0 }\nmetrics: { port: ${metricsPort} }\nlog: { level: error }\n`);
  // Own process group: the clean-up reaches the workers even if the primary dies first.
  const child = spawn(process.execPath, [bin, 'ca', 'serve', '--workers', '2', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    // Generous: on a loaded 2-core machine tsx compiles the CLI in every worker process.
    for (const deadline = Date.now() + 90_000; !/Trust bundle \(server TLS root, PEM\): (\S+)\n/.test(out); ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cobble ca serve did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const directoryUrl = /ACME directory: (\S+)/.exec(out)![1]!;
    const trust = await readFile(/Trust bundle \(server TLS root, PEM\): (\S+)/.exec(out)![1]!, 'utf8');
    const requests = 20;
    for (let i = 0; i < requests; i++) assert.equal(await getDirectory(directoryUrl, trust), 200);

    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    const line = text.split('\n').find((l) => l.startsWith('cobble_ca_http_requests_total{') && l.includes('route="/directory"') && l.includes('status="200"'));
    assert.ok(line, `no /directory series in:\n${text.slice(0, 2000)}`);
    assert.equal(Number(line.split(' ').at(-1)), requests);
    assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is already gone
    }
    await rm(dir, { recursive: true, force: true });
  }
});
