#!/usr/bin/env node
// Runs one benchmark: `npm run bench -- NAME [args]` runs bench/NAME/main.ts through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'bench'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
if (!name || !existsSync(join(root, 'bench', name, 'main.ts'))) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', name, 'main.ts'), ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
