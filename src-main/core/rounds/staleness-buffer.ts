import type { Model } from '../engine/ir';
import type { SparseScheme } from '../train';
import { aggregateContributions, Q16_ONE, type AggregateResult } from './aggregate';
import { validateDelta, type DeltaRejection } from './delta-validation';
import type { SparseDelta } from './sparse-delta';

/**
 * Buffered asynchronous aggregation (FedBuff-style). Devices train from whatever version they hold;
 * their uploads collect in a buffer, and every `bufferSize` uploads aggregate into the next version.
 *
 * Staleness τ of an upload = the current version's round − the round of the version it trained
 * from. Its weight is samples × s(τ) with s(τ) = 1/sqrt(1+τ), the polynomial discount FedBuff
 * evaluates (it decays slowly enough that slow MCU classes still count, unlike 1/(1+τ)), taken in
 * Q16 as S(τ) = round(65536 / sqrt(1 + τ)) so the arithmetic stays integer (IEEE sqrt and division
 * are correctly rounded, so S is the same on every machine).
 *
 * Stale uploads are **rebased**: what is averaged is the upload's own change (v − its base's
 * value), added to the current model, as FedBuff applies client deltas to the server's latest
 * model. That needs the old base's values, so the buffer keeps the last `maxStaleness` versions;
 * an upload from an older version is refused (TOO_STALE), one from a version it never had is
 * UNKNOWN_BASE, a second upload of a device while its first is buffered is DUPLICATE.
 */

/** A model version the buffer knows. */
export interface BufferVersion {
  model: Model;
  sha256: string;
  /** Round number of the version (the job's base is 0; each aggregation adds 1). */
  round: number;
}

/** Settings of a buffered job. */
export interface StalenessBufferOptions {
  /** Uploads per aggregation (FedBuff's K). */
  bufferSize: number;
  /** Oldest accepted upload, in versions behind the current one. */
  maxStaleness: number;
  /** Server step in Q16 (65536 = 1). */
  serverStepQ16?: number;
}

/** Why the buffer refused an upload. */
export type BufferRejection = DeltaRejection | 'UNKNOWN_BASE' | 'TOO_STALE' | 'DUPLICATE';

/** The outcome of offering an upload to the buffer. */
export type BufferOffer = { ok: true; staleness: number; weight: bigint; ready: boolean } | { ok: false; error: { code: BufferRejection; message: string } };

/** The Q16 staleness factor S(τ) = round(65536 / sqrt(1 + τ)). */
export function stalenessFactorQ16(staleness: number): number {
  if (!Number.isInteger(staleness) || staleness < 0) throw new Error(`staleness must be a non-negative integer, got ${staleness}`);
  return Math.round(Q16_ONE / Math.sqrt(1 + staleness));
}

/** The buffer of one asynchronous job: versions it can rebase from, and the uploads waiting. */
export class StalenessBuffer {
  private readonly versions: BufferVersion[] = [];
  /** Every version's round by hash, kept after its model is dropped (to tell TOO_STALE from UNKNOWN_BASE). */
  private readonly rounds = new Map<string, number>();
  private readonly pending: { device: string; delta: SparseDelta; base: BufferVersion; weight: bigint }[] = [];

  constructor(
    readonly job: string,
    start: BufferVersion,
    readonly options: StalenessBufferOptions,
  ) {
    if (!Number.isInteger(options.bufferSize) || options.bufferSize < 1) throw new Error(`buffer size must be a positive integer, got ${options.bufferSize}`);
    if (!Number.isInteger(options.maxStaleness) || options.maxStaleness < 0) throw new Error(`max staleness must be a non-negative integer, got ${options.maxStaleness}`);
    this.push(start);
  }

  /** The version new uploads are aggregated into. */
  get current(): BufferVersion {
    return this.versions[this.versions.length - 1];
  }

  /** Uploads waiting. */
  get size(): number {
    return this.pending.length;
  }

  /** True once the buffer holds `bufferSize` uploads. */
  get ready(): boolean {
    return this.pending.length >= this.options.bufferSize;
  }

  /** Checks an upload against the version it names and buffers it; never throws on a bad upload. */
  offer(device: string, delta: SparseDelta, scheme?: SparseScheme): BufferOffer {
    const fail = (code: BufferRejection, message: string): BufferOffer => ({ ok: false, error: { code, message } });
    if (this.pending.some((p) => p.device === device)) return fail('DUPLICATE', `device ${device} already has an upload in the buffer`);
    const base = this.versions.find((v) => v.sha256 === delta.baseSha256);
    if (!base) {
      const round = this.rounds.get(delta.baseSha256);
      if (round !== undefined) return fail('TOO_STALE', `upload trained from round ${round}, ${this.current.round - round} behind round ${this.current.round}; at most ${this.options.maxStaleness} are accepted`);
      return fail('UNKNOWN_BASE', `upload trained from base ${delta.baseSha256.slice(0, 12)}…, which is no version of job ${this.job}`);
    }
    const check = validateDelta(delta, base.model, { baseSha256: base.sha256, round: { job: this.job, round: base.round }, scheme });
    if (!check.ok) return check;
    const staleness = this.current.round - base.round;
    const weight = BigInt(delta.metrics.samples) * BigInt(stalenessFactorQ16(staleness));
    this.pending.push({ device, delta, base, weight });
    return { ok: true, staleness, weight, ready: this.ready };
  }

  /** Aggregates the buffered uploads into the next version (the buffer is unchanged until {@link advance}). */
  aggregate(): AggregateResult {
    const current = this.current;
    return aggregateContributions(
      current.model,
      this.pending.map((p) => ({ device: p.device, delta: p.delta, base: p.base.model, weight: p.weight })),
      { baseSha256: current.sha256, round: { job: this.job, round: current.round }, serverStepQ16: this.options.serverStepQ16 },
    );
  }

  /**
   * Makes the aggregated model the current version (once the caller has stored it under `sha256`)
   * and empties the buffer; versions older than `maxStaleness` are dropped.
   */
  advance(model: Model, sha256: string): BufferVersion {
    const version = { model, sha256, round: this.current.round + 1 };
    this.push(version);
    this.pending.length = 0;
    return version;
  }

  private push(version: BufferVersion): void {
    if (this.rounds.has(version.sha256)) throw new Error(`version ${version.sha256.slice(0, 12)}… is already known to job ${this.job}`);
    this.versions.push(version);
    this.rounds.set(version.sha256, version.round);
    while (this.versions.length > this.options.maxStaleness + 1) this.versions.shift();
  }
}
