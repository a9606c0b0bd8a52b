// The DAP client: shards a measurement, encrypts the two input shares and uploads reports to the leader.
// Uses only WebCrypto, fetch and Uint8Array so the same code runs in browsers and in Node.
import { b64url } from './codec.js';
import { decodeHpkeConfigList, type HpkeConfig, type Report, type ReportError } from './messages/index.js';
import { AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256 } from './hpke/suite.js';
import { sealWeb } from './hpke/web.js';
import { paramsCodec, paramsVdaf, paramsWireContext, type ClientParams } from './params.js';
import { parseMeasurement } from './vdaf.js';

export class DapUploadError extends Error {
  constructor(message: string, readonly status?: number, readonly problem?: { type?: string; detail?: string; taskid?: string }) {
    super(message);
    this.name = 'DapUploadError';
  }
}

export interface UploadSummary {
  uploaded: number;
  rejected: { reportId: string; error: ReportError | string }[];
}

const join = (base: string, path: string) => base.replace(/\/+$/, '') + path;

export class DapClient {
  private configs?: Promise<[HpkeConfig, HpkeConfig]>;
  private readonly fetch: typeof fetch;

  /** `timeoutMs` bounds every HTTP request (default 60 s), so a stuck server becomes an error, not a hang. */
  constructor(readonly params: ClientParams, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
    const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    this.fetch = ((input: any, init?: RequestInit) => f(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) })) as typeof fetch;
  }

  private async fetchConfig(base: string): Promise<HpkeConfig> {
    const codec = paramsCodec(this.params);
    const url = join(base, `/hpke_config${this.params.version === 'dap-09' ? `?task_id=${this.params.taskId}` : ''}`);
    const res = await this.fetch(url, { headers: { accept: codec.mediaType('hpke-config-list') } });
    if (!res.ok) throw new DapUploadError(`GET ${url} answered ${res.status}`, res.status);
    const list = decodeHpkeConfigList(new Uint8Array(await res.arrayBuffer()));
    const usable = list.find((c) => c.kemId === KEM_X25519_HKDF_SHA256 && c.kdfId === KDF_HKDF_SHA256 && c.aeadId === AEAD_AES_128_GCM);
    if (!usable) throw new DapUploadError(`${url} offers no HPKE config with X25519/HKDF-SHA256/AES-128-GCM`);
    return usable;
  }

  /** The aggregators' HPKE configs (fetched once, refreshed after an outdatedConfig answer). */
  hpkeConfigs(refresh = false): Promise<[HpkeConfig, HpkeConfig]> {
    if (!this.configs || refresh) {
      this.configs = Promise.all([this.fetchConfig(this.params.leaderUrl), this.fetchConfig(this.params.helperUrl)]);
      this.configs.catch(() => (this.configs = undefined));
    }
    return this.configs;
  }

  /** Builds one encrypted report; `time` in seconds (rounded down to the task's time precision). */
  async prepareReport(measurement: unknown, time = Math.floor(Date.now() / 1000)): Promise<Report> {
    const p = this.params;
    const codec = paramsCodec(p);
    const ctx = paramsWireContext(p);
    const vdaf = paramsVdaf(p);
    const [leaderConfig, helperConfig] = await this.hpkeConfigs();
    const reportId = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const rand = globalThis.crypto.getRandomValues(new Uint8Array(vdaf.randSize));
    const { publicShare, inputShares } = vdaf.shard(parseMeasurement(p.vdaf, measurement), reportId, rand, codec.vdafContext(ctx.taskId));
    const metadata = { reportId, time: time - (time % p.timePrecision), publicExtensions: [] };
    const aad = codec.inputShareAad(ctx, metadata, publicShare);
    const encrypt = async (config: HpkeConfig, role: 2 | 3, payload: Uint8Array) => {
      const { enc, ciphertext } = await sealWeb(config.publicKey, codec.inputShareInfo(role), aad, codec.encodePlaintextInputShare({ extensions: [], payload }));
      return { configId: config.id, enc, payload: ciphertext };
    };
    return { metadata, publicShare, leaderShare: await encrypt(leaderConfig, 2, inputShares[0]), helperShare: await encrypt(helperConfig, 3, inputShares[1]) };
  }

  /** Sends prepared reports: DAP-18 in bulk requests, DAP-09 one request per report (several in flight). */
  async uploadReports(reports: Report[], opts: { concurrency?: number; batchSize?: number } = {}): Promise<UploadSummary> {
    const p = this.params;
    const codec = paramsCodec(p);
    const ctx = paramsWireContext(p);
    const url = join(p.leaderUrl, `/tasks/${p.taskId}/reports`);
    const summary: UploadSummary = { uploaded: 0, rejected: [] };
    if (p.version === 'dap-18') {
      const size = opts.batchSize ?? 1000;
      const chunks: Report[][] = [];
      for (let i = 0; i < reports.length; i += size) chunks.push(reports.slice(i, i + size));
      let nextChunk = 0;
      // A few bulk requests in flight keep the leader busy while the next body is encoded and sent.
      const sender = async () => {
        while (nextChunk < chunks.length) {
          const chunk = chunks[nextChunk++];
          const res = await this.fetch(url, { method: 'POST', headers: { 'content-type': codec.mediaType('upload-req') }, body: codec.encodeUpload(ctx, chunk) });
          const body = new Uint8Array(await res.arrayBuffer());
          if (!res.ok) throw await problemError(res, body, url);
          const errors = body.length ? codec.decodeUploadErrors(body) : [];
          summary.uploaded += chunk.length - errors.length;
          for (const e of errors) summary.rejected.push({ reportId: b64url(e.reportId), error: e.error });
        }
      };
      await Promise.all(Array.from({ length: Math.min(3, chunks.length) }, sender));
      return summary;
    }
    let next = 0;
    const worker = async () => {
      while (next < reports.length) {
        const r = reports[next++];
        const res = await this.fetch(url, { method: 'PUT', headers: { 'content-type': codec.mediaType('report') }, body: codec.encodeReport(ctx, r) });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.ok) summary.uploaded++;
        else {
          const err = await problemError(res, body, url);
          if (res.status >= 500) throw err;
          summary.rejected.push({ reportId: b64url(r.metadata.reportId), error: err.problem?.type?.split(':').pop() ?? String(res.status) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, reports.length) }, worker));
    return summary;
  }

  /** Shards, encrypts and uploads measurements. */
  async upload(measurements: unknown[], opts: { time?: number; concurrency?: number } = {}): Promise<UploadSummary> {
    const reports: Report[] = [];
    for (const m of measurements) reports.push(await this.prepareReport(m, opts.time));
    const first = await this.uploadReports(reports, opts);
    const outdated = new Set(first.rejected.filter((r) => r.error === 'outdated_config' || r.error === 'outdatedConfig').map((r) => r.reportId));
    if (!outdated.size) return first;
    // The aggregator rotated its keys: refetch the configs and re-encrypt those measurements once (DAP §upload).
    await this.hpkeConfigs(true);
    const retried: Report[] = [];
    for (let i = 0; i < reports.length; i++) {
      if (outdated.has(b64url(reports[i].metadata.reportId))) retried.push(await this.prepareReport(measurements[i], opts.time));
    }
    const second = await this.uploadReports(retried, opts);
    return { uploaded: first.uploaded + second.uploaded, rejected: [...first.rejected.filter((r) => !outdated.has(r.reportId)), ...second.rejected] };
  }
}

async function problemError(res: Response, body: Uint8Array, url: string): Promise<DapUploadError> {
  let problem: { type?: string; detail?: string; taskid?: string } | undefined;
  try {
    problem = JSON.parse(new TextDecoder().decode(body));
  } catch {
    problem = undefined;
  }
  return new DapUploadError(`${url} answered ${res.status}${problem?.type ? ` ${problem.type}` : ''}${problem?.detail ? `: ${problem.detail}` : ''}`, res.status, problem);
}
