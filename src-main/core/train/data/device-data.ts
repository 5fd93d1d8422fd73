import { Rng } from './rng';
import type { Sample, Task } from './task';

/** What one simulated device has locally. */
export interface DeviceData<S = unknown> {
  deviceSeed: number;
  shift: S;
  /** The device's label distribution (Dirichlet skew). */
  classPrior: number[];
  /** The device's local training stream (first `trainSamples` examples). */
  train: Sample[];
  /** Held-out evaluation set from the same shifted distribution, disjoint from `train`. */
  eval: Sample[];
}

/** How a device's data differs from the global data. */
export interface DeviceDataOptions {
  trainSamples?: number;
  evalSamples?: number;
  /** Dirichlet concentration of the label skew; Infinity means uniform labels. */
  alpha?: number;
  /** Scales every component of the input shift (0 = no shift). */
  severity?: number;
}

/**
 * A device's local data, fully determined by (task, deviceSeed, options): its own input shift,
 * label skew, training stream and held-out evaluation set.
 */
export function createDeviceData<S>(task: Task<S>, deviceSeed: number, options: DeviceDataOptions = {}): DeviceData<S> {
  const trainSamples = options.trainSamples ?? 200;
  const evalSamples = options.evalSamples ?? 200;
  const alpha = options.alpha ?? 1;
  const severity = options.severity ?? 1;
  if (!Number.isInteger(trainSamples) || trainSamples < 0) throw new Error(`trainSamples must be a non-negative integer, got ${trainSamples}`);
  if (!Number.isInteger(evalSamples) || evalSamples < 0) throw new Error(`evalSamples must be a non-negative integer, got ${evalSamples}`);
  if (!(alpha > 0)) throw new Error(`alpha must be > 0, got ${alpha}`);
  if (!(severity >= 0)) throw new Error(`severity must be >= 0, got ${severity}`);
  const rng = new Rng(deviceSeed);
  const shift = task.randomShift(rng.fork(1), severity);
  const k = task.info.numClasses;
  const classPrior = Number.isFinite(alpha) ? rng.fork(2).dirichlet(alpha, k) : new Array<number>(k).fill(1 / k);
  const draw = (r: Rng, n: number, pool: 'train' | 'eval') => Array.from({ length: n }, () => task.deviceSample(r, r.categorical(classPrior), shift, pool));
  return { deviceSeed, shift, classPrior, train: draw(rng.fork(3), trainSamples, 'train'), eval: draw(rng.fork(4), evalSamples, 'eval') };
}
