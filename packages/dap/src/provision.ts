// What an operator types when provisioning a task: VDAF specs (cobble's `kind:ARGS` form, `@divviup/dap`'s
// spellings and its `{type, ...}` objects) and a collector's own HPKE config.
import { fromB64url } from './codec.js';
import { decodeHpkeConfig, type DapVersion, type HpkeConfig } from './messages/index.js';
import { AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256 } from './hpke/suite.js';
import { TaskError } from './task.js';
import type { VdafConfig } from './vdaf.js';

/** Every accepted `--vdaf` form, for usage text and errors. */
export const VDAF_SPEC_FORMS = [
  'count',
  'sum:BITS',
  'sum:max=N',
  'histogram:LENGTH',
  'histogram:LENGTH:CHUNK',
  'sumvec:LENGTH:BITS',
  'sumvec:LENGTH:BITS:CHUNK',
  'multihot:LENGTH:MAXWEIGHT (dap-18)',
  'multihot:LENGTH:MAXWEIGHT:CHUNK (dap-18)',
  `@divviup/dap's VdafSpec as JSON, e.g. '{"type":"sumVec","length":4,"bits":8,"chunkLength":2}'`,
];
const NAMES_NOTE = 'names ignore case, "-", "_" and a "Prio3" prefix (so sumVec, sum_vec and Prio3SumVec are sumvec)';

type Kind = 'count' | 'sum' | 'histogram' | 'sumvec' | 'multihot';
const KINDS: Record<string, Kind> = { count: 'count', sum: 'sum', histogram: 'histogram', sumvec: 'sumvec', multihot: 'multihot', multihotcountvec: 'multihot' };

function kindOf(name: string): Kind | undefined {
  const k = name.toLowerCase().replace(/[-_]/g, '').replace(/^prio3/, '');
  return KINDS[k];
}

/** Parses a `--vdaf` spec for a task of `version`; errors list every accepted form. */
export function parseVdafSpec(spec: string, version: DapVersion): VdafConfig {
  const fail = (why: string): never => {
    throw new TaskError(`--vdaf ${spec}: ${why}; accepted: ${VDAF_SPEC_FORMS.join(' | ')} (${NAMES_NOTE})`);
  };
  const positive = (v: unknown, what: string): number => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) return fail(`${what} must be a positive integer`);
    return n;
  };
  // The chunk length only trades proof size against work; about √length is the usual choice.
  const chunk = (len: number, v: unknown) => (v === undefined ? Math.max(1, Math.round(Math.sqrt(len))) : positive(v, 'CHUNK'));

  let kind: Kind | undefined;
  let a: { bits?: unknown; max?: unknown; length?: unknown; chunk?: unknown; maxWeight?: unknown };
  if (spec.trim().startsWith('{')) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(spec) as Record<string, unknown>;
    } catch {
      return fail('not valid JSON');
    }
    kind = typeof o.type === 'string' ? kindOf(o.type) : undefined;
    a = { bits: o.bits, max: o.maxMeasurement, length: o.length, chunk: o.chunkLength, maxWeight: o.maxWeight };
  } else {
    const [name, ...rest] = spec.split(':');
    kind = kindOf(name);
    if (kind === 'sum' && rest[0]?.startsWith('max=')) a = { max: rest[0].slice(4) };
    else if (kind === 'sum') a = { bits: rest[0] };
    else if (kind === 'multihot') a = { length: rest[0], maxWeight: rest[1], chunk: rest[2] };
    else a = { length: rest[0], bits: kind === 'sumvec' ? rest[1] : undefined, chunk: kind === 'sumvec' ? rest[2] : rest[1] };
  }
  switch (kind) {
    case 'count':
      return { type: 'Prio3Count' };
    case 'sum': {
      if (a.max !== undefined) return { type: 'Prio3Sum', maxMeasurement: positive(a.max, 'max') };
      const bits = a.bits === undefined ? 8 : positive(a.bits, 'BITS');
      // DAP-18's Sum (VDAF-20) is parameterised by its largest measurement, DAP-09's (VDAF-08) by bits.
      return version === 'dap-18' ? { type: 'Prio3Sum', maxMeasurement: 2 ** bits - 1 } : { type: 'Prio3Sum', bits };
    }
    case 'histogram': {
      const length = positive(a.length, 'LENGTH');
      return { type: 'Prio3Histogram', length, chunkLength: chunk(length, a.chunk) };
    }
    case 'sumvec': {
      const length = positive(a.length, 'LENGTH');
      const bits = positive(a.bits, 'BITS');
      return { type: 'Prio3SumVec', length, bits, chunkLength: chunk(length * bits, a.chunk) };
    }
    case 'multihot': {
      if (version !== 'dap-18') return fail('MultihotCountVec needs --version dap-18');
      const length = positive(a.length, 'LENGTH');
      return { type: 'Prio3MultihotCountVec', length, maxWeight: positive(a.maxWeight, 'MAXWEIGHT'), chunkLength: chunk(length, a.chunk) };
    }
    default:
      return fail('unknown VDAF');
  }
}

/**
 * A collector's own HPKE config (RFC 9180 suite and public key, DAP's `HpkeConfig` encoding), given as base64url
 * text, as the raw encoded bytes, or as JSON holding `collectorHpkeConfig` (the collector parameters of an earlier
 * task, to reuse that key). Only the suite DAP makes mandatory is accepted: it is the only one the aggregators seal to.
 */
export function collectorHpkeConfigFrom(input: string | Uint8Array, what: string): HpkeConfig {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: false }).decode(input);
  let bytes: Uint8Array | undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let j: { collectorHpkeConfig?: unknown };
    try {
      j = JSON.parse(trimmed) as { collectorHpkeConfig?: unknown };
    } catch (e) {
      throw new TaskError(`${what}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof j.collectorHpkeConfig !== 'string') throw new TaskError(`${what}: JSON without a collectorHpkeConfig string`);
    bytes = decodeB64(j.collectorHpkeConfig, what);
  } else if (/^[A-Za-z0-9_-]+=*$/.test(trimmed)) bytes = decodeB64(trimmed, what);
  else if (typeof input !== 'string') bytes = input;
  else throw new TaskError(`${what}: neither base64url nor JSON`);
  let cfg: HpkeConfig;
  try {
    cfg = decodeHpkeConfig(bytes);
  } catch (e) {
    throw new TaskError(`${what}: not an encoded HpkeConfig (${(e as Error).message})`);
  }
  if (cfg.kemId !== KEM_X25519_HKDF_SHA256 || cfg.kdfId !== KDF_HKDF_SHA256 || cfg.aeadId !== AEAD_AES_128_GCM) {
    throw new TaskError(`${what}: HPKE suite kem 0x${hex4(cfg.kemId)} kdf 0x${hex4(cfg.kdfId)} aead 0x${hex4(cfg.aeadId)} is not supported; use DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001, AES-128-GCM 0x0001`);
  }
  if (cfg.publicKey.length !== 32) throw new TaskError(`${what}: an X25519 public key is 32 bytes, not ${cfg.publicKey.length}`);
  return cfg;
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

function decodeB64(s: string, what: string): Uint8Array {
  try {
    return fromB64url(s);
  } catch (e) {
    throw new TaskError(`${what}: not base64url (${(e as Error).message})`);
  }
}
