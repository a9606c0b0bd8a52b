// The public stats page (Let's Encrypt's letsencrypt.org/stats): active certificates, fully-qualified names served,
// registered domains and issuance per day, over time. A job snapshots the figures of the current UTC day on an interval
// (the only place that counts over certificates); `/stats.json` and `/stats` read the snapshot rows, cached for a
// minute, and are served on the plain-HTTP port next to the AIA and CRL URLs.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { utcDay, type DailyStats, type StatsStore } from '../sa/stats.js';
import { statsPage } from './page.js';

const DAY_MS = 86_400_000;

export const statsPaths = { page: '/stats', json: '/stats.json', chartJs: '/stats/chart.umd.min.js' } as const;

export interface StatsSettings {
  /** How often the current day's figures are recomputed. */
  snapshotIntervalMs: number;
  /** How long a rendered `/stats.json` and page are served from memory. */
  cacheTtlMs: number;
  /** How many days the charts go back. */
  days: number;
}

/** What `/stats.json` answers. */
export interface StatsDocument {
  /** When the headline figures were counted (RFC 3339), or null before the first snapshot. */
  computedAt: string | null;
  activeCertificates: number;
  fullyQualifiedNames: number;
  registeredDomains: number;
  days: Array<Omit<DailyStats, 'computedAt'>>;
}

interface Rendered {
  json: string;
  html: string;
  at: number;
}

let chartJs: Promise<Buffer> | undefined;
/** Chart.js's UMD build from node_modules (its package exports do not name the file, so it is found beside the main entry). */
function chartJsFile(): Promise<Buffer> {
  return (chartJs ??= readFile(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js')));
}

export class StatsService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rendered: Rendered | undefined;

  constructor(
    private readonly store: StatsStore,
    private readonly clock: Clock,
    private readonly settings: StatsSettings,
    private readonly logger: Logger,
  ) {}

  /** Takes a snapshot now and then every `snapshotIntervalMs`. */
  start(): void {
    const tick = () => {
      this.snapshot().catch((err: unknown) => this.logger.error({ err }, 'the stats snapshot failed'));
    };
    tick();
    this.timer = setInterval(tick, this.settings.snapshotIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * Recomputes the current day's row. Several front ends may share the database: a row another process wrote within
   * half an interval is left alone. The first snapshot of a day also completes the previous day's issuance count.
   */
  snapshot(): Promise<void> {
    return (this.running ??= this.takeSnapshot().finally(() => (this.running = undefined)));
  }

  private async takeSnapshot(): Promise<void> {
    const now = this.clock.now();
    const dayStart = now - (now % DAY_MS);
    const today = await this.store.getDay(utcDay(now));
    if (today && now - today.computedAt < this.settings.snapshotIntervalMs / 2 && today.computedAt <= now) return;
    const previous = await this.store.getDay(utcDay(dayStart - 1));
    if (previous && previous.computedAt < dayStart) {
      await this.store.saveDay({ ...previous, issued: await this.store.countIssued(dayStart - DAY_MS, dayStart) });
    }
    const figures = await this.store.countActive(now);
    await this.store.saveDay({ day: utcDay(now), computedAt: now, ...figures, issued: await this.store.countIssued(dayStart, dayStart + DAY_MS) });
    this.rendered = undefined;
  }

  /** Serves `/stats`, `/stats.json` and the chart library; false for any other path. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const path = (request.url ?? '').split('?')[0];
    if (path !== statsPaths.page && path !== statsPaths.json && path !== statsPaths.chartJs) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return true;
    }
    const send = (body: string | Buffer, type: string, maxAge: number) => {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      response
        .writeHead(200, { 'Content-Type': type, 'Content-Length': bytes.length, 'Cache-Control': `public, max-age=${maxAge}` })
        .end(request.method === 'GET' ? bytes : undefined);
    };
    const fail = (err: unknown) => {
      this.logger.error({ err }, 'serving stats failed');
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' }).end('stats are unavailable\n');
    };
    if (path === statsPaths.chartJs) {
      chartJsFile().then((file) => send(file, 'text/javascript; charset=utf-8', 86_400), fail);
      return true;
    }
    const maxAge = Math.ceil(this.settings.cacheTtlMs / 1000);
    this.render().then(
      (r) => (path === statsPaths.json ? send(r.json, 'application/json', maxAge) : send(r.html, 'text/html; charset=utf-8', maxAge)),
      fail,
    );
    return true;
  }

  /** The current document, as `/stats.json` serves it. */
  async document(): Promise<StatsDocument> {
    return JSON.parse((await this.render()).json) as StatsDocument;
  }

  private async render(): Promise<Rendered> {
    const now = this.clock.now();
    if (this.rendered && now - this.rendered.at < this.settings.cacheTtlMs && this.rendered.at <= now) return this.rendered;
    const rows = await this.store.listDays(utcDay(now - (this.settings.days - 1) * DAY_MS));
    const latest = rows.at(-1);
    const document: StatsDocument = {
      computedAt: latest ? new Date(latest.computedAt).toISOString() : null,
      activeCertificates: latest?.activeCertificates ?? 0,
      fullyQualifiedNames: latest?.names ?? 0,
      registeredDomains: latest?.registeredDomains ?? 0,
      days: rows.map((r) => ({ day: r.day, activeCertificates: r.activeCertificates, names: r.names, registeredDomains: r.registeredDomains, issued: r.issued })),
    };
    this.rendered = { json: JSON.stringify(document), html: statsPage(document, statsPaths.chartJs), at: now };
    return this.rendered;
  }
}
