// The leader's HTTP client towards the helper.
import { b64url } from '../codec.js';
import type { LoadedTask } from './context.js';
import { PeerProblem } from './problem.js';

function url(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

async function call(task: LoadedTask, method: string, path: string, mediaType: string, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Uint8Array; location: string | null }> {
  const res = await fetch(url(task.def.helperUrl, path), {
    method,
    headers: { 'content-type': mediaType, authorization: `Bearer ${task.def.aggregatorAuthToken}` },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status >= 400) {
    let type: string | undefined;
    let detail = Buffer.from(bytes).toString('utf8').slice(0, 300);
    try {
      const p = JSON.parse(Buffer.from(bytes).toString('utf8'));
      type = typeof p.type === 'string' ? p.type : undefined;
      detail = p.detail ?? detail;
    } catch {
      // not a problem document
    }
    throw new PeerProblem(res.status, type, detail);
  }
  return { status: res.status, body: bytes, location: res.headers.get('location') };
}

/** Runs an aggregation job's init step on the helper and returns the AggregationJobResp bytes. */
export async function helperAggregationInit(task: LoadedTask, jobId: Uint8Array, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  const media = task.codec.mediaType('aggregation-job-init-req');
  if (task.def.version === 'dap-09') {
    return (await call(task, 'PUT', `/tasks/${task.idB64}/aggregation_jobs/${b64url(jobId)}`, media, body, timeoutMs)).body;
  }
  const first = await call(task, 'POST', `/tasks/${task.idB64}/aggregation_jobs`, media, body, timeoutMs);
  if (first.body.length) return first.body;
  // Asynchronous helper: poll the Location until the response is ready (bounded).
  if (!first.location) throw new PeerProblem(502, undefined, 'helper deferred the aggregation job without a Location');
  const loc = new URL(first.location, task.def.helperUrl);
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(loc, { headers: { authorization: `Bearer ${task.def.aggregatorAuthToken}` }, signal: AbortSignal.timeout(timeoutMs) });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status >= 400) throw new PeerProblem(res.status, undefined, Buffer.from(bytes).toString('utf8').slice(0, 300));
    if (bytes.length) return bytes;
  }
  throw new PeerProblem(504, undefined, 'helper did not finish the aggregation job in time');
}

export async function helperAggregateShare(task: LoadedTask, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  const media = task.codec.mediaType('aggregate-share-req');
  return (await call(task, 'POST', `/tasks/${task.idB64}/aggregate_shares`, media, body, timeoutMs)).body;
}
