// The client side must run in browsers: nothing it loads from this package may import a node: module at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*from\s+'([^']+)'/gm)) out.push(m[1]);
  return out;
}

test('the browser entry point pulls in no node: module from this package', () => {
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('node:')) offenders.push(`${file.slice(src.length)} imports ${spec}`);
      else if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(join(src, 'browser.ts'));
  assert.ok(seen.size > 5, 'the walk reached the client modules');
  assert.deepEqual(offenders, []);
});

test('the browser entry point, @cobble/vdaf included, bundles for the browser platform', async () => {
  // esbuild refuses to resolve node: modules for platform 'browser', so this fails on any such import in the graph.
  const { build } = await import('esbuild');
  const result = await build({ entryPoints: [join(src, 'browser.ts')], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
  const code = new TextDecoder().decode(result.outputFiles[0]!.contents);
  assert.match(code, /DapClient/);
  assert.doesNotMatch(code, /from ["']node:/);
});
