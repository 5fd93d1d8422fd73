import { Rng } from './rng';
import type { Sample, Task } from './task';

/** What one simulated device has locally. */
export interface DeviceData<S = unknown> {
  deviceSeed: number;
  shift: S;
  /** The device's label distribution (Dirichlet skew). */
  classPrior: number[];
  /** The round this training set was drawn for (0 for a one-off session). */
  round: number;
  /** This round's training examples from the device's stream: new ones every round. */
  train: Sample[];
  /**
   * Held-out evaluation set from the same shifted distribution, disjoint from `train` and the same
   * in every round, so accuracies before and after a round (and across rounds) compare.
   */
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
  /**
   * Round (or personalization session) index, a non-negative integer; default 0. Each round draws
   * a fresh training set from the device's stream; shift, label skew and held-out set do not change.
   */
  round?: number;
}

/**
 * A device's local data, fully determined by (task, deviceSeed, options): its own input shift,
 * label skew, the round's draw from its training stream and its fixed held-out evaluation set.
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
  const round = options.round ?? 0;
  if (!Number.isInteger(round) || round < 0) throw new Error(`round must be a non-negative integer, got ${round}`);
  const rng = new Rng(deviceSeed);
  const shift = task.randomShift(rng.fork(1), severity);
  const k = task.info.numClasses;
  const classPrior = Number.isFinite(alpha) ? rng.fork(2).dirichlet(alpha, k) : new Array<number>(k).fill(1 / k);
  const draw = (r: Rng, n: number, pool: 'train' | 'eval') => Array.from({ length: n }, () => task.deviceSample(r, r.categorical(classPrior), shift, pool));
  const stream = rng.fork(3);
  const evalRng = rng.fork(4);
  // Round 0 keeps the stream's own generator, so one-off sessions draw what they always drew.
  const roundRng = round === 0 ? stream : stream.fork(round);
  return { deviceSeed, shift, classPrior, round, train: draw(roundRng, trainSamples, 'train'), eval: draw(evalRng, evalSamples, 'eval') };
}
