import { Rng } from '../data/rng';
import type { Sample } from '../data/task';
import { argmaxRow, softmaxCrossEntropy } from './kernels';
import type { FloatNet } from './network';
import type { NetState } from './network';
import type { OptimizerConfig } from './optimizers';
import { createOptimizer } from './optimizers';

/** Progress of a float training run. */
export interface FloatProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  /** Test accuracy, reported at the end of each epoch. */
  testAccuracy?: number;
}

/** Settings of a float training run. */
export interface FloatTrainOptions {
  epochs: number;
  batchSize?: number;
  optimizer?: OptimizerConfig;
  /** Cosine decay of the learning rate over the run (default true). */
  cosine?: boolean;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: FloatProgress) => void;
  /** Report progress every this many steps (default 10). */
  progressEvery?: number;
}

/** The outcome of training. */
export interface FloatTrainResult {
  state: NetState;
  history: { epoch: number; loss: number; testAccuracy: number }[];
  testAccuracy: number;
}

/** Stacks samples into one [n, ...] batch. */
export function stack(samples: readonly Sample[]): { x: Float32Array; y: number[] } {
  const size = samples[0].x.length;
  const x = new Float32Array(samples.length * size);
  samples.forEach((s, i) => x.set(s.x, i * size));
  return { x, y: samples.map((s) => s.y) };
}

/** Accuracy of a network (inference mode) on samples. */
export function evaluateFloat(net: FloatNet, samples: readonly Sample[], batchSize = 64): number {
  if (samples.length === 0) return 0;
  let correct = 0;
  const classes = net.spec.numClasses;
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const { x, y } = stack(chunk);
    const { logits } = net.forward(x, chunk.length, false);
    y.forEach((label, b) => {
      if (argmaxRow(logits, b, classes) === label) correct++;
    });
  }
  return correct / samples.length;
}

/**
 * Mini-batch training with softmax cross-entropy. Deterministic for (net, data, seed). Throws an
 * AbortError-named error when the signal fires (checked between steps).
 */
export function trainFloat(net: FloatNet, train: readonly Sample[], test: readonly Sample[], options: FloatTrainOptions): FloatTrainResult {
  if (train.length === 0) throw new Error('no training samples');
  if (!(Number.isInteger(options.epochs) && options.epochs >= 0)) throw new Error(`epochs must be a non-negative integer, got ${options.epochs}`);
  const batchSize = options.batchSize ?? 32;
  const optimizer = createOptimizer(options.optimizer ?? { kind: 'adam', lr: 0.003, weightDecay: 1e-4 });
  const rng = new Rng(options.seed ?? 1);
  const classes = net.spec.numClasses;
  const stepsPerEpoch = Math.ceil(train.length / batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const every = options.progressEvery ?? 10;
  const params = net.trainable();
  const history: FloatTrainResult['history'] = [];
  const order = train.map((_, i) => i);
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    rng.shuffle(order);
    let lossSum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      if (options.signal?.aborted) throw abortError(options.signal);
      const batch = order.slice(s * batchSize, (s + 1) * batchSize).map((i) => train[i]);
      const { x, y } = stack(batch);
      net.zeroGrad();
      const fwd = net.forward(x, batch.length, true);
      const dLogits = new Float32Array(fwd.logits.length);
      const loss = softmaxCrossEntropy(fwd.logits, y, classes, dLogits);
      net.backward(fwd, dLogits);
      const lrScale = options.cosine === false ? 1 : 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(totalSteps, 1)));
      optimizer.step(params, lrScale);
      lossSum += loss;
      step++;
      if (options.onProgress && (s % every === 0 || s === stepsPerEpoch - 1)) {
        options.onProgress({ epoch, epochs: options.epochs, step: s + 1, stepsPerEpoch, loss });
      }
    }
    const testAccuracy = evaluateFloat(net, test);
    history.push({ epoch, loss: lossSum / stepsPerEpoch, testAccuracy });
    options.onProgress?.({ epoch, epochs: options.epochs, step: stepsPerEpoch, stepsPerEpoch, loss: lossSum / stepsPerEpoch, testAccuracy });
  }
  return { state: net.state(), history, testAccuracy: history.length ? history[history.length - 1].testAccuracy : evaluateFloat(net, test) };
}

function abortError(signal: AbortSignal): Error {
  const err = new Error(signal.reason instanceof Error ? signal.reason.message : 'training cancelled');
  err.name = 'AbortError';
  return err;
}
