import type { Model } from '../engine/ir';
import type { RoundRef } from '../protocol';
import { analyseGraph, cloneModel } from '../train';
import { validateDelta } from './delta-validation';
import { DeltaError, deltaTargets, INT32_MAX, INT32_MIN, INT8_WEIGHT_MAX, INT8_WEIGHT_MIN, targetValues, type DeltaTarget, type DeltaTensor, type SparseDelta } from './sparse-delta';

/**
 * Weighted FedAvg over exactly the entries each device updated, in integers only (docs/rounds.md).
 *
 * For an entry e of the current model (value c_e), let D_e be the contributions whose coverage
 * includes e, W_i their integer weights, b_i,e the value of e in the base contribution i trained
 * from, and v_i,e its value after training (b_i,e when the delta does not list e). With the server
 * step η = L / 65536 (Q16, L = 65536 by default):
 *
 *   new_e = clamp( c_e + roundHalfAwayFromZero( L · Σ_i W_i (v_i,e − b_i,e) / (65536 · Σ_i W_i) ) )
 *
 * computed exactly in integers (BigInt, or doubles where no sum can pass 2^53), rounded once, ties away from zero (0.5 → 1,
 * −0.5 → −1), and clamped to −127..127 for int8 weights (symmetric, as the device keeps them) and
 * to int32 for biases. Entries no contribution covers keep c_e. In a synchronous round every base
 * is the current model, so b_i,e = c_e and W_i is the sample count; the buffered mode passes older
 * bases and staleness-discounted weights (staleness-buffer.ts).
 */

/** 1.0 in the Q16 fixed point of server steps and staleness factors. */
export const Q16_ONE = 65536;

/** One device's validated upload, with the model it trained from and its integer weight. */
export interface Contribution {
  device: string;
  delta: SparseDelta;
  /** The model the delta was trained from (the current model in a synchronous round). */
  base: Model;
  /** At least 1: the sample count, times a Q16 staleness factor in the buffered mode. */
  weight: bigint;
}

/** Settings of one aggregation. */
export interface AggregateOptions {
  /** SHA-256 of the current model and the round the aggregated delta belongs to. */
  baseSha256: string;
  round: RoundRef;
  /** Server step η in Q16 (65536 = 1, plain FedAvg). */
  serverStepQ16?: number;
}

/** What an aggregation produced. */
export interface AggregateResult {
  /** The new model (a copy; the current model is not modified). */
  model: Model;
  /** The aggregated delta from the current model to the new one (what devices on it take). */
  delta: SparseDelta;
  participants: string[];
  totalWeight: bigint;
  /** Entries some contribution covered. */
  entriesCovered: number;
  /** Entries whose value changed. */
  entriesChanged: number;
  /** Entries whose average fell outside the dtype range and were clamped. */
  entriesClamped: number;
}

/** round(p / q) with ties away from zero, for q > 0, exactly. */
export function roundHalfAwayFromZero(p: bigint, q: bigint): bigint {
  if (q <= 0n) throw new Error(`divisor must be > 0, got ${q}`);
  const a = p < 0n ? -p : p;
  const r = (2n * a + q) / (2n * q);
  return p < 0n ? -r : r;
}

/**
 * Synchronous weighted FedAvg: every upload was trained from `current` and weighs its sample count.
 * Throws a {@link DeltaError} naming the device when an upload does not fit the current model.
 */
export function fedAvg(current: Model, uploads: readonly { device: string; delta: SparseDelta }[], options: AggregateOptions): AggregateResult {
  return aggregateContributions(
    current,
    uploads.map((u) => ({ device: u.device, delta: u.delta, base: current, weight: BigInt(u.delta.metrics.samples) })),
    options,
  );
}

/** The general aggregation of the formula above (contributions may come from older bases). */
export function aggregateContributions(current: Model, contributions: readonly Contribution[], options: AggregateOptions): AggregateResult {
  const stepQ16 = BigInt(options.serverStepQ16 ?? Q16_ONE);
  if (stepQ16 < 1n) throw new Error(`server step must be > 0 (Q16), got ${options.serverStepQ16}`);
  if (contributions.length === 0) throw new Error('nothing to aggregate: no contributions');
  const seen = new Set<string>();
  for (const c of contributions) {
    if (seen.has(c.device)) throw new DeltaError('DUPLICATE', `device ${c.device} contributes twice`);
    seen.add(c.device);
    if (c.weight < 1n) throw new Error(`device ${c.device} has weight ${c.weight}; weights are at least 1`);
    const check = validateDelta(c.delta, c.base);
    if (!check.ok) throw new DeltaError(check.error.code, `device ${c.device}: ${check.error.message}`);
  }
  const targets = deltaTargets(analyseGraph(current));
  const sections = new Map<number, { c: Contribution; t: DeltaTensor }[]>();
  for (const c of contributions) {
    for (const t of c.delta.tensors) {
      if (!targets.has(t.tensor)) throw new DeltaError('UNKNOWN_TENSOR', `device ${c.device} updates tensor ${t.tensor}, which the current model cannot train`);
      sections.set(t.tensor, [...(sections.get(t.tensor) ?? []), { c, t }]);
    }
  }

  const next = cloneModel(current);
  const outTensors: DeltaTensor[] = [];
  let entriesCovered = 0;
  let entriesChanged = 0;
  let entriesClamped = 0;
  for (const id of [...sections.keys()].sort((a, b) => a - b)) {
    const target = targets.get(id)!;
    const list = sections.get(id)!;
    const [lo, hi] = target.dtype === 'int8' ? [INT8_WEIGHT_MIN, INT8_WEIGHT_MAX] : [INT32_MIN, INT32_MAX];
    const cur = targetValues(current, target);
    const out = targetValues(next, target);
    // Σ W_i over the contributions covering channel ch: suffix sums over their covered channel counts.
    const denominators = new Array<bigint>(target.lastAxis + 1).fill(0n);
    for (const { c, t } of list) denominators[t.channels - 1] += c.weight;
    for (let ch = target.lastAxis - 1; ch >= 0; ch--) denominators[ch] += denominators[ch + 1];
    const maxChannels = Math.max(...list.map((s) => s.t.channels));
    entriesCovered += (target.length / target.lastAxis) * maxChannels;
    for (const { c } of list) {
      const base = c.base === current ? cur : targetValues(c.base, target);
      if (base.length !== cur.length) throw new DeltaError('BASE_MISMATCH', `device ${c.device} trained from a model whose tensor ${id} has ${base.length} entries, not ${cur.length}`);
    }
    const numerators = weightedChanges(current, cur, target, list);
    const indices: number[] = [];
    for (const [i, numerator] of numerators) {
      const step = roundHalfAwayFromZero(numerator * stepQ16, denominators[i % target.lastAxis] * BigInt(Q16_ONE));
      const exact = BigInt(cur[i]) + step;
      const value = exact > BigInt(hi) ? hi : exact < BigInt(lo) ? lo : Number(exact);
      if (BigInt(value) !== exact) entriesClamped++;
      if (value === cur[i]) continue;
      out[i] = value;
      indices.push(i);
    }
    entriesChanged += indices.length;
    outTensors.push({ tensor: id, dtype: target.dtype, channels: maxChannels, indices: Uint32Array.from(indices), values: Int32Array.from(indices, (i) => out[i]) });
  }
  const totalWeight = contributions.reduce((a, c) => a + c.weight, 0n);
  return {
    model: next,
    delta: { baseSha256: options.baseSha256, round: { ...options.round }, metrics: aggregateMetrics(contributions, totalWeight), tensors: outTensors },
    participants: contributions.map((c) => c.device),
    totalWeight,
    entriesCovered,
    entriesChanged,
    entriesClamped,
  };
}

/** Largest |v - b| of a dtype: int8 weights span -127..127, int32 biases 2^32 - 1. */
const MAX_CHANGE = { int8: 254n, int32: 4294967295n } as const;

/**
 * Σ_i W_i·(v_i,e − b_i,e) for every entry e of one tensor with a non-zero sum, ascending. The sums
 * are exact either way: in doubles when no partial sum can pass 2^53 (Σ W_i times the largest
 * change stays below it: the common case, several times faster), in BigInt otherwise.
 */
function weightedChanges(current: Model, cur: Int8Array | Int32Array, target: DeltaTarget, list: readonly { c: Contribution; t: DeltaTensor }[]): [number, bigint][] {
  const baseOf = (c: Contribution) => (c.base === current ? cur : targetValues(c.base, target));
  const weight = list.reduce((a, s) => a + s.c.weight, 0n);
  if (weight * MAX_CHANGE[target.dtype] <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const sums = new Float64Array(target.length);
    for (const { c, t } of list) {
      const base = baseOf(c);
      const w = Number(c.weight);
      for (let n = 0; n < t.indices.length; n++) sums[t.indices[n]] += w * (t.values[n] - base[t.indices[n]]);
    }
    const out: [number, bigint][] = [];
    for (let i = 0; i < sums.length; i++) if (sums[i] !== 0) out.push([i, BigInt(sums[i])]);
    return out;
  }
  const sums = new Map<number, bigint>();
  for (const { c, t } of list) {
    const base = baseOf(c);
    for (let n = 0; n < t.indices.length; n++) {
      const i = t.indices[n];
      const diff = t.values[n] - base[i];
      if (diff !== 0) sums.set(i, (sums.get(i) ?? 0n) + c.weight * BigInt(diff));
    }
  }
  return [...sums].filter(([, v]) => v !== 0n).sort((a, b) => a[0] - b[0]);
}

/** The aggregated delta's header: summed samples, and the weighted means of the devices' metrics. */
function aggregateMetrics(contributions: readonly Contribution[], totalWeight: bigint): SparseDelta['metrics'] {
  const total = Number(totalWeight);
  const mean = (f: (d: SparseDelta['metrics']) => number) => Math.fround(contributions.reduce((a, c) => a + Number(c.weight) * f(c.delta.metrics), 0) / total);
  return {
    samples: Math.min(0xffff_ffff, contributions.reduce((a, c) => a + c.delta.metrics.samples, 0)),
    loss: mean((m) => m.loss),
    accuracyBefore: mean((m) => m.accuracyBefore),
    accuracyAfter: mean((m) => m.accuracyAfter),
  };
}
