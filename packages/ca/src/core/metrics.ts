// Prometheus metrics (prom-client): ACME requests and their latency, issuances, validations, revocations, CRL age, and
// Node's process metrics. One registry per process, as prom-client is built for: the components record through the
// one-line functions below, and `startMetricsServer` serves the registry on its own listener (loopback by default, as
// Boulder's debug address), never on the public plain-HTTP port. Under `cobble ca serve --workers N` the workers do
// not listen: the primary serves the sum of their registries (prom-client's cluster protocol over the IPC channel).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from './clock.js';

export const metricsRegistry = new Registry();

const httpRequests = new Counter({
  name: 'cobble_ca_http_requests_total',
  help: 'HTTP requests answered, by listener (acme: the ACME API; http: AIA, CRLs, OCSP, stats), route pattern, method and status code.',
  labelNames: ['listener', 'route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});

const httpDuration = new Histogram({
  name: 'cobble_ca_http_request_duration_seconds',
  help: 'Time from a request arriving to its response being sent, by listener, route pattern and method.',
  labelNames: ['listener', 'route', 'method'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

const issuances = new Counter({
  name: 'cobble_ca_issuances_total',
  help: 'Certificates issued (signed and stored), by profile and issuing intermediate.',
  labelNames: ['profile', 'issuer'] as const,
  registers: [metricsRegistry],
});

const validations = new Counter({
  name: 'cobble_ca_validations_total',
  help: 'Challenge validations finished, by challenge type and outcome ("valid", or the ACME error type that failed it).',
  labelNames: ['type', 'outcome'] as const,
  registers: [metricsRegistry],
});

const revocations = new Counter({
  name: 'cobble_ca_revocations_total',
  help: 'Certificates revoked, by RFC 5280 reason code.',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

/** thisUpdate (ms) and the clock to measure against, by issuer and shard. */
const crlGenerated = new Map<string, { issuer: string; shard: string; thisUpdate: number; clock: Clock }>();

// Age at scrape time, so an updater that has stopped shows a growing number rather than a frozen one.
new Gauge({
  name: 'cobble_ca_crl_age_seconds',
  help: 'Seconds since the thisUpdate of the last CRL generated, by issuer and shard.',
  labelNames: ['issuer', 'shard'] as const,
  registers: [metricsRegistry],
  // Across --workers processes the oldest CRL is the one to alert on, not a sum of ages.
  aggregator: 'max',
  collect() {
    this.reset();
    for (const { issuer, shard, thisUpdate, clock } of crlGenerated.values()) this.set({ issuer, shard }, (clock.now() - thisUpdate) / 1000);
  },
});

const RFC5280_REASONS: Record<number, string> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
};

/** One answered ACME request; `route` is the route pattern (bounded cardinality), not the URL. */
export function observeHttpRequest(route: string, method: string, status: number, seconds: number): void {
  httpRequests.inc({ listener: 'acme', route, method, status: String(status) });
  httpDuration.observe({ listener: 'acme', route, method }, seconds);
}

/**
 * A request on the plain-HTTP listener, recorded when its response is finished. The route is the path's first segment
 * (`/crl/*`, `/stats.json`) only for answers below 400: those paths exist, so a client probing made-up URLs cannot
 * create series; every refused request counts under `rejected`.
 */
export function observePlainHttp(request: IncomingMessage, response: ServerResponse): void {
  const started = process.hrtime.bigint();
  response.once('finish', () => {
    const path = (request.url ?? '/').split('?')[0]!;
    const route = response.statusCode < 400 ? path.replace(/^(\/[^/]*)(\/.*)?$/, (_, first: string, rest?: string) => first + (rest ? '/*' : '')) : 'rejected';
    const method = request.method ?? 'GET';
    httpRequests.inc({ listener: 'http', route, method, status: String(response.statusCode) });
    httpDuration.observe({ listener: 'http', route, method }, Number(process.hrtime.bigint() - started) / 1e9);
  });
}

export function observeIssuance(profile: string, issuer: string): void {
  issuances.inc({ profile, issuer });
}

/** `outcome`: "valid", or the failing problem type (urn:ietf:params:acme:error: prefix dropped). */
export function observeValidation(type: string, outcome: string): void {
  validations.inc({ type, outcome: outcome.replace(/^urn:ietf:params:acme:error:/, '') });
}

export function observeRevocation(reason: number): void {
  revocations.inc({ reason: RFC5280_REASONS[reason] ?? String(reason) });
}

/** The CRL updater calls this for every CRL it signs; `/metrics` then reports its age. */
export function recordCrlGenerated(issuer: string, shard: number | string, thisUpdate: Date | number, clock: Clock = systemClock): void {
  const shardLabel = String(shard);
  crlGenerated.set(`${issuer}\u0000${shardLabel}`, { issuer, shard: shardLabel, thisUpdate: typeof thisUpdate === 'number' ? thisUpdate : thisUpdate.getTime(), clock });
}

let defaultMetrics = false;
function startDefaultMetrics(): void {
  if (defaultMetrics) return;
  collectDefaultMetrics({ register: metricsRegistry });
  defaultMetrics = true;
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` on host:port (0 = a free port) until `close()`. */
export function startMetricsServer(host: string, port: number): Promise<MetricsServer> {
  startDefaultMetrics();
  return serve(host, port, () => metricsRegistry.metrics());
}

let answeringPrimary = false;
/** In a `--workers` process: the primary asks for this registry over IPC instead of scraping a listener. */
export function answerMetricsToPrimary(): undefined {
  startDefaultMetrics();
  if (answeringPrimary) return undefined;
  answeringPrimary = true;
  // Constructing an AggregatorRegistry installs prom-client's IPC listener in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metricsRegistry]);
  return undefined;
}

/** In the `--workers` primary: `GET /metrics` answers the workers' registries summed (counters, histograms). */
export function startClusterMetricsServer(host: string, port: number): Promise<MetricsServer> {
  const aggregator = new AggregatorRegistry();
  return serve(host, port, () => aggregator.clusterMetrics());
}

async function serve(host: string, port: number, collect: () => Promise<string>): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if ((request.url ?? '').split('?')[0] !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found; try GET /metrics\n');
      return;
    }
    collect().then(
      (text) => response.writeHead(200, { 'Content-Type': metricsRegistry.contentType }).end(request.method === 'GET' ? text : undefined),
      (err: unknown) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
    );
  });
  server.listen(port, host);
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    port: bound,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
