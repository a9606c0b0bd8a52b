// `cobble up` (what `npm start` runs): the whole stack on loopback with embedded SQLite under ./data — the ACME CA and
// a DAP leader + helper with a demo task — until SIGINT/SIGTERM.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCa, type RunningCa } from '@cobble/ca';
import { startDapDemo, type DapDemo } from '@cobble/dap';
import { CliError } from '../errors.js';

export const summary = 'run the whole stack on loopback (ACME CA, DAP leader + helper): `cobble up [--data-dir DIR]`';

const usage = `usage: cobble up [--data-dir DIR] [--any-ports]

Starts on 127.0.0.1, with embedded SQLite under DIR (default ./data):
  ACME CA        https://127.0.0.1:14000/directory  (AIA/CRL over http on :14002)
  DAP leader     http://127.0.0.1:14100
  DAP helper     http://127.0.0.1:14101
--any-ports takes free ports instead (for tests and side-by-side runs); the URLs printed are the ones in use.`;

export async function run(args: string[]): Promise<number> {
  let values: { 'data-dir'?: string; 'any-ports'?: boolean; help?: boolean };
  try {
    const options = { 'data-dir': { type: 'string' }, 'any-ports': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
    ({ values } = parseArgs({ args, options, strict: true }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const dataDir = values['data-dir'] ?? 'data';
  const port = (documentedDefault: number) => (values['any-ports'] ? 0 : documentedDefault);
  let ca: RunningCa | undefined;
  let dap: DapDemo | undefined;
  try {
    ca = await startCa({ dataDir, listen: { host: '127.0.0.1', port: port(14000), httpPort: port(14002) } });
    dap = await startDapDemo({ dataDir: join(dataDir, 'dap'), leaderPort: port(14100), helperPort: port(14101), cli: 'npm run cobble --' });
  } catch (err) {
    await dap?.close();
    await ca?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`a port cobble needs is taken (${(err as Error).message}); stop the other process or use \`cobble ca serve --config FILE\` with other ports`);
    throw err;
  }
  console.log(
    [
      'cobble is up (Ctrl-C stops it)',
      '',
      `ACME directory      ${ca.directoryUrl}`,
      `Trust for its HTTPS ${ca.trustBundlePath}`,
      `  e.g. REQUESTS_CA_BUNDLE=${ca.trustBundlePath} certbot certonly --server ${ca.directoryUrl} ...  (see README)`,
      '',
      dap.printInstructions(),
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dap.close();
  await ca.close();
  return 0;
}
