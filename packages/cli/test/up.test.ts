import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:https';

const bin = fileURLToPath(new URL('../bin/cobble.js', import.meta.url));

function getJson(url: string, ca: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    request(url, { agent: new Agent({ ca }) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject).end();
  });
}

test('cobble up starts the CA and the DAP pair, prints their URLs, and stops on SIGTERM', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cobble-up-'));
  const child = spawn(process.execPath, [bin, 'up', '--data-dir', dataDir, '--any-ports'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cobble up did not come up in 60 s:\n${out}`)), 60_000);
      child.stdout.on('data', (c: string) => {
        out += c;
        if (/DAP leader .* and helper /.test(out) && /collect:/.test(out)) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`cobble up exited with ${code}:\n${out}`)); });
    });
    const directoryUrl = /ACME directory\s+(\S+)/.exec(out)?.[1];
    const trust = /Trust for its HTTPS\s+(\S+)/.exec(out)?.[1];
    assert.ok(directoryUrl && trust, out);
    assert.match(directoryUrl, /^https:\/\/127\.0\.0\.1:\d+\/directory$/);
    const directory = await getJson(directoryUrl, readFileSync(trust, 'utf8'));
    assert.match(String(directory.newOrder), /^https:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /upload: .* dap upload --params /);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
