#!/usr/bin/env node
// The `cobble` command. Sources are TypeScript run through tsx, so a checkout works with `npm ci` alone (no build step).
import { register } from 'tsx/esm/api';

// Read before anything slow, so a parent that dies while we start up is still noticed (../src/orphan.ts says why).
const parent = process.ppid;
register();
const { stopWhenOrphaned } = await import('../src/orphan.ts');
stopWhenOrphaned(parent);
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
