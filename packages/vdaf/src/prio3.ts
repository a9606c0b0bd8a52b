// Prio3 (VDAF-08 and VDAF-20): sharding, preparation, aggregation, unsharding and every message encoding.
import { concat, equalBytes } from './bytes.js';
import { randomBytes } from './random.js';
import type { Field } from './field.js';
import { type Circuit, Flp, FlpError } from './flp.js';
import { MeasurementError } from './circuits.js';
import { type Generation, seedSizeOf, xofBytes, xofVec } from './xof.js';

/** Verification failure, malformed message or invalid measurement. */
export class VdafError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VdafError';
  }
}

export interface Prio3PrepState {
  readonly aggId: number;
  /** Output share (field elements). */
  readonly outShare: Uint32Array;
  /** Joint randomness seed recomputed with this aggregator's part, if the circuit uses joint randomness. */
  readonly correctedJointRandSeed: Uint8Array | null;
}

/** A decoded input share: the leader's field vectors, or a helper's seed(s); plus the blind if any. */
export interface Prio3InputShare {
  readonly measShare: Uint32Array | null;
  readonly proofsShare: Uint32Array | null;
  /** Helper only: [share seed] at draft-20, [measurement seed, proof seed] at draft-08. */
  readonly seeds: readonly Uint8Array[];
  readonly blind: Uint8Array | null;
}

/** A decoded prep share (verifier share): verifier elements for every proof, plus the joint randomness part. */
export interface Prio3PrepShare {
  readonly verifiersShare: Uint32Array;
  readonly jointRandPart: Uint8Array | null;
}

export interface Prio3OutputShare {
  readonly data: Uint32Array;
}

export interface Prio3AggregateShare {
  readonly data: Uint32Array;
}

const USAGE_MEAS_SHARE = 1;
const USAGE_PROOF_SHARE = 2;
const USAGE_JOINT_RANDOMNESS = 3;
const USAGE_PROVE_RANDOMNESS = 4;
const USAGE_QUERY_RANDOMNESS = 5;
const USAGE_JOINT_RAND_SEED = 6;
const USAGE_JOINT_RAND_PART = 7;

const EMPTY = new Uint8Array(0);
const NO_ELEMENTS = new Uint32Array(0);

/** Single-byte binders, allocated once. */
const BYTE: readonly Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));

function bytesOf(v: Uint32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

export interface Prio3Options {
  numShares?: number;
  numProofs?: number;
}

export class Prio3<M, R> {
  readonly shares: number;
  readonly proofs: number;
  readonly verifyKeySize: number;
  readonly nonceSize = 16;
  readonly randSize: number;
  readonly seedSize: number;
  readonly flp: Flp<M, R>;
  readonly field: Field;
  private readonly usesJointRand: boolean;
  private readonly dstPrefix: Uint8Array;
  private readonly dstCache: ({ ctx: Uint8Array; dst: Uint8Array } | undefined)[] = [];

  constructor(
    readonly generation: Generation,
    readonly algorithmId: number,
    circuit: Circuit<M, R>,
    opts: Prio3Options = {},
  ) {
    const shares = opts.numShares ?? 2;
    const proofs = opts.numProofs ?? 1;
    if (!Number.isInteger(shares) || shares < 2 || shares > 255) throw new RangeError('numShares must be in [2, 255]');
    if (!Number.isInteger(proofs) || proofs < 1 || proofs > 255) throw new RangeError('numProofs must be in [1, 255]');
    this.shares = shares;
    this.proofs = proofs;
    this.flp = new Flp(generation, circuit);
    this.field = circuit.field;
    this.seedSize = seedSizeOf(generation);
    this.verifyKeySize = this.seedSize;
    this.usesJointRand = circuit.jointRandLen > 0;
    const s = this.seedSize;
    if (generation === 'draft-08') {
      this.randSize = s * (1 + 2 * (shares - 1) + (this.usesJointRand ? shares : 0));
    } else {
      this.randSize = s * shares * (this.usesJointRand ? 2 : 1);
    }
    const version = generation === 'draft-08' ? 8 : 18;
    this.dstPrefix = Uint8Array.of(version, 0, (algorithmId >>> 24) & 0xff, (algorithmId >>> 16) & 0xff, (algorithmId >>> 8) & 0xff, algorithmId & 0xff);
  }

  private dst(usage: number, ctx: Uint8Array): Uint8Array {
    // Cached per usage for the last context seen (a DAP task reuses one context for all its reports).
    const withCtx = this.generation === 'draft-08' ? EMPTY : ctx;
    const hit = this.dstCache[usage];
    if (hit !== undefined && (hit.ctx === withCtx || equalBytes(hit.ctx, withCtx))) return hit.dst;
    const d = new Uint8Array(8 + withCtx.length);
    d.set(this.dstPrefix, 0);
    d[6] = usage >>> 8;
    d[7] = usage & 0xff;
    d.set(withCtx, 8);
    this.dstCache[usage] = { ctx: new Uint8Array(withCtx), dst: d };
    return d;
  }

  private vec(seed: Uint8Array, usage: number, ctx: Uint8Array, binder: readonly Uint8Array[], length: number): Uint32Array {
    return xofVec(this.generation, this.field, seed, this.dst(usage, ctx), binder, length);
  }

  private seed(seed: Uint8Array, usage: number, ctx: Uint8Array, binder: readonly Uint8Array[]): Uint8Array {
    return xofBytes(this.generation, seed, this.dst(usage, ctx), binder, this.seedSize);
  }

  private helperMeasShare(ctx: Uint8Array, aggId: number, seed: Uint8Array): Uint32Array {
    return this.vec(seed, USAGE_MEAS_SHARE, ctx, [BYTE[aggId]!], this.flp.measLen);
  }

  private helperProofsShare(ctx: Uint8Array, aggId: number, seed: Uint8Array): Uint32Array {
    return this.vec(seed, USAGE_PROOF_SHARE, ctx, [BYTE[this.proofs]!, BYTE[aggId]!], this.flp.proofLen * this.proofs);
  }

  private jointRandPart(ctx: Uint8Array, aggId: number, blind: Uint8Array, measShare: Uint32Array, nonce: Uint8Array): Uint8Array {
    return this.seed(blind, USAGE_JOINT_RAND_PART, ctx, [BYTE[aggId]!, nonce, bytesOf(measShare)]);
  }

  private jointRandSeed(ctx: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    return this.seed(new Uint8Array(this.seedSize), USAGE_JOINT_RAND_SEED, ctx, parts);
  }

  private jointRands(ctx: Uint8Array, seed: Uint8Array): Uint32Array {
    return this.vec(seed, USAGE_JOINT_RANDOMNESS, ctx, [BYTE[this.proofs]!], this.flp.jointRandLen * this.proofs);
  }

  private proveRands(ctx: Uint8Array, seed: Uint8Array): Uint32Array {
    return this.vec(seed, USAGE_PROVE_RANDOMNESS, ctx, [BYTE[this.proofs]!], this.flp.proveRandLen * this.proofs);
  }

  private queryRands(verifyKey: Uint8Array, ctx: Uint8Array, nonce: Uint8Array): Uint32Array {
    return this.vec(verifyKey, USAGE_QUERY_RANDOMNESS, ctx, [BYTE[this.proofs]!, nonce], this.flp.queryRandLen * this.proofs);
  }

  shard(measurement: M, nonce: Uint8Array, rand: Uint8Array, ctx: Uint8Array = EMPTY): { publicShare: Uint8Array; inputShares: Uint8Array[] } {
    if (nonce.length !== this.nonceSize) throw new VdafError(`nonce must be ${this.nonceSize} bytes`);
    if (rand.length !== this.randSize) throw new VdafError(`rand must be ${this.randSize} bytes`);
    let meas: Uint32Array;
    try {
      meas = this.flp.circuit.encode(measurement);
    } catch (e) {
      if (e instanceof MeasurementError) throw new VdafError(`invalid measurement: ${e.message}`, { cause: e });
      throw e;
    }
    const f = this.field;
    const s = this.seedSize;
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < this.randSize; i += s) seeds.push(rand.subarray(i, i + s));
    const helpers = this.shares - 1;
    const per = this.generation === 'draft-08' ? (this.usesJointRand ? 3 : 2) : this.usesJointRand ? 2 : 1;
    const helperMeasSeeds: Uint8Array[] = [];
    const helperProofSeeds: Uint8Array[] = [];
    const helperBlinds: Uint8Array[] = [];
    for (let j = 0; j < helpers; j++) {
      const base = j * per;
      helperMeasSeeds.push(seeds[base]!);
      if (this.generation === 'draft-08') {
        helperProofSeeds.push(seeds[base + 1]!);
        if (this.usesJointRand) helperBlinds.push(seeds[base + 2]!);
      } else {
        helperProofSeeds.push(seeds[base]!);
        if (this.usesJointRand) helperBlinds.push(seeds[base + 1]!);
      }
    }
    let next = helpers * per;
    const leaderBlind = this.usesJointRand ? seeds[next++]! : null;
    const proveSeed = seeds[next++]!;

    const leaderMeas = meas.slice();
    const parts: Uint8Array[] = [];
    for (let j = 0; j < helpers; j++) {
      const hm = this.helperMeasShare(ctx, j + 1, helperMeasSeeds[j]!);
      for (let i = 0; i < this.flp.measLen; i++) f.sub(leaderMeas, i, leaderMeas, i, hm, i);
      if (this.usesJointRand) parts.push(this.jointRandPart(ctx, j + 1, helperBlinds[j]!, hm, nonce));
    }
    let jointRands: Uint32Array = NO_ELEMENTS;
    if (this.usesJointRand) {
      parts.unshift(this.jointRandPart(ctx, 0, leaderBlind!, leaderMeas, nonce));
      jointRands = this.jointRands(ctx, this.jointRandSeed(ctx, parts));
    }
    const proveRands = this.proveRands(ctx, proveSeed);
    const proofs = f.vec(this.flp.proofLen * this.proofs);
    for (let i = 0; i < this.proofs; i++) {
      this.flp.prove(meas, proveRands, i * this.flp.proveRandLen, jointRands, i * this.flp.jointRandLen, proofs, i * this.flp.proofLen);
    }
    for (let j = 0; j < helpers; j++) {
      const hp = this.helperProofsShare(ctx, j + 1, helperProofSeeds[j]!);
      for (let i = 0; i < hp.length / f.words; i++) f.sub(proofs, i, proofs, i, hp, i);
    }
    const inputShares: Uint8Array[] = [];
    inputShares.push(concat(bytesOf(leaderMeas), bytesOf(proofs), ...(leaderBlind ? [leaderBlind] : [])));
    for (let j = 0; j < helpers; j++) {
      const pieces = this.generation === 'draft-08' ? [helperMeasSeeds[j]!, helperProofSeeds[j]!] : [helperMeasSeeds[j]!];
      if (this.usesJointRand) pieces.push(helperBlinds[j]!);
      inputShares.push(concat(...pieces));
    }
    return { publicShare: this.usesJointRand ? concat(...parts) : new Uint8Array(0), inputShares };
  }

  /** shard() with fresh randomness (and a fresh nonce unless one is given). */
  shardRandom(measurement: M, nonce?: Uint8Array, ctx: Uint8Array = EMPTY): { nonce: Uint8Array; publicShare: Uint8Array; inputShares: Uint8Array[] } {
    const n = nonce ?? randomBytes(this.nonceSize);
    return { nonce: n, ...this.shard(measurement, n, randomBytes(this.randSize), ctx) };
  }

  /** Expected encoded length of an aggregator's input share. */
  inputShareSize(aggId: number): number {
    const s = this.seedSize;
    const blind = this.usesJointRand ? s : 0;
    if (aggId === 0) return (this.flp.measLen + this.flp.proofLen * this.proofs) * this.field.encodedSize + blind;
    return (this.generation === 'draft-08' ? 2 * s : s) + blind;
  }

  publicShareSize(): number {
    return this.usesJointRand ? this.seedSize * this.shares : 0;
  }

  prepShareSize(): number {
    return this.flp.verifierLen * this.proofs * this.field.encodedSize + (this.usesJointRand ? this.seedSize : 0);
  }

  private checkAggId(aggId: number): void {
    if (!Number.isInteger(aggId) || aggId < 0 || aggId >= this.shares) throw new VdafError(`aggregator id ${aggId} out of range`);
  }

  private decodeVec(bytes: Uint8Array, what: string): Uint32Array {
    try {
      return this.field.decode(bytes);
    } catch (e) {
      throw new VdafError(`${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Joint randomness parts of the public share (empty when the circuit has no joint randomness). */
  decodePublicShare(bytes: Uint8Array): Uint8Array[] {
    if (bytes.length !== this.publicShareSize()) throw new VdafError(`public share has length ${bytes.length}, expected ${this.publicShareSize()}`);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += this.seedSize) parts.push(bytes.subarray(i, i + this.seedSize));
    return parts;
  }

  encodePublicShare(parts: readonly Uint8Array[]): Uint8Array {
    const out = concat(...parts);
    if (out.length !== this.publicShareSize()) throw new VdafError('wrong number or size of joint randomness parts');
    return out;
  }

  decodeInputShare(aggId: number, bytes: Uint8Array): Prio3InputShare {
    this.checkAggId(aggId);
    if (bytes.length !== this.inputShareSize(aggId)) throw new VdafError(`input share has length ${bytes.length}, expected ${this.inputShareSize(aggId)}`);
    const s = this.seedSize;
    if (aggId === 0) {
      const measBytes = this.flp.measLen * this.field.encodedSize;
      const proofBytes = this.flp.proofLen * this.proofs * this.field.encodedSize;
      return {
        measShare: this.decodeVec(bytes.subarray(0, measBytes), 'measurement share'),
        proofsShare: this.decodeVec(bytes.subarray(measBytes, measBytes + proofBytes), 'proof share'),
        seeds: [],
        blind: this.usesJointRand ? bytes.subarray(measBytes + proofBytes) : null,
      };
    }
    const nSeeds = this.generation === 'draft-08' ? 2 : 1;
    const seeds = Array.from({ length: nSeeds }, (_, i) => bytes.subarray(i * s, (i + 1) * s));
    return { measShare: null, proofsShare: null, seeds, blind: this.usesJointRand ? bytes.subarray(nSeeds * s) : null };
  }

  encodeInputShare(share: Prio3InputShare): Uint8Array {
    const tail = share.blind ? [share.blind] : [];
    if (share.measShare && share.proofsShare) return concat(this.field.encode(share.measShare), this.field.encode(share.proofsShare), ...tail);
    return concat(...share.seeds, ...tail);
  }

  decodePrepShare(bytes: Uint8Array): Prio3PrepShare {
    if (bytes.length !== this.prepShareSize()) throw new VdafError(`prep share has length ${bytes.length}, expected ${this.prepShareSize()}`);
    const vBytes = this.flp.verifierLen * this.proofs * this.field.encodedSize;
    return {
      verifiersShare: this.decodeVec(bytes.subarray(0, vBytes), 'prep share'),
      jointRandPart: this.usesJointRand ? bytes.subarray(vBytes) : null,
    };
  }

  encodePrepShare(share: Prio3PrepShare): Uint8Array {
    const v = this.field.encode(share.verifiersShare);
    return share.jointRandPart ? concat(v, share.jointRandPart) : v;
  }

  /** The joint randomness seed carried by the prep message, or null for circuits without joint randomness. */
  decodePrepMessage(bytes: Uint8Array): Uint8Array | null {
    const expected = this.usesJointRand ? this.seedSize : 0;
    if (bytes.length !== expected) throw new VdafError(`prep message has length ${bytes.length}, expected ${expected}`);
    return this.usesJointRand ? bytes : null;
  }

  encodePrepMessage(jointRandSeed: Uint8Array | null): Uint8Array {
    return jointRandSeed ? new Uint8Array(jointRandSeed) : EMPTY;
  }

  prepInit(
    verifyKey: Uint8Array,
    aggId: number,
    nonce: Uint8Array,
    publicShare: Uint8Array,
    inputShare: Uint8Array,
    ctx: Uint8Array = EMPTY,
  ): { state: Prio3PrepState; prepShare: Uint8Array } {
    if (verifyKey.length !== this.verifyKeySize) throw new VdafError(`verify key must be ${this.verifyKeySize} bytes`);
    if (nonce.length !== this.nonceSize) throw new VdafError(`nonce must be ${this.nonceSize} bytes`);
    const parts = this.decodePublicShare(publicShare);
    const share = this.decodeInputShare(aggId, inputShare);
    const f = this.field;
    const flp = this.flp;
    let measShare: Uint32Array;
    let proofsShare: Uint32Array;
    if (aggId === 0) {
      measShare = share.measShare!;
      proofsShare = share.proofsShare!;
    } else {
      measShare = this.helperMeasShare(ctx, aggId, share.seeds[0]!);
      proofsShare = this.helperProofsShare(ctx, aggId, share.seeds[share.seeds.length - 1]!);
    }
    const blind = share.blind;
    const outShare = flp.circuit.truncate(measShare);

    let jointRands: Uint32Array = NO_ELEMENTS;
    let corrected: Uint8Array | null = null;
    let part: Uint8Array | null = null;
    if (this.usesJointRand) {
      part = this.jointRandPart(ctx, aggId, blind!, measShare, nonce);
      parts[aggId] = part;
      corrected = this.jointRandSeed(ctx, parts);
      jointRands = this.jointRands(ctx, corrected);
    }
    const queryRands = this.queryRands(verifyKey, ctx, nonce);
    const verifiers = f.vec(flp.verifierLen * this.proofs);
    for (let i = 0; i < this.proofs; i++) {
      let v: Uint32Array;
      try {
        v = flp.query(measShare, proofsShare, i * flp.proofLen, queryRands, i * flp.queryRandLen, jointRands, i * flp.jointRandLen, this.shares);
      } catch (e) {
        if (e instanceof FlpError) throw new VdafError(e.message, { cause: e });
        throw e;
      }
      verifiers.set(v, i * flp.verifierLen * f.words);
    }
    const prepShare = part ? concat(bytesOf(verifiers), part) : f.encode(verifiers);
    return { state: { aggId, outShare, correctedJointRandSeed: corrected }, prepShare };
  }

  /** Combine all aggregators' prep shares; throws VdafError if a proof is rejected. */
  prepSharesToPrep(prepShares: readonly Uint8Array[], ctx: Uint8Array = EMPTY): Uint8Array {
    if (prepShares.length !== this.shares) throw new VdafError(`expected ${this.shares} prep shares, got ${prepShares.length}`);
    const f = this.field;
    const flp = this.flp;
    const verifiers = f.vec(flp.verifierLen * this.proofs);
    const parts: Uint8Array[] = [];
    for (const ps of prepShares) {
      const { verifiersShare, jointRandPart } = this.decodePrepShare(ps);
      for (let i = 0; i < verifiersShare.length / f.words; i++) f.add(verifiers, i, verifiers, i, verifiersShare, i);
      if (jointRandPart) parts.push(jointRandPart);
    }
    for (let i = 0; i < this.proofs; i++) {
      if (!flp.decide(verifiers, i * flp.verifierLen)) throw new VdafError('proof verifier check failed');
    }
    return this.usesJointRand ? this.jointRandSeed(ctx, parts) : EMPTY;
  }

  prepNext(state: Prio3PrepState, prepMessage: Uint8Array): Prio3OutputShare {
    const seed = this.decodePrepMessage(prepMessage);
    if (seed !== null && !equalBytes(seed, state.correctedJointRandSeed!)) throw new VdafError('joint randomness check failed');
    return { data: state.outShare };
  }

  encodePrepState(state: Prio3PrepState): Uint8Array {
    const out = this.field.encode(state.outShare);
    return state.correctedJointRandSeed ? concat(out, state.correctedJointRandSeed) : out;
  }

  decodePrepState(aggId: number, bytes: Uint8Array): Prio3PrepState {
    this.checkAggId(aggId);
    const outBytes = this.flp.outputLen * this.field.encodedSize;
    const expected = outBytes + (this.usesJointRand ? this.seedSize : 0);
    if (bytes.length !== expected) throw new VdafError(`prep state has length ${bytes.length}, expected ${expected}`);
    return {
      aggId,
      outShare: this.decodeVec(bytes.subarray(0, outBytes), 'prep state'),
      correctedJointRandSeed: this.usesJointRand ? new Uint8Array(bytes.subarray(outBytes)) : null,
    };
  }

  aggregate(outShares: Iterable<Prio3OutputShare>): Prio3AggregateShare {
    const f = this.field;
    const n = this.flp.outputLen;
    const agg = f.vec(n);
    for (const o of outShares) {
      if (o.data.length !== agg.length) throw new VdafError('output share has the wrong length');
      for (let i = 0; i < n; i++) f.add(agg, i, agg, i, o.data, i);
    }
    return { data: agg };
  }

  mergeAggregateShares(a: Prio3AggregateShare, b: Prio3AggregateShare): Prio3AggregateShare {
    return this.aggregate([a, b]);
  }

  encodeAggregateShare(s: Prio3AggregateShare): Uint8Array {
    return this.field.encode(s.data);
  }

  decodeAggregateShare(bytes: Uint8Array): Prio3AggregateShare {
    if (bytes.length !== this.flp.outputLen * this.field.encodedSize) throw new VdafError('aggregate share has the wrong length');
    return { data: this.decodeVec(bytes, 'aggregate share') };
  }

  encodeOutputShare(s: Prio3OutputShare): Uint8Array {
    return this.field.encode(s.data);
  }

  decodeOutputShare(bytes: Uint8Array): Prio3OutputShare {
    if (bytes.length !== this.flp.outputLen * this.field.encodedSize) throw new VdafError('output share has the wrong length');
    return { data: this.decodeVec(bytes, 'output share') };
  }

  unshard(encodedAggregateShares: readonly Uint8Array[], numMeasurements: number): R {
    if (encodedAggregateShares.length !== this.shares) throw new VdafError(`expected ${this.shares} aggregate shares`);
    const agg = this.aggregate(encodedAggregateShares.map((b) => this.decodeAggregateShare(b)));
    return this.flp.circuit.decode(agg.data, numMeasurements);
  }
}
