// Report checks and bookkeeping shared by the leader and the helper.
import { createHash, timingSafeEqual } from 'node:crypto';
import { b64url } from '../codec.js';
import type { DapCodec, ReportError, ReportMetadata, WireContext, HpkeCiphertext, PlaintextInputShare } from '../messages/index.js';
import type { TaskDefinition } from '../task.js';
import type { Keyring } from './keys.js';
import type { BucketDelta } from '../store/index.js';
import type { Prio3 } from '../vdaf.js';
import type { Prio3OutputShare } from '@cobble/vdaf';

export const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** Time checks every aggregator applies to a report (seconds). */
export function timeError(task: TaskDefinition, time: number, now: number): ReportError | null {
  if (time > now + task.tolerableClockSkew) return 'report_too_early';
  if (task.taskStart !== undefined && time < task.taskStart) return 'task_not_started';
  if (task.taskEnd !== undefined && time >= task.taskEnd) return 'task_expired';
  if (task.reportExpiryAge !== undefined && time < now - task.reportExpiryAge) return 'report_dropped';
  return null;
}

/** Decrypts and decodes an aggregator's input share, or names the report error. */
export function openInputShare(
  keyring: Keyring, codec: DapCodec, ctx: WireContext, role: 2 | 3, metadata: ReportMetadata, publicShare: Uint8Array, ct: HpkeCiphertext,
): PlaintextInputShare | ReportError {
  const recipient = keyring.recipient(ct.configId);
  if (!recipient) return codec.version === 'dap-09' ? 'hpke_unknown_config_id' : 'hpke_decrypt_error';
  let plaintext: Uint8Array;
  try {
    plaintext = recipient.open(ct.enc, codec.inputShareInfo(role), codec.inputShareAad(ctx, metadata, publicShare), ct.payload);
  } catch {
    return 'hpke_decrypt_error';
  }
  let share: PlaintextInputShare;
  try {
    share = codec.decodePlaintextInputShare(plaintext);
  } catch {
    return 'invalid_message';
  }
  // No report extensions are implemented, so any extension is unrecognized and the report invalid.
  if (share.extensions.length || metadata.publicExtensions.length) return 'invalid_message';
  return share;
}

/** Batch bucket of a report: time-interval buckets are time_precision wide; leader-selected ones are the batch. */
export function bucketOf(task: TaskDefinition, time: number, batchId?: Uint8Array): { batchId: string; bucketStart: number } {
  if (task.batchMode === 2) return { batchId: b64url(batchId!), bucketStart: 0 };
  return { batchId: '', bucketStart: time - (time % task.timePrecision) };
}

export interface CollectedRow {
  batch_key: string;
  start_time: number | null;
  end_time: number | null;
}

export function isCollected(collected: CollectedRow[], bucket: { batchId: string; bucketStart: number }): boolean {
  for (const c of collected) {
    if (bucket.batchId) {
      if (c.batch_key === bucket.batchId) return true;
    } else if (c.start_time !== null && Number(c.start_time) <= bucket.bucketStart && bucket.bucketStart < Number(c.end_time)) return true;
  }
  return false;
}

/** Groups verified output shares by bucket into the deltas the store commits. */
export function bucketDeltas(vdaf: Prio3, items: { bucket: { batchId: string; bucketStart: number }; reportId: Uint8Array; time: number; outShare: Prio3OutputShare }[]): BucketDelta[] {
  const groups = new Map<string, typeof items>();
  for (const it of items) {
    const k = `${it.bucket.batchId}|${it.bucket.bucketStart}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(it);
  }
  const out: BucketDelta[] = [];
  for (const g of groups.values()) {
    const checksum = new Uint8Array(32);
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const it of g) {
      const h = sha256(it.reportId);
      for (let i = 0; i < 32; i++) checksum[i] ^= h[i];
      minTime = Math.min(minTime, it.time);
      maxTime = Math.max(maxTime, it.time);
    }
    const aggShare = vdaf.encodeAggregateShare(vdaf.aggregate(g.map((x) => x.outShare)));
    out.push({ batchId: g[0].bucket.batchId, bucketStart: g[0].bucket.bucketStart, aggShare, count: g.length, checksum, minTime, maxTime });
  }
  return out;
}

export function mergeEncoded(vdaf: Prio3): (a: Uint8Array, b: Uint8Array) => Uint8Array {
  return (a, b) => vdaf.encodeAggregateShare(vdaf.mergeAggregateShares(vdaf.decodeAggregateShare(a), vdaf.decodeAggregateShare(b)));
}

export function mergeAll(vdaf: Prio3, shares: Uint8Array[]): Uint8Array {
  let acc = vdaf.decodeAggregateShare(shares[0]);
  for (let i = 1; i < shares.length; i++) acc = vdaf.mergeAggregateShares(acc, vdaf.decodeAggregateShare(shares[i]));
  return vdaf.encodeAggregateShare(acc);
}

/** Bearer token check (Authorization: Bearer … or the DAP-Auth-Token header of the interop design). */
export function tokenMatches(expected: string | undefined, headers: Record<string, string | string[] | undefined>): boolean {
  if (!expected) return false;
  const auth = headers['authorization'];
  const dapAuth = headers['dap-auth-token'];
  let presented: string | undefined;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) presented = auth.slice(7).trim();
  else if (typeof dapAuth === 'string') presented = dapAuth;
  if (!presented) return false;
  const a = sha256(Buffer.from(presented));
  const b = sha256(Buffer.from(expected));
  return timingSafeEqual(a, b);
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
