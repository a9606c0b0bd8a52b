// `npm run ceremony:demo [-- --out DIR]`: the whole 2020 ceremony on fresh SoftHSM2 tokens, then the
// bytes-on-the-wire table. Outputs stay in ./data/ceremony-demo/<time>/ (or DIR) for inspection.
import { join } from 'node:path';
import { formatSizeTable, runDemo } from '@cobble/ceremony';

const outIndex = process.argv.indexOf('--out');
const workDir = outIndex > 0 ? process.argv[outIndex + 1] : join('data', 'ceremony-demo', new Date().toISOString().replace(/[:.]/g, '-'));
const started = Date.now();
const result = await runDemo({ workDir });
console.log(`\nall ceremonies done in ${((Date.now() - started) / 1000).toFixed(1)} s; outputs and ceremony-record.log in ${result.workDir}\n`);
console.log('OpenSSL checks (openssl verify -x509_strict -check_ss_sig, openssl crl -verify, openssl req -verify):');
for (const v of result.verifications) console.log(`  ${v.ok ? 'OK  ' : 'FAIL'} ${v.what}${v.ok ? '' : `\n${v.output}`}`);
console.log('\nBytes on the wire (leaves carry no SCTs here; real ones add ~120 bytes per SCT to either kind):\n');
console.log(formatSizeTable(result.rows, result.savings));
process.exitCode = result.verifications.every((v) => v.ok) ? 0 : 1;
