#!/usr/bin/env node
// Type-checks each workspace package (and bench/) with its own tsconfig, so one package's errors are reported
// under its name. Usage: node scripts/typecheck.mjs [package ...]
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const wanted = process.argv.slice(2);
const projects = readdirSync(join(root, 'packages'))
  .map((p) => `packages/${p}`)
  .concat(['bench'])
  .filter((p) => existsSync(join(root, p, 'tsconfig.json')) && hasTypeScript(join(root, p)))
  .filter((p) => wanted.length === 0 || wanted.some((w) => p.endsWith(w)));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let failed = 0;
for (const project of projects) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.error(`typecheck failed: ${project}`); }
}
process.exit(failed ? 1 : 0);

function hasTypeScript(dir) {
  return readdirSync(dir, { withFileTypes: true }).some((e) =>
    e.name !== 'node_modules' && (e.isDirectory() ? hasTypeScript(join(dir, e.name)) : e.name.endsWith('.ts')));
}
