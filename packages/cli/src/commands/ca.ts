// `cobble ca serve [--config FILE] [--workers N]`: runs the ACME CA until SIGINT/SIGTERM.
// `cobble ca va-remote --config FILE`: a remote validation perspective (./va-remote.ts).
import cluster, { type Worker } from 'node:cluster';
import { parseArgs } from 'node:util';
import { ConfigError, freePort, parseCaConfig, prepareDataDir, readCaConfigFile, startCa, startClusterMetricsServer, type CaConfig, type CaConfigInput, type RunningCa } from '@cobble/ca';
import { CliError } from '../errors.js';
import { runAdmin, usage as adminUsage } from './ca-admin.js';
import { runVaRemote, usage as vaRemoteUsage } from './va-remote.js';

export const summary = 'ACME certificate authority: `cobble ca serve [--config FILE] [--workers N] [--test]`, `cobble ca va-remote --config FILE`, `cobble ca admin …` (revoke, block-key, pause, incident)';

const usage = `usage: cobble ca serve [--config FILE] [--workers N] [--test]

Starts the ACME CA (RFC 8555) over HTTPS. Without --config: 127.0.0.1:14000, data in ./data.
Prints the ACME directory URL and the PEM file a client must trust for the server's HTTPS.
--workers N runs N processes on the same port and database (default 1), without the account cache (cache.accounts).
Nonces are per process unless nonces.store names a Redis, so a client that moves between connections may see an
occasional badNonce, which ACME clients retry.
--test turns on test mode (config testMode.enabled), for testing ACME clients on this machine: a DNS server on
127.0.0.1 where every name is this host, challenges fetched from ports 5002 (http-01) and 5001 (tls-alpn-01) unless
va.httpPort / va.tlsPort say otherwise, and an endpoint lego's httpreq DNS provider sets TXT records through.

${vaRemoteUsage}

${adminUsage}`;

const WORKER_CONFIG_ENV = 'COBBLE_CA_WORKER_CONFIG';
/** Replacements of crashed workers allowed within a minute before the primary gives up. */
const MAX_RESTARTS = 5;

interface ReadyMessage {
  type: 'cobble-ca-ready';
  directoryUrl: string;
  trustBundlePath: string;
}

function waitForSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}


/** Startup problems an operator fixes in the config (issuer token, PIN, key, chains) become CLI errors. */
function configProblem(err: unknown, source: string): unknown {
  return err instanceof ConfigError ? new CliError(`${source}: ${err.message}`) : err;
}

async function start(input: CaConfigInput, config: CaConfig, source: string): Promise<RunningCa> {
  try {
    return await startCa(input);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw listenProblem(err as ListenError, config, source);
    throw configProblem(err, source);
  }
}

type ListenError = NodeJS.ErrnoException & { address?: string; port?: number };

/** Names the address that failed (net and dgram errors carry it) and the config key that sets its port. */
function listenProblem(err: ListenError, config: CaConfig, source: string): CliError {
  const portKeys: [string, number][] = [
    ['listen.port', config.listen.port],
    ['listen.httpPort', config.listen.httpPort],
    ['testMode.dnsPort', config.testMode.dnsPort],
    ['testMode.httpreqPort', config.testMode.httpreqPort],
    ['testMode.managementPort', config.testMode.managementPort],
    ['metrics.port', config.metrics.port ?? 0],
  ];
  const keys = portKeys.filter(([, port]) => port !== 0 && port === err.port).map(([key]) => key);
  const why = err.code === 'EADDRINUSE' ? 'the port is taken (is another cobble running?)' : 'permission denied';
  const where = source === 'defaults' ? 'a config file passed with --config FILE' : source;
  const fix = `set ${keys.length ? keys.join(' and ') : 'the port'} to another port (0 takes a free one) in ${where}`;
  return new CliError(`cannot listen on ${err.address ?? config.listen.host}:${err.port ?? '?'}: ${why}; ${fix}`);
}

function printReady(ready: { directoryUrl: string; trustBundlePath: string }, config: CaConfig): void {
  console.log(`ACME directory: ${ready.directoryUrl}`);
  console.log(`Trust bundle (server TLS root, PEM): ${ready.trustBundlePath}`);
  const roots = config.issuers
    ? [...new Set(config.issuers.flatMap((i) => [i.defaultChain, ...i.alternateChains].map((c) => c.root)))]
    : [`${config.dataDir}/issuer/root-ecdsa.pem`, `${config.dataDir}/issuer/root-rsa.pem`];
  console.log(`Issuing roots: ${roots.join(', ')}`);
}

/** A worker process: serves with the configuration the primary resolved, reports readiness, stops on SIGTERM. */
async function runWorker(input: CaConfigInput): Promise<number> {
  const ca = await startCa(input);
  process.send?.({ type: 'cobble-ca-ready', directoryUrl: ca.directoryUrl, trustBundlePath: ca.trustBundlePath } satisfies ReadyMessage);
  await waitForSignal();
  await ca.close();
  // The IPC channel to the primary would keep this process alive.
  cluster.worker?.disconnect();
  return 0;
}

async function runPrimary(input: CaConfigInput, config: CaConfig, workers: number, source: string): Promise<number> {
  // Concrete ports, so every worker listens on the same ones (cluster shares the listening sockets).
  const resolved: CaConfigInput = {
    ...input,
    // One process's cached account would outlive a change made by another (deactivation, key change).
    cache: { ...input.cache, accounts: false },
    listen: {
      ...input.listen,
      port: config.listen.port || (await freePort(config.listen.host)),
      httpPort: config.listen.httpPort || (await freePort(config.listen.host)),
    },
  };
  try {
    await prepareDataDir(resolved);
  } catch (err) {
    throw configProblem(err, source);
  }
  const env = { [WORKER_CONFIG_ENV]: JSON.stringify(resolved) };
  let stopping = false;
  const children = new Set<Worker>();
  let restarts: number[] = [];
  let giveUp: (reason: CliError) => void = () => {};
  const gaveUp = new Promise<CliError>((resolve) => (giveUp = resolve));
  const stopAll = () =>
    Promise.all([...children].map((worker) => new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      worker.kill('SIGTERM');
    })));
  // A worker that was serving and exits is replaced, at most MAX_RESTARTS times a minute. A worker that exits before
  // it is ready is not: at startup that fails the command (the others are stopped), later it is reported.
  const fork = () =>
    new Promise<ReadyMessage>((resolve, reject) => {
      const worker = cluster.fork(env);
      children.add(worker);
      let ready = false;
      worker.on('message', (message: ReadyMessage) => {
        if (message?.type !== 'cobble-ca-ready') return;
        ready = true;
        resolve(message);
      });
      worker.once('exit', (code) => {
        children.delete(worker);
        if (!ready) {
          reject(new CliError(`a CA worker exited with code ${code} before it was ready`));
          return;
        }
        if (stopping) return;
        const now = Date.now();
        restarts = [...restarts.filter((at) => now - at < 60_000), now];
        if (restarts.length > MAX_RESTARTS) {
          giveUp(new CliError(`CA workers exited ${restarts.length} times within a minute; stopping (see the errors above)`));
          return;
        }
        console.error(`cobble ca: worker ${worker.process.pid} exited (code ${code}); starting a new one`);
        fork().catch((err: Error) => {
          console.error(`cobble ca: ${err.message}`);
          if (children.size === 0) giveUp(new CliError('no CA worker is left running'));
        });
      });
    });
  let ready: ReadyMessage[];
  try {
    ready = await Promise.all(Array.from({ length: workers }, fork));
  } catch (err) {
    stopping = true;
    await stopAll();
    throw err;
  }
  // The workers answer over IPC; here /metrics serves the sum of their registries.
  const metrics = config.metrics.port === undefined ? undefined
    : await startClusterMetricsServer(config.metrics.host, config.metrics.port).catch(async (err: ListenError) => {
      stopping = true;
      await stopAll();
      throw err.code === 'EADDRINUSE' || err.code === 'EACCES' ? listenProblem(err, config, source) : err;
    });
  printReady(ready[0]!, config);
  const outcome = await Promise.race([waitForSignal().then(() => undefined), gaveUp]);
  stopping = true;
  await metrics?.close();
  await stopAll();
  if (outcome) throw outcome;
  return 0;
}

export async function run(args: string[]): Promise<number> {
  if (cluster.isWorker && process.env[WORKER_CONFIG_ENV]) {
    return runWorker(JSON.parse(process.env[WORKER_CONFIG_ENV]) as CaConfigInput);
  }
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(usage);
    return sub ? 0 : 2;
  }
  if (sub === 'va-remote') return runVaRemote(rest);
  if (sub === 'admin') return runAdmin(rest);
  if (sub !== 'serve') throw new CliError(`unknown subcommand '${sub}'\n\n${usage}`, 2);
  let values: { config?: string; workers?: string; test?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { config: { type: 'string', short: 'c' }, workers: { type: 'string' }, test: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const workers = values.workers === undefined ? 1 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new CliError(`--workers: expected a whole number from 1 to 64, got ${JSON.stringify(values.workers)}`, 2);
  }
  let input: CaConfigInput;
  let config: CaConfig;
  try {
    ({ input, config } = values.config ? await readCaConfigFile(values.config) : { input: {}, config: parseCaConfig({}, 'defaults') });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const source = values.config ?? 'defaults';
  if (values.test) input = { ...input, testMode: { ...input.testMode, enabled: true } };
  // Each worker would run its own DNS server and record store, and the VA of one would not see the records of another.
  if (workers > 1 && (values.test || config.testMode.enabled)) throw new CliError('test mode runs in one process: leave out --workers', 2);
  if (workers > 1 && input.cache?.accounts === true) {
    throw new CliError(`${source}: cache.accounts: true cannot be used with --workers ${workers} (each process would serve accounts another has changed); remove it or set it to false`, 2);
  }
  if (workers > 1) return runPrimary(input, config, workers, source);
  const ca = await start(input, config, source);
  printReady(ca, config);
  if (ca.testMode) {
    const { dnsServer, httpreqEndpoint, http01Port, tlsAlpn01Port, managementUrl } = ca.testMode;
    console.log(`Test mode: DNS ${dnsServer} (every name is 127.0.0.1 / ::1); challenges fetched from :${http01Port} (http-01), :${tlsAlpn01Port} (tls-alpn-01); lego httpreq endpoint ${httpreqEndpoint}; management API ${managementUrl}`);
  }
  await waitForSignal();
  await ca.close();
  return 0;
}
