// Binds a task's VDAF description to an instance of @cobble/vdaf's Prio3 for the task's DAP version
// (DAP-09 ↔ VDAF-08, DAP-18 ↔ VDAF-20), and encodes the VDAF configuration DAP-18 binds into its AADs.
import { prio3Count, prio3Histogram, prio3MultihotCountVec, prio3Sum, prio3SumVec, type Prio3 as LibPrio3 } from '@cobble/vdaf';
import { Writer } from './codec.js';
import type { DapVersion } from './messages/types.js';

export type VdafConfig =
  | { type: 'Prio3Count' }
  | { type: 'Prio3Sum'; bits?: number; maxMeasurement?: number }
  | { type: 'Prio3SumVec'; length: number; bits: number; chunkLength: number }
  | { type: 'Prio3Histogram'; length: number; chunkLength: number }
  | { type: 'Prio3MultihotCountVec'; length: number; maxWeight: number; chunkLength: number };

/** A Prio3 instance; measurement and result types vary with the task, so they stay open here. */
export type Prio3 = LibPrio3<any, any>;

const cache = new Map<string, Prio3>();

export function generationOf(version: DapVersion): 'draft-08' | 'draft-20' {
  return version === 'dap-09' ? 'draft-08' : 'draft-20';
}

/** Sum's range: DAP-09 (VDAF-08) counts bits; DAP-18 (VDAF-20) a maximum measurement. */
export function sumMax(cfg: { bits?: number; maxMeasurement?: number }): number {
  if (cfg.maxMeasurement !== undefined) return cfg.maxMeasurement;
  return 2 ** (cfg.bits ?? 8) - 1;
}

export function vdafFor(version: DapVersion, cfg: VdafConfig): Prio3 {
  const key = `${version}:${JSON.stringify(cfg)}`;
  let v = cache.get(key);
  if (v) return v;
  const gen = generationOf(version);
  switch (cfg.type) {
    case 'Prio3Count':
      v = prio3Count(gen);
      break;
    case 'Prio3Sum':
      v = gen === 'draft-08' ? prio3Sum(gen, { bits: cfg.bits ?? Math.ceil(Math.log2(sumMax(cfg) + 1)) }) : prio3Sum(gen, { maxMeasurement: sumMax(cfg) });
      break;
    case 'Prio3SumVec':
      v = prio3SumVec(gen, { length: cfg.length, bits: cfg.bits, chunkLength: cfg.chunkLength });
      break;
    case 'Prio3Histogram':
      v = prio3Histogram(gen, { length: cfg.length, chunkLength: cfg.chunkLength });
      break;
    case 'Prio3MultihotCountVec':
      if (gen !== 'draft-20') throw new Error('Prio3MultihotCountVec needs DAP-18 (VDAF-20)');
      v = prio3MultihotCountVec(gen, { length: cfg.length, maxWeight: cfg.maxWeight, chunkLength: cfg.chunkLength });
      break;
  }
  cache.set(key, v);
  return v;
}

/** DAP-18 Appendix "VDAF Configuration Encodings". */
export function vdafConfigEncoding(cfg: VdafConfig): Uint8Array {
  const w = new Writer(32);
  switch (cfg.type) {
    case 'Prio3Count':
      break;
    case 'Prio3Sum':
      w.u64(sumMax(cfg));
      break;
    case 'Prio3SumVec':
      w.u32(cfg.length).u64(2 ** cfg.bits - 1).u32(cfg.chunkLength);
      break;
    case 'Prio3Histogram':
      w.u32(cfg.length).u32(cfg.chunkLength);
      break;
    case 'Prio3MultihotCountVec':
      w.u32(cfg.length).u32(cfg.chunkLength).u64(cfg.maxWeight);
      break;
  }
  return w.finish();
}

/** Checks a measurement against the VDAF description and converts it from JSON (CLI, HTTP) form. */
export function parseMeasurement(cfg: VdafConfig, value: unknown): unknown {
  const int = (x: unknown, max: number, what: string): number => {
    const n = typeof x === 'boolean' ? Number(x) : Number(x);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${what} must be an integer in [0, ${max}], got ${JSON.stringify(x)}`);
    return n;
  };
  switch (cfg.type) {
    case 'Prio3Count':
      return int(value, 1, 'a Count measurement') === 1;
    case 'Prio3Sum':
      return int(value, sumMax(cfg), 'a Sum measurement');
    case 'Prio3Histogram':
      return int(value, cfg.length - 1, 'a Histogram measurement (bucket index)');
    case 'Prio3SumVec': {
      if (!Array.isArray(value) || value.length !== cfg.length) throw new RangeError(`a SumVec measurement must be an array of ${cfg.length} integers`);
      return value.map((x) => int(x, 2 ** cfg.bits - 1, 'a SumVec element'));
    }
    case 'Prio3MultihotCountVec': {
      if (!Array.isArray(value) || value.length !== cfg.length) throw new RangeError(`a MultihotCountVec measurement must be an array of ${cfg.length} booleans`);
      const bools = value.map((x) => x === true || x === 1);
      if (bools.filter(Boolean).length > cfg.maxWeight) throw new RangeError(`at most ${cfg.maxWeight} entries may be set`);
      return bools;
    }
  }
}

/** A JSON-friendly form of an aggregate result (bigints become numbers when safe, else strings). */
export function resultToJson(result: unknown): unknown {
  if (typeof result === 'bigint') return result <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(result) : result.toString();
  if (Array.isArray(result)) return result.map(resultToJson);
  return result;
}
