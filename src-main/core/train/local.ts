import type { Model } from '../engine/ir';
import type { RoundingMode } from '../engine/runtime/requantize';
import type { DeviceDataOptions } from './data/device-data';
import { createDeviceData } from './data/device-data';
import type { Task } from './data/task';
import { engineRunner } from './sparse/engine-runner';
import type { TrainableLayer } from './sparse/graph';
import type { SparseScheme } from './sparse/scheme';
import type { SparseProgress, SparseTrainOptions } from './sparse/trainer';
import { SparseTrainer } from './sparse/trainer';

/** Settings of one device's local training session. */
export interface LocalTrainingOptions extends Omit<SparseTrainOptions, 'scheme'> {
  scheme: SparseScheme;
  epochs?: number;
  data?: DeviceDataOptions;
  rounding?: RoundingMode;
  signal?: AbortSignal;
  onProgress?: (p: SparseProgress) => void;
}

/** What one layer's update changed, from the backward plan (what a delta of the round may carry). */
export interface LayerUpdateSummary {
  op: number;
  kind: TrainableLayer['kind'];
  /** Input channels whose weights were updated (the first k); 0 for none. */
  k: number;
  /** The int8 weight tensor when k > 0. */
  weightTensor?: number;
  /** The int32 bias tensor when the bias was updated. */
  biasTensor?: number;
}

/** Outcome of a device's local training. */
export interface LocalTrainingResult {
  deviceSeed: number;
  /** Held-out accuracy of the global int8 model on the device's shifted data. */
  before: number;
  /** Held-out accuracy after the local sparse update. */
  after: number;
  trainSamples: number;
  /** Mean training loss of the last epoch (what a device reports with its delta). */
  loss: number;
  /** Round (or session) index the data and seeds were drawn for. */
  round: number;
  /** Parameter updates applied: ceil(trainSamples / accumulate) per epoch. */
  steps: number;
  trainMs: number;
  stats: SparseTrainer['stats'];
  /** Per updated layer, what the scheme let the training change (in op order). */
  updates: LayerUpdateSummary[];
  /** The updated model (the trainer's own copy). */
  model: Model;
}

/**
 * What one simulated device does when asked to train (a federated round or a personalization
 * session): draw its local data for the round (its own shift, label skew, the round's training
 * samples, its fixed held-out set), measure the global model, run the sparse update on the int8
 * graph, measure again. `round` selects new samples and new shuffling/rounding noise.
 */
export function trainLocal(model: Model, task: Task, deviceSeed: number, options: LocalTrainingOptions): LocalTrainingResult {
  const round = options.round ?? options.data?.round ?? 0;
  if (options.data?.round !== undefined && options.data.round !== round) throw new Error(`round ${round} and data.round ${options.data.round} disagree`);
  const data = createDeviceData(task, deviceSeed, { ...options.data, round });
  const epochs = options.epochs ?? 3;
  const trainer = new SparseTrainer(model, { ...options, round, seed: options.seed ?? deviceSeed }, engineRunner(options.rounding));
  const before = trainer.evaluate(data.eval);
  const started = performance.now();
  const history = trainer.train(data.train, epochs, { signal: options.signal, onProgress: options.onProgress });
  const trainMs = performance.now() - started;
  return {
    deviceSeed,
    before,
    after: trainer.evaluate(data.eval),
    trainSamples: data.train.length,
    loss: history.at(-1)?.loss ?? 0,
    round,
    steps: trainer.updates,
    trainMs,
    stats: trainer.stats,
    updates: trainer.plan.updates.map((u) => ({
      op: u.layer.opIndex,
      kind: u.layer.kind,
      k: u.weightChannels,
      ...(u.weightChannels > 0 ? { weightTensor: u.layer.weight } : {}),
      ...(u.bias ? { biasTensor: u.layer.bias } : {}),
    })),
    model: trainer.model,
  };
}
