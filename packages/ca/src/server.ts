// Wires the components into one running CA: storage, hierarchy, VA, RA, the HTTPS ACME front end and the plain-HTTP
// listener for the AIA issuer URLs that leaves name.
import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { resolve, join } from 'node:path';
import pino from 'pino';
import { type CaConfigInput, parseCaConfig } from './config/index.js';
import { configuredHierarchy, issueServerTlsCertificate, loadOrCreateHierarchy } from './issuer/index.js';
import { RegistrationAuthority, type Validator } from './ra/index.js';
import { StorageAuthority } from './sa/index.js';
import { ValidationAuthority } from './va/index.js';
import { buildWfe } from './wfe/index.js';
import { CrlPublisher } from './crl/index.js';

export interface RunningCa {
  directoryUrl: string;
  /** PEM the client must trust for the ACME server's HTTPS. */
  trustBundlePath: string;
  /** The issuing roots, to verify leaves. */
  rootsPem: { ecdsa: string; rsa: string };
  port: number;
  /** Port of the plain-HTTP listener serving AIA issuer certificates. */
  httpPort: number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Replaces the VA (tests that need a validator other than the network one). */
  validator?: Validator;
}

export async function startCa(input: CaConfigInput = {}, options: StartOptions = {}): Promise<RunningCa> {
  const config = parseCaConfig(input, 'startCa config');
  const dataDir = resolve(config.dataDir);
  const logger = pino({ level: config.log.level, base: { component: 'ca' } });
  const development = await loadOrCreateHierarchy(dataDir);
  // Configured issuers (keys on a PKCS#11 token) replace the development issuing chains; checked before anything listens.
  const configured = config.issuer ? await configuredHierarchy(development, config.issuer, config.issuance.validityDays) : undefined;
  const hierarchy = configured?.hierarchy ?? development;
  let sa: StorageAuthority;
  try {
    // Accounts are cached in memory unless several worker processes write the same database.
    sa = await StorageAuthority.openSqlite(join(dataDir, 'ca.sqlite3'), { cacheAccounts: !cluster.isWorker });
  } catch (err) {
    configured?.close();
    throw err;
  }
  const va = new ValidationAuthority({
    httpPort: config.va.httpPort,
    tlsPort: config.va.tlsPort,
    dnsServer: config.va.dnsServer,
    timeoutMs: config.va.timeoutMs,
  });

  // AIA issuer certificates and CRLs over plain HTTP, as the BRs require for caIssuers and CRL distribution points.
  const crls = new CrlPublisher(sa);
  let urlBase = '';
  const aiaServer: Server = createServer((request, response) => {
    const match = /^\/(aia|crl)\/(ecdsa|rsa)\.(der|crl)$/.exec(request.url ?? '');
    const chain = match ? (match[2] === 'rsa' ? hierarchy.rsa : hierarchy.ecdsa) : undefined;
    if (!match || !chain || (request.method !== 'GET' && request.method !== 'HEAD') || (match[1] === 'aia') !== (match[3] === 'der')) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const send = (der: Buffer, type: string) =>
      response.writeHead(200, { 'Content-Type': type, 'Content-Length': der.length }).end(request.method === 'GET' ? der : undefined);
    if (match[1] === 'aia') {
      send(Buffer.from(chain.intermediate.cert.rawData), 'application/pkix-cert');
      return;
    }
    crls.crlFor(chain, `${urlBase}/crl/${chain.name}.crl`).then(
      (der) => send(der, 'application/pkix-crl'),
      (err: unknown) => {
        logger.error({ err }, 'CRL generation failed');
        response.writeHead(500, { 'Content-Type': 'text/plain' }).end('CRL generation failed\n');
      },
    );
  });
  aiaServer.listen(config.listen.httpPort, config.listen.host);
  await once(aiaServer, 'listening');
  const httpPort = (aiaServer.address() as AddressInfo).port;
  const hostForUrl = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  urlBase = (config.issuance.urlBase ?? `http://${hostForUrl}:${httpPort}`).replace(/\/$/, '');

  const ra = new RegistrationAuthority(sa, options.validator ?? va, hierarchy, {
    orderLifetimeMs: config.acme.orderLifetimeHours * 3_600_000,
    authorizationLifetimeMs: config.acme.authorizationLifetimeHours * 3_600_000,
    validityDays: config.issuance.validityDays,
    maxNames: config.acme.maxNames,
    challengeWaitMs: config.acme.challengeWaitMs,
    urlBase: () => urlBase,
  });
  const tls = await issueServerTlsCertificate(hierarchy.serverTlsRoot, config.listen.host);
  const app = buildWfe({
    ra,
    https: { key: tls.keyPem, cert: tls.certPem },
    logger,
    meta: {
      termsOfService: config.acme.termsOfService,
      website: config.acme.website,
      caaIdentities: config.acme.caaIdentities,
    },
    externalAccountBinding: config.acme.externalAccountBinding,
  });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    aiaServer.close();
    await sa.close();
    configured?.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    directoryUrl: `https://${hostForUrl}:${port}/directory`,
    trustBundlePath: hierarchy.trustBundlePath,
    rootsPem: hierarchy.rootsPem,
    port,
    httpPort,
    close: () =>
      (closed ??= (async () => {
        await app.close();
        aiaServer.closeAllConnections();
        aiaServer.close();
        await ra.close();
        await va.close?.();
        await sa.close();
        configured?.close();
      })()),
  };
}
