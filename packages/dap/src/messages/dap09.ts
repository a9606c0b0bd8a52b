// draft-ietf-ppm-dap-09 wire format (what @divviup/dap 0.9, Janus 0.7 and Divvi Up speak).
import { DecodeError, Reader, Writer, concat, decodeAll, utf8 } from '../codec.js';
import { readCiphertext, readExtensions, writeCiphertext, writeExtensions } from './common.js';
import type { DapCodec, MessageName } from './codec.js';
import type { AggregationJobInitReq, BatchSelector, Interval, PrepareResp, Report, ReportError, ReportMetadata, Query } from './types.js';

const ERRORS: ReportError[] = [
  'batch_collected', 'report_replayed', 'report_dropped', 'hpke_unknown_config_id', 'hpke_decrypt_error', 'vdaf_error',
  'batch_saturated', 'task_expired', 'invalid_message', 'report_too_early',
];
const errorCode = (e: ReportError): number => {
  const i = ERRORS.indexOf(e);
  // Errors DAP-09 lacks map to their nearest DAP-09 meaning.
  if (i >= 0) return i;
  return e === 'task_not_started' ? ERRORS.indexOf('report_dropped') : ERRORS.indexOf('hpke_unknown_config_id');
};
const errorName = (c: number): ReportError => {
  const e = ERRORS[c];
  if (!e) throw new DecodeError(`unknown PrepareError ${c}`);
  return e;
};

const MEDIA: Record<MessageName, string> = {
  'hpke-config-list': 'application/dap-hpke-config-list',
  report: 'application/dap-report',
  'upload-req': 'application/dap-report',
  'upload-errors': 'application/problem+json',
  'aggregation-job-init-req': 'application/dap-aggregation-job-init-req',
  'aggregation-job-resp': 'application/dap-aggregation-job-resp',
  'aggregation-job-continue-req': 'application/dap-aggregation-job-continue-req',
  'collection-req': 'application/dap-collect-req',
  collection: 'application/dap-collection',
  'aggregate-share-req': 'application/dap-aggregate-share-req',
  'aggregate-share': 'application/dap-aggregate-share',
};

const writeInterval = (w: Writer, i: Interval) => w.u64(i.start).u64(i.duration);
const readInterval = (r: Reader): Interval => ({ start: r.u64(), duration: r.u64() });

function writeMetadata(w: Writer, m: ReportMetadata): void {
  if (m.publicExtensions.length) throw new RangeError('DAP-09 reports carry no public extensions');
  w.fixed(m.reportId, 16).u64(m.time);
}
const readMetadata = (r: Reader): ReportMetadata => ({ reportId: r.bytes(16), time: r.u64(), publicExtensions: [] });

function writeReport(w: Writer, r: Report): void {
  writeMetadata(w, r.metadata);
  w.opaque32(r.publicShare);
  writeCiphertext(w, r.leaderShare);
  writeCiphertext(w, r.helperShare);
}
const readReport = (r: Reader): Report => ({
  metadata: readMetadata(r), publicShare: r.opaque32(), leaderShare: readCiphertext(r), helperShare: readCiphertext(r),
});

function writePartialBatchSelector(w: Writer, batchMode: number, batchId?: Uint8Array): void {
  w.u8(batchMode);
  if (batchMode === 2) w.fixed(batchId!, 32);
}
function readPartialBatchSelector(r: Reader): { batchMode: number; batchId?: Uint8Array } {
  const batchMode = r.u8();
  if (batchMode === 1) return { batchMode };
  if (batchMode === 2) return { batchMode, batchId: r.bytes(32) };
  throw new DecodeError(`unknown query type ${batchMode}`);
}

function writeBatchSelector(w: Writer, s: BatchSelector): void {
  w.u8(s.batchMode);
  if (s.batchMode === 1) writeInterval(w, s.interval);
  else w.fixed(s.batchId, 32);
}
function readBatchSelector(r: Reader): BatchSelector {
  const mode = r.u8();
  if (mode === 1) return { batchMode: 1, interval: readInterval(r) };
  if (mode === 2) return { batchMode: 2, batchId: r.bytes(32) };
  throw new DecodeError(`unknown query type ${mode}`);
}

function writeQuery(w: Writer, q: Query): void {
  w.u8(q.batchMode);
  if (q.batchMode === 1) writeInterval(w, q.interval);
  else if (q.batchId) w.u8(0).fixed(q.batchId, 32);
  else w.u8(1);
}
function readQuery(r: Reader): Query {
  const mode = r.u8();
  if (mode === 1) return { batchMode: 1, interval: readInterval(r) };
  if (mode === 2) {
    const kind = r.u8();
    if (kind === 0) return { batchMode: 2, batchId: r.bytes(32) };
    if (kind === 1) return { batchMode: 2 };
    throw new DecodeError(`unknown fixed-size query type ${kind}`);
  }
  throw new DecodeError(`unknown query type ${mode}`);
}

export const dap09: DapCodec = {
  version: 'dap-09',
  mediaType: (m) => MEDIA[m],
  inputShareInfo: (role) => concat(utf8('dap-09 input share'), new Uint8Array([1, role])),
  aggregateShareInfo: (role) => concat(utf8('dap-09 aggregate share'), new Uint8Array([role, 0])),
  vdafContext: () => undefined,

  encodeReport(_ctx, r) {
    const w = new Writer(r.leaderShare.payload.length + r.helperShare.payload.length + r.publicShare.length + 160);
    writeReport(w, r);
    return w.finish();
  },
  decodeUpload: (_ctx, body) => [decodeAll(body, readReport)],
  encodeUpload(ctx, reports) {
    if (reports.length !== 1) throw new RangeError('DAP-09 uploads carry exactly one report');
    return this.encodeReport(ctx, reports[0]);
  },
  encodeUploadErrors: () => new Uint8Array(0),
  decodeUploadErrors: () => [],
  encodeMetadata(_ctx, m) {
    const w = new Writer(32);
    writeMetadata(w, m);
    return w.finish();
  },

  encodePlaintextInputShare(p) {
    const w = new Writer(p.payload.length + 8);
    writeExtensions(w, p.extensions);
    return w.opaque32(p.payload).finish();
  },
  decodePlaintextInputShare: (b) => decodeAll(b, (r) => ({ extensions: readExtensions(r), payload: r.opaque32() })),
  inputShareAad(ctx, m, publicShare) {
    const w = new Writer(publicShare.length + 64).fixed(ctx.taskId, 32);
    writeMetadata(w, m);
    return w.opaque32(publicShare).finish();
  },

  encodeAggregationJobInitReq(_ctx, m) {
    const w = new Writer(1024);
    w.opaque32(m.aggParam);
    writePartialBatchSelector(w, m.batchMode, m.batchId);
    w.vector(4, (v) => {
      for (const p of m.prepareInits) {
        writeMetadata(v, p.reportShare.metadata);
        v.opaque32(p.reportShare.publicShare);
        writeCiphertext(v, p.reportShare.encryptedInputShare);
        v.opaque32(p.payload);
      }
    });
    return w.finish();
  },
  decodeAggregationJobInitReq(_ctx, b): AggregationJobInitReq {
    return decodeAll(b, (r) => {
      const aggParam = r.opaque32();
      const { batchMode, batchId } = readPartialBatchSelector(r);
      const prepareInits = r.vector(4, (v) => ({
        reportShare: { metadata: readMetadata(v), publicShare: v.opaque32(), encryptedInputShare: readCiphertext(v) },
        payload: v.opaque32(),
      }));
      if (prepareInits.length === 0) throw new DecodeError('prepare_inits must not be empty');
      return { aggParam, batchMode, batchId, verificationKeyId: 0, prepareInits };
    });
  },
  encodeAggregationJobResp(resps) {
    const w = new Writer(64 * resps.length + 8);
    w.vector(4, (v) => {
      for (const p of resps) {
        v.fixed(p.reportId, 16);
        if (p.kind === 'continue') v.u8(0).opaque32(p.payload);
        else if (p.kind === 'finished') v.u8(1);
        else v.u8(2).u8(errorCode(p.error));
      }
    });
    return w.finish();
  },
  decodeAggregationJobResp: (b) => decodeAll(b, (r) => r.vector(4, readPrepareResp)),
  encodeAggregationJobContinueReq(m) {
    const w = new Writer(1024).u16(m.step);
    w.vector(4, (v) => m.prepareContinues.forEach((p) => v.fixed(p.reportId, 16).opaque32(p.payload)));
    return w.finish();
  },
  decodeAggregationJobContinueReq: (b) =>
    decodeAll(b, (r) => ({ step: r.u16(), prepareContinues: r.vector(4, (v) => ({ reportId: v.bytes(16), payload: v.opaque32() })) })),

  encodeCollectionReq(_ctx, m) {
    const w = new Writer(64);
    writeQuery(w, m.query);
    return w.opaque32(m.aggParam).finish();
  },
  decodeCollectionReq: (_ctx, b) => decodeAll(b, (r) => ({ query: readQuery(r), aggParam: r.opaque32(), extensions: [] })),
  encodeCollection(_ctx, m, batchMode) {
    const w = new Writer(512);
    writePartialBatchSelector(w, batchMode, m.batchId);
    w.u64(m.reportCount);
    writeInterval(w, m.interval);
    writeCiphertext(w, m.leaderShare);
    writeCiphertext(w, m.helperShare);
    return w.finish();
  },
  decodeCollection: (_ctx, b) =>
    decodeAll(b, (r) => {
      const { batchId } = readPartialBatchSelector(r);
      return { batchId, reportCount: r.u64(), interval: readInterval(r), leaderShare: readCiphertext(r), helperShare: readCiphertext(r) };
    }),
  encodeBatchSelector(_ctx, s) {
    const w = new Writer(64);
    writeBatchSelector(w, s);
    return w.finish();
  },
  encodeAggregateShareReq(_ctx, m) {
    const w = new Writer(128);
    writeBatchSelector(w, m.batchSelector);
    return w.opaque32(m.aggParam).u64(m.reportCount).fixed(m.checksum, 32).finish();
  },
  decodeAggregateShareReq: (_ctx, b) =>
    decodeAll(b, (r) => ({ batchSelector: readBatchSelector(r), aggParam: r.opaque32(), reportCount: r.u64(), checksum: r.bytes(32) })),
  encodeAggregateShare(c) {
    const w = new Writer(c.payload.length + 64);
    writeCiphertext(w, c);
    return w.finish();
  },
  decodeAggregateShare: (b) => decodeAll(b, readCiphertext),
  aggregateShareAad(ctx, a) {
    const w = new Writer(128).fixed(ctx.taskId, 32).opaque32(a.aggParam);
    writeBatchSelector(w, a.batchSelector);
    return w.finish();
  },
};

function readPrepareResp(r: Reader): PrepareResp {
  const reportId = r.bytes(16);
  const state = r.u8();
  if (state === 0) return { reportId, kind: 'continue', payload: r.opaque32() };
  if (state === 1) return { reportId, kind: 'finished' };
  if (state === 2) return { reportId, kind: 'reject', error: errorName(r.u8()) };
  throw new DecodeError(`unknown PrepareRespState ${state}`);
}
