#!/usr/bin/env node
// The `cobble` command. Sources are TypeScript run through tsx, so a checkout works with `npm ci` alone (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
