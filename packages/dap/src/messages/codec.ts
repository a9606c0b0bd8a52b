// What differs between DAP-09 and DAP-18 on the wire, behind one interface chosen per task.
import type {
  AggregateShareReq, AggregationJobContinueReq, AggregationJobInitReq, BatchSelector, Collection, CollectionReq,
  DapVersion, HpkeCiphertext, PlaintextInputShare, PrepareResp, Report, ReportError, ReportMetadata,
} from './types.js';

/** Per-task facts the codecs need: DAP-18 counts time in units of time_precision and binds the task config. */
export interface WireContext {
  taskId: Uint8Array;
  timePrecision: number;
  /** DAP-18: the encoded TaskConfiguration. */
  taskConfig?: Uint8Array;
}

export type MessageName =
  | 'hpke-config-list' | 'report' | 'upload-req' | 'upload-errors' | 'aggregation-job-init-req' | 'aggregation-job-resp'
  | 'aggregation-job-continue-req' | 'collection-req' | 'collection' | 'aggregate-share-req' | 'aggregate-share';

export interface DapCodec {
  readonly version: DapVersion;
  mediaType(m: MessageName): string;
  /** The role octets and label of the HPKE `info` strings. */
  inputShareInfo(serverRole: 2 | 3): Uint8Array;
  aggregateShareInfo(serverRole: 2 | 3): Uint8Array;
  /** DAP-18's ctx string ("dap-18" || task_id); undefined for DAP-09 (VDAF-08 has none). */
  vdafContext(taskId: Uint8Array): Uint8Array | undefined;

  encodeReport(ctx: WireContext, r: Report): Uint8Array;
  /** An upload body: one report (DAP-09) or many (DAP-18). */
  decodeUpload(ctx: WireContext, body: Uint8Array): Report[];
  encodeUpload(ctx: WireContext, reports: Report[]): Uint8Array;
  encodeUploadErrors(errors: { reportId: Uint8Array; error: ReportError }[]): Uint8Array;
  decodeUploadErrors(body: Uint8Array): { reportId: Uint8Array; error: ReportError }[];
  encodeMetadata(ctx: WireContext, m: ReportMetadata): Uint8Array;

  encodePlaintextInputShare(p: PlaintextInputShare): Uint8Array;
  decodePlaintextInputShare(b: Uint8Array): PlaintextInputShare;
  inputShareAad(ctx: WireContext, m: ReportMetadata, publicShare: Uint8Array): Uint8Array;

  encodeAggregationJobInitReq(ctx: WireContext, m: AggregationJobInitReq): Uint8Array;
  decodeAggregationJobInitReq(ctx: WireContext, b: Uint8Array): AggregationJobInitReq;
  encodeAggregationJobResp(m: PrepareResp[]): Uint8Array;
  decodeAggregationJobResp(b: Uint8Array): PrepareResp[];
  encodeAggregationJobContinueReq(m: AggregationJobContinueReq): Uint8Array;
  decodeAggregationJobContinueReq(b: Uint8Array): AggregationJobContinueReq;

  encodeCollectionReq(ctx: WireContext, m: CollectionReq): Uint8Array;
  decodeCollectionReq(ctx: WireContext, b: Uint8Array): CollectionReq;
  encodeCollection(ctx: WireContext, m: Collection, batchMode: number): Uint8Array;
  decodeCollection(ctx: WireContext, b: Uint8Array): Collection;
  encodeBatchSelector(ctx: WireContext, s: BatchSelector): Uint8Array;
  encodeAggregateShareReq(ctx: WireContext, m: AggregateShareReq): Uint8Array;
  decodeAggregateShareReq(ctx: WireContext, b: Uint8Array): AggregateShareReq;
  encodeAggregateShare(c: HpkeCiphertext): Uint8Array;
  decodeAggregateShare(b: Uint8Array): HpkeCiphertext;
  /** AggregateShareAad: DAP-09 binds (task, agg_param, batch selector); DAP-18 (task, config, collection request). */
  aggregateShareAad(ctx: WireContext, a: { aggParam: Uint8Array; batchSelector: BatchSelector; collectionReqBytes?: Uint8Array }): Uint8Array;
}
