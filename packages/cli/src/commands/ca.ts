// `cobble ca serve [--config FILE]`: runs the ACME CA until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { ConfigError, loadCaConfigFile, parseCaConfig, startCa, type CaConfig } from '@cobble/ca';
import { CliError } from '../errors.js';

export const summary = 'ACME certificate authority: `cobble ca serve [--config FILE]`';

const usage = `usage: cobble ca serve [--config FILE]

Starts the ACME CA (RFC 8555) over HTTPS. Without --config: 127.0.0.1:14000, data in ./data.
Prints the ACME directory URL and the PEM file a client must trust for the server's HTTPS.`;

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(usage);
    return sub ? 0 : 2;
  }
  if (sub !== 'serve') throw new CliError(`unknown subcommand '${sub}'\n\n${usage}`, 2);
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  let config: CaConfig;
  try {
    config = values.config ? await loadCaConfigFile(values.config) : parseCaConfig({}, 'defaults');
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  let ca;
  try {
    ca = await startCa(config);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new CliError(`cannot listen on ${config.listen.host}:${config.listen.port} or :${config.listen.httpPort} (${code}); set listen.port / listen.httpPort in the config`);
    }
    throw err;
  }
  console.log(`ACME directory: ${ca.directoryUrl}`);
  console.log(`Trust bundle (server TLS root, PEM): ${ca.trustBundlePath}`);
  console.log(`Issuing roots: ${config.dataDir}/issuer/root-ecdsa.pem, ${config.dataDir}/issuer/root-rsa.pem`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await ca.close();
  return 0;
}
