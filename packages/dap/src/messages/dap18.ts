// draft-ietf-ppm-dap-18 wire format: bulk upload, times in units of time_precision, TaskConfiguration bound into
// the HPKE AADs, server-chosen resource IDs, "application/ppm-dap;message=..." media types.
import { DecodeError, Reader, Writer, concat, decodeAll, utf8 } from '../codec.js';
import { readCiphertext, readExtensions, writeCiphertext, writeExtensions } from './common.js';
import type { DapCodec, MessageName, WireContext } from './codec.js';
import type { BatchSelector, Extension, Interval, PrepareResp, Query, Report, ReportError, ReportMetadata } from './types.js';

const ERRORS: (ReportError | 'reserved')[] = [
  'reserved', 'batch_collected', 'report_replayed', 'report_dropped', 'hpke_unknown_config_id', 'hpke_decrypt_error',
  'vdaf_error', 'task_expired', 'invalid_message', 'report_too_early', 'task_not_started', 'outdated_config',
];
const errorCode = (e: ReportError): number => {
  const i = ERRORS.indexOf(e);
  return i > 0 ? i : ERRORS.indexOf('report_dropped');
};
const errorName = (c: number): ReportError => {
  const e = ERRORS[c];
  if (!e || e === 'reserved') throw new DecodeError(`unknown ReportError ${c}`);
  return e;
};

const NAMES: Record<MessageName, string> = {
  'hpke-config-list': 'hpke-config-list',
  report: 'upload-req',
  'upload-req': 'upload-req',
  'upload-errors': 'upload-errors',
  'aggregation-job-init-req': 'aggregation-job-init-req',
  'aggregation-job-resp': 'aggregation-job-resp',
  'aggregation-job-continue-req': 'aggregation-job-continue-req',
  'collection-req': 'collection-job-req',
  collection: 'collection-job-resp',
  'aggregate-share-req': 'aggregate-share-req',
  'aggregate-share': 'aggregate-share',
};

export const AGG_JOB_EXT_LEADER_SELECTED_BATCH_ID = 1;
export const TASK_EXT_TASK_INTERVAL = 1;

/** The parameters of a DAP-18 TaskConfiguration (times in seconds). */
export interface TaskConfiguration18 {
  taskInfo: Uint8Array;
  leaderUrl: string;
  helperUrl: string;
  timePrecision: number;
  minBatchSize: number;
  batchMode: number;
  vdafType: number;
  vdafConfig: Uint8Array;
  taskInterval?: Interval;
}

export function encodeTaskConfiguration(t: TaskConfiguration18): Uint8Array {
  const w = new Writer(256).opaque8(t.taskInfo).opaque16(utf8(t.leaderUrl)).opaque16(utf8(t.helperUrl));
  w.u64(t.timePrecision).u64(t.minBatchSize).u8(t.batchMode).opaque16(new Uint8Array(0)).u32(t.vdafType).opaque16(t.vdafConfig);
  const exts: Extension[] = [];
  if (t.taskInterval) {
    const iw = new Writer(16);
    writeInterval(iw, t.timePrecision, t.taskInterval);
    exts.push({ type: TASK_EXT_TASK_INTERVAL, data: iw.finish() });
  }
  writeExtensions(w, exts);
  return w.finish();
}

function toUnits(seconds: number, precision: number): number {
  return Math.floor(seconds / precision);
}

function writeInterval(w: Writer, p: number, i: Interval): void {
  if (i.start % p || i.duration % p) throw new RangeError('DAP-18 intervals must be multiples of time_precision');
  w.u64(i.start / p).u64(i.duration / p);
}
const readInterval = (r: Reader, p: number): Interval => ({ start: r.u64() * p, duration: r.u64() * p });

function writeMetadata(w: Writer, p: number, m: ReportMetadata): void {
  w.fixed(m.reportId, 16).u64(toUnits(m.time, p));
  writeExtensions(w, m.publicExtensions);
}
const readMetadata = (r: Reader, p: number): ReportMetadata => ({ reportId: r.bytes(16), time: r.u64() * p, publicExtensions: readExtensions(r) });

function writeReport(w: Writer, p: number, r: Report): void {
  writeMetadata(w, p, r.metadata);
  w.opaque32(r.publicShare);
  writeCiphertext(w, r.leaderShare);
  writeCiphertext(w, r.helperShare);
}
const readReport = (r: Reader, p: number): Report => ({
  metadata: readMetadata(r, p), publicShare: r.opaque32(), leaderShare: readCiphertext(r), helperShare: readCiphertext(r),
});

function writeQuery(w: Writer, p: number, q: Query): void {
  w.u8(q.batchMode);
  if (q.batchMode === 1) {
    const iw = new Writer(16);
    writeInterval(iw, p, q.interval);
    w.opaque16(iw.finish());
  } else w.opaque16(new Uint8Array(0));
}
function readQuery(r: Reader, p: number): Query {
  const mode = r.u8();
  const config = r.opaque16();
  if (mode === 1) return { batchMode: 1, interval: decodeAll(config, (c) => readInterval(c, p)) };
  if (mode === 2) {
    if (config.length) throw new DecodeError('leader-selected query config must be empty');
    return { batchMode: 2 };
  }
  throw new DecodeError(`unknown batch mode ${mode}`);
}

function writeBatchSelector(w: Writer, p: number, s: BatchSelector): void {
  w.u8(s.batchMode);
  if (s.batchMode === 1) {
    const iw = new Writer(16);
    writeInterval(iw, p, s.interval);
    w.opaque16(iw.finish());
  } else w.opaque16(s.batchId);
}
function readBatchSelector(r: Reader, p: number): BatchSelector {
  const mode = r.u8();
  const config = r.opaque16();
  if (mode === 1) return { batchMode: 1, interval: decodeAll(config, (c) => readInterval(c, p)) };
  if (mode === 2) {
    if (config.length !== 32) throw new DecodeError('batch ID must be 32 bytes');
    return { batchMode: 2, batchId: config };
  }
  throw new DecodeError(`unknown batch mode ${mode}`);
}

function checkSorted(exts: Extension[]): void {
  for (let i = 1; i < exts.length; i++) if (exts[i].type <= exts[i - 1].type) throw new DecodeError('extensions not in strictly increasing order');
}

function needConfig(ctx: WireContext): Uint8Array {
  if (!ctx.taskConfig) throw new Error('DAP-18 needs the encoded TaskConfiguration');
  return ctx.taskConfig;
}

export const dap18: DapCodec = {
  version: 'dap-18',
  mediaType: (m) => `application/ppm-dap;message=${NAMES[m]}`,
  inputShareInfo: (role) => concat(utf8('dap-18 input share'), new Uint8Array([1, role])),
  aggregateShareInfo: (role) => concat(utf8('dap-18 aggregate share'), new Uint8Array([role, 0])),
  vdafContext: (taskId) => concat(utf8('dap-18'), taskId),

  encodeReport(ctx, r) {
    const w = new Writer(r.leaderShare.payload.length + r.helperShare.payload.length + r.publicShare.length + 160);
    writeReport(w, ctx.timePrecision, r);
    return w.finish();
  },
  decodeUpload: (ctx, body) => decodeAll(body, (r) => r.rest((x) => readReport(x, ctx.timePrecision))),
  encodeUpload(ctx, reports) {
    const w = new Writer(512 * reports.length + 64);
    for (const r of reports) writeReport(w, ctx.timePrecision, r);
    return w.finish();
  },
  encodeUploadErrors(errors) {
    const w = new Writer(17 * errors.length + 1);
    for (const e of errors) w.fixed(e.reportId, 16).u8(errorCode(e.error));
    return w.finish();
  },
  decodeUploadErrors: (b) => decodeAll(b, (r) => r.rest((x) => ({ reportId: x.bytes(16), error: errorName(x.u8()) }))),
  encodeMetadata(ctx, m) {
    const w = new Writer(64);
    writeMetadata(w, ctx.timePrecision, m);
    return w.finish();
  },

  encodePlaintextInputShare(p) {
    const w = new Writer(p.payload.length + 8);
    writeExtensions(w, p.extensions);
    return w.opaque32(p.payload).finish();
  },
  decodePlaintextInputShare: (b) =>
    decodeAll(b, (r) => {
      const extensions = readExtensions(r);
      const payload = r.opaque32();
      if (payload.length === 0) throw new DecodeError('empty input share payload');
      return { extensions, payload };
    }),
  inputShareAad(ctx, m, publicShare) {
    const w = new Writer(publicShare.length + 512).fixed(ctx.taskId, 32).bytes(needConfig(ctx));
    writeMetadata(w, ctx.timePrecision, m);
    return w.opaque32(publicShare).finish();
  },

  encodeAggregationJobInitReq(ctx, m) {
    const w = new Writer(1024).u8(m.verificationKeyId).opaque32(m.aggParam);
    const exts: Extension[] = m.batchMode === 2 ? [{ type: AGG_JOB_EXT_LEADER_SELECTED_BATCH_ID, data: m.batchId! }] : [];
    writeExtensions(w, exts);
    for (const p of m.prepareInits) {
      writeMetadata(w, ctx.timePrecision, p.reportShare.metadata);
      w.opaque32(p.reportShare.publicShare);
      writeCiphertext(w, p.reportShare.encryptedInputShare);
      w.opaque32(p.payload);
    }
    return w.finish();
  },
  decodeAggregationJobInitReq(ctx, b) {
    return decodeAll(b, (r) => {
      const verificationKeyId = r.u8();
      const aggParam = r.opaque32();
      const exts = readExtensions(r);
      checkSorted(exts);
      let batchId: Uint8Array | undefined;
      for (const e of exts) {
        if (e.type !== AGG_JOB_EXT_LEADER_SELECTED_BATCH_ID) throw new UnsupportedExtension([e.type]);
        if (e.data.length !== 32) throw new DecodeError('leader_selected_batch_id must be 32 bytes');
        batchId = e.data;
      }
      const prepareInits = r.rest((v) => ({
        reportShare: { metadata: readMetadata(v, ctx.timePrecision), publicShare: v.opaque32(), encryptedInputShare: readCiphertext(v) },
        payload: v.opaque32(),
      }));
      return { verificationKeyId, aggParam, batchMode: batchId ? 2 : 1, batchId, prepareInits };
    });
  },
  encodeAggregationJobResp(resps) {
    const w = new Writer(64 * resps.length + 8);
    for (const p of resps) {
      w.fixed(p.reportId, 16);
      if (p.kind === 'continue') w.u8(0).opaque32(p.payload);
      else if (p.kind === 'finished') w.u8(1);
      else w.u8(2).u8(errorCode(p.error));
    }
    return w.finish();
  },
  decodeAggregationJobResp: (b) => decodeAll(b, (r) => r.rest(readVerifyResp)),
  encodeAggregationJobContinueReq(m) {
    const w = new Writer(1024).u16(m.step);
    for (const p of m.prepareContinues) w.fixed(p.reportId, 16).opaque32(p.payload);
    return w.finish();
  },
  decodeAggregationJobContinueReq: (b) =>
    decodeAll(b, (r) => ({ step: r.u16(), prepareContinues: r.rest((v) => ({ reportId: v.bytes(16), payload: v.opaque32() })) })),

  encodeCollectionReq(ctx, m) {
    const w = new Writer(64);
    writeQuery(w, ctx.timePrecision, m.query);
    w.opaque32(m.aggParam);
    writeExtensions(w, m.extensions);
    return w.finish();
  },
  decodeCollectionReq: (ctx, b) =>
    decodeAll(b, (r) => {
      const query = readQuery(r, ctx.timePrecision);
      const aggParam = r.opaque32();
      const extensions = readExtensions(r);
      checkSorted(extensions);
      if (extensions.length) throw new UnsupportedExtension(extensions.map((e) => e.type));
      return { query, aggParam, extensions };
    }),
  encodeCollection(ctx, m) {
    const w = new Writer(512).u64(m.reportCount);
    writeInterval(w, ctx.timePrecision, m.interval);
    writeCiphertext(w, m.leaderShare);
    writeCiphertext(w, m.helperShare);
    return w.finish();
  },
  decodeCollection: (ctx, b) =>
    decodeAll(b, (r) => ({ reportCount: r.u64(), interval: readInterval(r, ctx.timePrecision), leaderShare: readCiphertext(r), helperShare: readCiphertext(r) })),
  encodeBatchSelector(ctx, s) {
    const w = new Writer(64);
    writeBatchSelector(w, ctx.timePrecision, s);
    return w.finish();
  },
  encodeAggregateShareReq(ctx, m) {
    if (!m.collectionReqBytes) throw new Error('DAP-18 AggregateShareReq needs the collection job request');
    const w = new Writer(256).bytes(m.collectionReqBytes);
    writeBatchSelector(w, ctx.timePrecision, m.batchSelector);
    return w.u64(m.reportCount).fixed(m.checksum, 32).finish();
  },
  decodeAggregateShareReq(ctx, b) {
    return decodeAll(b, (r) => {
      const start = b.length - r.remaining;
      const req = readCollectionReqRaw(r, ctx.timePrecision);
      const collectionReqBytes = b.subarray(start, b.length - r.remaining);
      const batchSelector = readBatchSelector(r, ctx.timePrecision);
      return { collectionReqBytes, aggParam: req.aggParam, batchSelector, reportCount: r.u64(), checksum: r.bytes(32) };
    });
  },
  encodeAggregateShare(c) {
    const w = new Writer(c.payload.length + 64);
    writeCiphertext(w, c);
    return w.finish();
  },
  decodeAggregateShare: (b) => decodeAll(b, readCiphertext),
  aggregateShareAad(ctx, a) {
    if (!a.collectionReqBytes) throw new Error('DAP-18 aggregate share AAD needs the collection job request');
    return concat(ctx.taskId, needConfig(ctx), a.collectionReqBytes);
  },
};

function readCollectionReqRaw(r: Reader, p: number) {
  const query = readQuery(r, p);
  const aggParam = r.opaque32();
  const extensions = readExtensions(r);
  return { query, aggParam, extensions };
}

function readVerifyResp(r: Reader): PrepareResp {
  const reportId = r.bytes(16);
  const t = r.u8();
  if (t === 0) return { reportId, kind: 'continue', payload: r.opaque32() };
  if (t === 1) return { reportId, kind: 'finished' };
  if (t === 2) return { reportId, kind: 'reject', error: errorName(r.u8()) };
  throw new DecodeError(`unknown VerifyRespType ${t}`);
}

/** An extension list names a code point we do not implement (DAP-18 `unsupportedExtension`). */
export class UnsupportedExtension extends DecodeError {
  constructor(readonly types: number[]) {
    super(`unsupported extension(s): ${types.join(', ')}`);
  }
}
