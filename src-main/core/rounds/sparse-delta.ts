import type { Model } from '../engine/ir';
import { elementCount } from '../engine/ir';
import type { RoundRef } from '../protocol';
import { analyseGraph, int32View, int8View, planBackward, type SparseScheme, type TrainGraph, type TrainableLayer } from '../train';

/**
 * A sparse delta: what a device uploads after its local sparse update, and what the app sends back
 * as an aggregated update. It names the base model it was trained from, the round, the device's
 * metrics, and per updated tensor the entries whose values changed.
 *
 * Coverage matters as much as the changed entries: a tensor section also says which entries the
 * device's scheme let it update (the first `channels` positions of the tensor's last axis: input
 * channels of OHWI conv and [out, in] classifier weights, every entry of a bias). A covered entry
 * that is absent kept its base value, and counts as "updated by 0" when the app averages; an entry
 * outside every device's coverage keeps its base value.
 */
export interface SparseDelta {
  /** SHA-256 (lowercase hex) of the base model version the device trained from. */
  baseSha256: string;
  round: RoundRef;
  metrics: DeltaMetrics;
  /** One section per covered tensor, in ascending tensor id. */
  tensors: DeltaTensor[];
}

/** What the device measured, as float32 on the wire. */
export interface DeltaMetrics {
  /** Local training samples (the aggregation weight), at least 1. */
  samples: number;
  /** Mean training loss of the last local epoch. */
  loss: number;
  /** Held-out accuracy (0-1) of the base model and of the updated one, on the device's data. */
  accuracyBefore: number;
  accuracyAfter: number;
}

/** The updated entries of one int8 weight or int32 bias tensor. */
export interface DeltaTensor {
  /** Tensor id in the base model. */
  tensor: number;
  dtype: 'int8' | 'int32';
  /** Covered entries: those whose position along the last axis is below this (1..last axis length). */
  channels: number;
  /** Flat positions of the changed entries, strictly increasing. */
  indices: Uint32Array;
  /** Their new values (int8 values for int8 tensors), one per index. */
  values: Int32Array;
}

/** A weight or bias tensor a delta may update, as the base model's training graph sees it. */
export interface DeltaTarget {
  tensor: number;
  role: 'weight' | 'bias';
  dtype: 'int8' | 'int32';
  layer: TrainableLayer;
  /** Entries of the tensor. */
  length: number;
  /** Length of its last axis (what `channels` counts). */
  lastAxis: number;
}

/** Range of an int8 weight: symmetric, as TFLite's int8 weights and the device's update keep it. */
export const INT8_WEIGHT_MIN = -127;
export const INT8_WEIGHT_MAX = 127;
export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** A delta that cannot be applied or built; `code` is one of the validation codes. */
export class DeltaError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeltaError';
  }
}

/**
 * The tensors a delta may touch on a model: the weights of CONV_2D and FULLY_CONNECTED layers (the
 * trainer updates no depthwise weights) and the biases of every trainable layer.
 */
export function deltaTargets(graph: TrainGraph): Map<number, DeltaTarget> {
  const targets = new Map<number, DeltaTarget>();
  const add = (layer: TrainableLayer, tensor: number, role: DeltaTarget['role']) => {
    const t = graph.model.tensors[tensor];
    targets.set(tensor, { tensor, role, dtype: role === 'weight' ? 'int8' : 'int32', layer, length: elementCount(t.shape), lastAxis: t.shape[t.shape.length - 1] ?? 1 });
  };
  for (const l of graph.layers) {
    if (l.kind !== 'DEPTHWISE_CONV_2D') add(l, l.weight, 'weight');
    add(l, l.bias, 'bias');
  }
  return targets;
}

/** What a scheme lets a device update on a model: tensor id → covered channels of its last axis. */
export function schemeCoverage(graph: TrainGraph, scheme: SparseScheme): Map<number, number> {
  const coverage = new Map<number, number>();
  for (const u of planBackward(graph, scheme).updates) {
    if (u.bias) coverage.set(u.layer.bias, u.layer.outChannels);
    if (u.weightChannels > 0) coverage.set(u.layer.weight, u.weightChannels);
  }
  return coverage;
}

/** The live values of a target tensor of a model. */
export function targetValues(model: Model, target: Pick<DeltaTarget, 'tensor' | 'dtype'>): Int8Array | Int32Array {
  const t = model.tensors[target.tensor];
  return target.dtype === 'int8' ? int8View(t) : int32View(t);
}

/** What a device knows besides the two models when it builds its delta. */
export interface DeltaContext {
  scheme: SparseScheme;
  baseSha256: string;
  round: RoundRef;
  metrics: DeltaMetrics;
}

/**
 * The delta from `base` to `trained` (a local sparse update of it under `context.scheme`): every
 * tensor the scheme covers, with the entries whose values differ. Throws when `trained` changed
 * anything the scheme does not cover (a trainer bug, not device input).
 */
export function extractDelta(base: Model, trained: Model, context: DeltaContext): SparseDelta {
  const graph = analyseGraph(base);
  const coverage = schemeCoverage(graph, context.scheme);
  const tensors: DeltaTensor[] = [];
  for (const target of [...deltaTargets(graph).values()].sort((a, b) => a.tensor - b.tensor)) {
    const before = targetValues(base, target);
    const after = targetValues(trained, target);
    if (after.length !== before.length) throw new DeltaError('DTYPE_MISMATCH', `tensor ${target.tensor} has ${after.length} entries in the trained model, ${before.length} in the base`);
    const channels = coverage.get(target.tensor) ?? 0;
    const indices: number[] = [];
    for (let i = 0; i < before.length; i++) {
      if (after[i] === before[i]) continue;
      if (i % target.lastAxis >= channels) throw new DeltaError('OUTSIDE_COVERAGE', `the trained model changed entry ${i} of tensor ${target.tensor}, which the scheme does not update`);
      indices.push(i);
    }
    if (channels === 0) continue;
    tensors.push({ tensor: target.tensor, dtype: target.dtype, channels, indices: Uint32Array.from(indices), values: Int32Array.from(indices, (i) => after[i]) });
  }
  const m = context.metrics;
  return {
    baseSha256: context.baseSha256,
    round: { job: context.round.job, round: context.round.round },
    // Stored as the wire's float32, so a decoded delta equals the one that was encoded.
    metrics: { samples: m.samples, loss: Math.fround(m.loss), accuracyBefore: Math.fround(m.accuracyBefore), accuracyAfter: Math.fround(m.accuracyAfter) },
    tensors,
  };
}

/**
 * The delta that takes a device from one version of a model to a later one (a buffered job's
 * catch-up, after several aggregations): every trainable tensor whose values differ, covered whole,
 * with the entries that changed. Both models must share the graph (versions of one model do).
 */
export function diffModels(from: Model, to: Model, context: Pick<DeltaContext, 'baseSha256' | 'round'>): SparseDelta {
  const tensors: DeltaTensor[] = [];
  for (const target of [...deltaTargets(analyseGraph(from)).values()].sort((a, b) => a.tensor - b.tensor)) {
    const before = targetValues(from, target);
    const after = targetValues(to, target);
    if (after.length !== before.length) throw new DeltaError('DTYPE_MISMATCH', `tensor ${target.tensor} has ${after.length} entries in the later version, ${before.length} in the earlier`);
    const indices: number[] = [];
    for (let i = 0; i < before.length; i++) if (after[i] !== before[i]) indices.push(i);
    if (indices.length === 0) continue;
    tensors.push({ tensor: target.tensor, dtype: target.dtype, channels: target.lastAxis, indices: Uint32Array.from(indices), values: Int32Array.from(indices, (i) => after[i]) });
  }
  return { baseSha256: context.baseSha256, round: { job: context.round.job, round: context.round.round }, metrics: { samples: 1, loss: 0, accuracyBefore: 0, accuracyAfter: 0 }, tensors };
}
