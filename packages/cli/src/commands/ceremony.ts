// `cobble ceremony`: run one key ceremony from a YAML file, list the lints, or replay the 2020 demo.
import { join } from 'node:path';
import { CeremonyError, formatSizeTable, runCeremony, runDemo } from '@cobble/ceremony';
import { certificateLints, crlLints } from '@cobble/pki';
import { CliError } from '../errors.js';

export const summary = 'run a key ceremony from one YAML file (--config FILE.yaml), or the 2020 hierarchy demo';

const usage = `usage:
  cobble ceremony --config FILE.yaml [--base-dir DIR]   run one ceremony (relative paths resolve against DIR, default .)
  cobble ceremony demo [--out DIR]                       replay the ISRG 2020 hierarchy on fresh SoftHSM2 tokens
  cobble ceremony --list-lints                           the lints run before and after every signature

Ceremony types: key, root, intermediate, cross-certificate, cross-csr, crl, ocsp-signer.
Examples: examples/ceremony-2020/*.yaml; operator guide: docs/ceremony.md.`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (!value || value.startsWith('--')) throw new CliError(`${name} needs a value\n\n${usage}`, 2);
  return value;
}

export async function run(args: string[]): Promise<number> {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return args.length === 0 ? 2 : 0;
  }
  const known = new Set(['--config', '--base-dir', '--out', '--list-lints', 'demo']);
  const unknown = args.filter((a, i) => a.startsWith('--') || i === 0 ? !known.has(a) : false);
  if (unknown.length > 0) {
    const hint = unknown[0].endsWith('.yaml') || unknown[0].endsWith('.yml') ? ` (did you mean --config ${unknown[0]}?)` : '';
    throw new CliError(`unknown option ${unknown.join(', ')}${hint}\n\n${usage}`, 2);
  }

  if (args.includes('--list-lints')) {
    for (const lint of [...certificateLints, ...crlLints]) console.log(`${lint.name.padEnd(44)} ${lint.citation.padEnd(40)} ${lint.description}`);
    return 0;
  }
  if (args[0] === 'demo') {
    const workDir = option(args, '--out') ?? join('data', 'ceremony-demo', new Date().toISOString().replace(/[:.]/g, '-'));
    const started = Date.now();
    const result = await runDemo({ workDir }).catch((err: Error) => {
      throw new CliError(err instanceof CeremonyError ? err.message : `demo failed: ${err.message}`);
    });
    console.log(`\nall ceremonies done in ${((Date.now() - started) / 1000).toFixed(1)} s; outputs and ceremony-record.log in ${result.workDir}\n`);
    console.log('OpenSSL checks (verify -x509_strict -check_ss_sig at 2021-01-15, crl -verify, req -verify):');
    for (const v of result.verifications) console.log(`  ${v.ok ? 'OK  ' : 'FAIL'} ${v.what}${v.ok ? '' : `\n${v.output}`}`);
    console.log('\nBytes on the wire (leaves carry no SCTs here; real ones add ~120 bytes per SCT to either kind):\n');
    console.log(formatSizeTable(result.rows, result.savings));
    return result.verifications.every((v) => v.ok) ? 0 : 1;
  }
  const config = option(args, '--config');
  if (!config) throw new CliError(`--config FILE.yaml is required\n\n${usage}`, 2);
  try {
    await runCeremony(config, { baseDir: option(args, '--base-dir') });
  } catch (err) {
    if (err instanceof CeremonyError) throw new CliError(err.message);
    throw err;
  }
  return 0;
}
