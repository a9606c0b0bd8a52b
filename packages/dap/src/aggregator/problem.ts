// DAP errors as RFC 9457 problem documents. `taskid` is included whenever the task is known (DAP §Errors;
// @divviup/dap reads it and breaks without it).
import { b64url } from '../codec.js';

export type DapErrorType =
  | 'invalidMessage' | 'unrecognizedTask' | 'unrecognizedAggregationJob' | 'outdatedConfig' | 'reportRejected' | 'reportTooEarly'
  | 'batchInvalid' | 'invalidBatchSize' | 'batchQueriedTooManyTimes' | 'batchMismatch' | 'unauthorizedRequest' | 'missingTaskID'
  | 'stepMismatch' | 'batchOverlap' | 'invalidAggregationParameter' | 'unsupportedExtension' | 'invalidExtension';

const TITLES: Record<DapErrorType, string> = {
  invalidMessage: 'The message could not be parsed or was otherwise invalid.',
  unrecognizedTask: 'Unknown task ID.',
  unrecognizedAggregationJob: 'Unknown aggregation job ID.',
  outdatedConfig: 'The message was generated using an outdated configuration.',
  reportRejected: 'Report could not be processed.',
  reportTooEarly: 'Report could not be processed because its timestamp is too far in the future.',
  batchInvalid: "The batch boundary check for the collector's query failed.",
  invalidBatchSize: 'There are an invalid number of reports in the batch.',
  batchQueriedTooManyTimes: 'The batch has been queried too many times.',
  batchMismatch: 'Aggregators disagree on the report shares that were aggregated in a batch.',
  unauthorizedRequest: 'Authentication of the request failed.',
  missingTaskID: 'HPKE configuration was requested without a task ID.',
  stepMismatch: 'The aggregators disagree on the current step of the aggregation protocol.',
  batchOverlap: 'The query includes reports that were previously collected in a different batch.',
  invalidAggregationParameter: 'The aggregation parameter is invalid.',
  unsupportedExtension: 'An extension is not supported.',
  invalidExtension: 'An extension list is out of order or malformed.',
};

export class DapProblem extends Error {
  constructor(readonly type: DapErrorType, readonly detail: string, readonly taskId?: Uint8Array, readonly status = type === 'unauthorizedRequest' ? 401 : type === 'unrecognizedAggregationJob' ? 404 : 400, readonly extra?: Record<string, unknown>) {
    super(`${type}: ${detail}`);
    this.name = 'DapProblem';
  }

  toJSON(): Record<string, unknown> {
    return {
      type: `urn:ietf:params:ppm:dap:error:${this.type}`,
      title: TITLES[this.type],
      status: this.status,
      detail: this.detail,
      ...(this.taskId ? { taskid: b64url(this.taskId) } : {}),
      ...this.extra,
    };
  }
}

/** A problem document received from a peer, kept as an error for retry decisions. */
export class PeerProblem extends Error {
  constructor(readonly status: number, readonly problemType: string | undefined, detail: string) {
    super(`peer answered ${status}${problemType ? ` ${problemType}` : ''}: ${detail}`);
    this.name = 'PeerProblem';
  }
  /** 4xx answers are final; 5xx and 429 may clear up. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}
