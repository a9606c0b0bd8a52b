// Wires the components into one running CA: storage, hierarchy, VA, RA, the HTTPS ACME front end and the plain-HTTP
// listener for the AIA issuer URLs that leaves name.
import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import pino from 'pino';
import { type CaConfigInput, parseCaConfig } from './config/index.js';
import { configuredHierarchy, issuerPaths, issueServerTlsCertificate, loadOrCreateHierarchy, rootsPemOf, type IssuerChain } from './issuer/index.js';
import { Profiles, RegistrationAuthority } from './ra/index.js';
import { RateLimiter } from './ra/ratelimits/index.js';
import { ProcessingSweeper, StorageAuthority, dialectOf, redactDatabaseUrl, resolveDatabaseUrl } from './sa/index.js';
import { ValidationAuthority, type Validator } from './va/index.js';
import { buildWfe } from './wfe/index.js';
import { openNonceStore } from './wfe/nonces.js';
import { CrlUpdater, crlUrl, serveCrl, shardOf } from './crl/index.js';
import { CrlStore } from './sa/crl.js';
import { OcspResponder, ocspUrl, serveOcsp } from './ocsp/index.js';
import { corroboratingValidator } from './config/perspectives.js';
import { systemClock, type Clock } from './core/clock.js';
import { startTestMode, type TestMode } from './testmode/index.js';
import { startManagementApi, type CertificateStore } from './testmode/management.js';
import { IncidentStore } from './sa/incidents.js';
import { Faults, FaultyValidator } from './testmode/faults.js';
import { StatsService } from './stats/index.js';
import { StatsStore } from './sa/stats.js';
import { answerMetricsToPrimary, observePlainHttp, startMetricsServer } from './core/metrics.js';

export interface RunningCa {
  directoryUrl: string;
  /** PEM the client must trust for the ACME server's HTTPS. */
  trustBundlePath: string;
  /** The root of each issuer's default chain, by issuer name, to verify leaves. */
  rootsPem: Record<string, string>;
  port: number;
  /** Port of the plain-HTTP listener serving AIA issuer certificates. */
  httpPort: number;
  /** `http://host:port/metrics` for Prometheus, when `metrics.port` is set. */
  metricsUrl?: string;
  /**
   * With `testMode.enabled`: the DNS server's records and addresses, the ports the VA fetches challenges from, and
   * the management API's URL.
   */
  testMode?: Omit<TestMode, 'close'> & { managementUrl: string; faults: Faults };
  close(): Promise<void>;
}

export interface StartOptions {
  /** Replaces the VA (tests that need a validator other than the network one). */
  validator?: Validator;
  /** Time for every decision (CAA recheck windows, rate limits, validity); tests move it. */
  clock?: Clock;
}

export async function startCa(input: CaConfigInput = {}, options: StartOptions = {}): Promise<RunningCa> {
  const source = 'startCa config';
  const config = parseCaConfig(input, source);
  const clock = options.clock ?? systemClock;
  const dataDir = resolve(config.dataDir);
  const logger = pino({ level: config.log.level, base: { component: 'ca' } });
  const profiles = new Profiles(config.profiles);
  profiles.checkAgainstBaselineRequirements(clock.now(), source);
  const development = await loadOrCreateHierarchy(dataDir, clock);
  // Configured issuers (keys on a PKCS#11 token) replace the development issuing chains; checked before anything listens.
  const configured = config.issuers ? await configuredHierarchy(development, config.issuers, profiles.longestValidity(), clock.now()) : undefined;
  const hierarchy = configured?.hierarchy ?? development;
  // What is open so far, closed in reverse order by close() and when a later step fails: a caller whose startCa throws
  // (a test, startTestCa) must not be left with an open database, token session, DNS server or listener.
  const opened: Array<() => unknown> = [() => configured?.close()];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  const undo = async (err: unknown): Promise<never> => {
    await closeOpened();
    throw err;
  };
  // Accounts are cached in memory unless the configuration says several front ends share the database (the default
  // for a client-server database).
  const databaseUrl = resolveDatabaseUrl(config.database.url, dataDir);
  const sa = await StorageAuthority.open(databaseUrl, {
    cacheAccounts: config.cache.accounts ?? dialectOf(databaseUrl) === 'sqlite',
    readReplicaUrl: config.database.readReplicaUrl,
    poolSize: config.database.poolSize,
    onConnectionError: (err) => logger.warn({ err, database: redactDatabaseUrl(databaseUrl) }, 'an idle database connection broke; the pool replaces it'),
  }).catch(undo);
  opened.push(() => sa.close());
  const sweeper = new ProcessingSweeper(sa, clock, {
    timeoutMs: config.database.processingTimeout,
    intervalMs: config.database.sweepInterval,
    onSwept: (result) => logger.warn(result, 'orders and challenges stuck in processing were swept'),
    onError: (err) => logger.error({ err }, 'sweeping orders and challenges stuck in processing failed'),
  });
  sweeper.start();
  opened.push(() => sweeper.close());
  let urlBase = '';
  // Signs the CRL shards on a schedule and after revocations; told of revocations by the RA and the management API.
  const crlUpdater = new CrlUpdater({ store: new CrlStore(sa.db), issuers: hierarchy.issuers, clock, config: config.crl, urlBase: () => urlBase, logger });
  opened.push(() => crlUpdater.close());
  // Ports the configuration leaves out get test mode's defaults, so the input as written decides.
  const testMode: TestMode | undefined = config.testMode.enabled ? await startTestMode(config.testMode, input.va ?? {}).catch(undo) : undefined;
  opened.push(() => testMode?.close());
  const faults = testMode && new Faults(config.testMode.faults);
  const management = testMode && faults
    ? await startManagementApi({ records: testMode.records, certificates: revocationsTo(sa, crlUpdater), issuers: hierarchy.issuers, clock, faults, renewalWindows: new IncidentStore(sa.db) }, config.testMode.managementPort).catch(undo)
    : undefined;
  opened.push(() => management?.close());
  const va = new ValidationAuthority({
    httpPort: testMode?.http01Port ?? config.va.httpPort,
    tlsPort: testMode?.tlsAlpn01Port ?? config.va.tlsPort,
    dnsServer: testMode?.dnsServer ?? config.va.dnsServer,
    timeoutMs: config.va.timeoutMs,
    caaIdentities: config.caa.identities,
  });
  opened.push(() => va.close());
  const validator = options.validator ?? (config.va.perspectives
    ? await corroboratingValidator(va, config.va.perspectives, { source, onSummary: (summary) => logger.info({ mpic: summary }, 'multi-perspective corroboration') }).catch(undo)
    : va);
  const limiter = new RateLimiter(config.rateLimits, {
    clock,
    // Boulder's policy: a rate-limit store that is down lets requests through rather than stopping issuance.
    onStoreError: (err) => logger.warn({ err }, 'rate-limit store failed; the request was allowed'),
  });
  opened.push(() => limiter.close());
  const nonces = await openNonceStore(config.nonces, { clock, onError: (err) => logger.error({ err }, 'nonce store failed') });
  opened.push(() => nonces.close());

  const stats = config.stats.enabled
    ? new StatsService(new StatsStore(sa.db), clock, { snapshotIntervalMs: config.stats.snapshotInterval, cacheTtlMs: config.stats.cacheTtl, days: config.stats.days }, logger)
    : undefined;
  stats?.start();
  opened.push(() => stats?.close());
  // A `--workers` process does not listen: the primary serves the sum of the workers' registries on metrics.port.
  const metrics = config.metrics.port === undefined ? undefined
    : cluster.isWorker ? answerMetricsToPrimary()
    : await startMetricsServer(config.metrics.host, config.metrics.port).catch(undo);
  opened.push(() => metrics?.close());

  // AIA issuer certificates, CRL shards and (when enabled) OCSP over plain HTTP, as the BRs require for caIssuers and
  // CRL distribution points. The CRL and OCSP components route their own paths; AIA paths by exact lookup.
  const aiaRoutes = new Map<string, IssuerChain>(hierarchy.issuers.map((chain) => [issuerPaths(chain.name).aia, chain]));
  const ocsp = config.ocsp.enabled
    ? await OcspResponder.start({ issuers: hierarchy.issuers, dataDir, certificates: sa, clock, config: config.ocsp, logger }).catch(undo)
    : undefined;
  const aiaServer: Server = createServer((request, response) => {
    observePlainHttp(request, response);
    if (stats?.handle(request, response)) return;
    if (serveCrl(crlUpdater, logger, request, response)) return;
    if (ocsp && serveOcsp(ocsp, logger, request, response)) return;
    const chain = aiaRoutes.get(request.url ?? '');
    if (!chain || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const der = Buffer.from(chain.intermediate.cert.rawData);
    response.writeHead(200, { 'Content-Type': 'application/pkix-cert', 'Content-Length': der.length }).end(request.method === 'GET' ? der : undefined);
  });
  aiaServer.listen(config.listen.httpPort, config.listen.host);
  await once(aiaServer, 'listening').catch(undo);
  opened.push(() => {
    aiaServer.closeAllConnections();
    aiaServer.close();
  });
  const httpPort = (aiaServer.address() as AddressInfo).port;
  const hostForUrl = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  urlBase = (config.issuance.urlBase ?? `http://${hostForUrl}:${httpPort}`).replace(/\/$/, '');
  crlUpdater.start();

  const ra = new RegistrationAuthority({
    sa,
    va: faults ? new FaultyValidator(validator, faults) : validator,
    hierarchy,
    profiles,
    limiter,
    clock,
    logger,
    settings: {
      challengeWaitMs: config.acme.challengeWaitMs,
      caaRecheckAfterMs: config.caa.recheckAfter,
      blockedNames: config.policy.blockedNames,
      blockedSuffixes: config.policy.blockedSuffixes,
      allowSpecialPurposeIps: config.policy.allowSpecialPurposeIps || testMode !== undefined,
      reuseAuthorization: faults && (() => faults.reuseAuthorization()),
      leafUrls: (issuerName, serial) => {
        const crlShard = shardOf(serial, config.crl.shards);
        return { urlBase, crlShard, crlUrl: crlUrl(urlBase, issuerName, crlShard), ocspUrl: ocsp && ocspUrl(urlBase) };
      },
      onRevoked: (record) => crlUpdater.revoked(record.issuerName, record.crlShard),
    },
  });
  // The server's own HTTPS certificate lives in real time whatever clock issuance decisions use.
  const tls = await issueServerTlsCertificate(hierarchy.serverTlsRoot, config.listen.host).catch(undo);
  const app = buildWfe({
    ra,
    https: { key: tls.keyPem, cert: tls.certPem },
    logger,
    meta: {
      termsOfService: config.acme.termsOfService,
      website: config.acme.website,
      caaIdentities: config.caa.identities,
      profiles: profiles.directoryMeta(),
    },
    externalAccountBinding: config.acme.externalAccountBinding,
    nonces,
    faults,
  });
  await app.listen({ host: config.listen.host, port: config.listen.port }).catch(undo);
  const port = (app.server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    directoryUrl: `https://${hostForUrl}:${port}/directory`,
    trustBundlePath: hierarchy.trustBundlePath,
    rootsPem: rootsPemOf(hierarchy),
    port,
    httpPort,
    metricsUrl: metrics?.url,
    testMode: testMode && management && faults && { ...testMode, managementUrl: management.url, faults },
    close: () =>
      (closed ??= (async () => {
        await app.close();
        // Validations in flight finish before what they use is closed.
        await ra.close();
        if (validator !== va) await validator.close?.();
        await closeOpened();
      })()),
  };
}

/** The management API revokes through the SA; the CRL updater hears of it as it does of ACME revocations. */
function revocationsTo(sa: StorageAuthority, crls: CrlUpdater): CertificateStore {
  return {
    getCertificateBySerial: (serial) => sa.getCertificateBySerial(serial),
    async revokeCertificate(serial, reason, at) {
      const revoked = await sa.revokeCertificate(serial, reason, at);
      const record = revoked ? await sa.getCertificateBySerial(serial) : undefined;
      if (record) crls.revoked(record.issuerName, record.crlShard);
      return revoked;
    },
  };
}
