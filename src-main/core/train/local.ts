import type { Model } from '../engine/ir';
import type { RoundingMode } from '../engine/runtime/requantize';
import type { DeviceDataOptions } from './data/device-data';
import { createDeviceData } from './data/device-data';
import type { Task } from './data/task';
import { engineRunner } from './sparse/engine-runner';
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
  steps: number;
  trainMs: number;
  stats: SparseTrainer['stats'];
  /** The updated model (the trainer's own copy). */
  model: Model;
}

/**
 * What one simulated device does when asked to personalize: draw its local data (its own shift,
 * label skew, training stream and held-out set), measure the global model, run the sparse update
 * on the int8 graph, measure again.
 */
export function trainLocal(model: Model, task: Task, deviceSeed: number, options: LocalTrainingOptions): LocalTrainingResult {
  const data = createDeviceData(task, deviceSeed, options.data);
  const epochs = options.epochs ?? 3;
  const trainer = new SparseTrainer(model, { ...options, seed: options.seed ?? deviceSeed }, engineRunner(options.rounding));
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
    steps: data.train.length * epochs,
    trainMs,
    stats: trainer.stats,
    model: trainer.model,
  };
}
