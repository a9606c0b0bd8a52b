// `cobble ca va-remote --config FILE`: a remote network perspective for multi-perspective issuance corroboration.
// It runs its own VA and answers the CA's validate/CAA calls over mutual TLS until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { ConfigError, loadVaRemoteConfigFile, startVaRemote } from '@cobble/ca';
import { CliError } from '../errors.js';

export const usage = `usage: cobble ca va-remote --config FILE

Runs a remote validation perspective (BR 3.2.2.9) with its own VA: the CA's va.perspectives.remotes
lists its URL, name and RIR. Serves POST /validate and POST /caa over HTTPS, and only to clients presenting a
certificate that chains to tls.ca. Prints the URL it listens on.`;

export async function runVaRemote(args: string[]): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.config) throw new CliError(`--config is required\n\n${usage}`, 2);
  const source = values.config;
  let running;
  try {
    running = await startVaRemote(await loadVaRemoteConfigFile(source), source);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new CliError(`${source}: cannot listen (${code}); set listen.host / listen.port`);
    throw err;
  }
  console.log(`Remote perspective ${running.name} (${running.rir}) listening on ${running.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return 0;
}
