import type { Model } from '../../engine/ir';
import type { Sample } from '../data/task';
import type { TrainingMemory } from '../memory/estimator';
import { TrainingMemoryEstimator } from '../memory/estimator';
import type { RunnerFactory, SparseTrainOptions } from '../sparse/trainer';
import { SparseTrainer } from '../sparse/trainer';
import type { ChannelRatio, SparseScheme } from '../sparse/scheme';
import { CHANNEL_RATIOS } from '../sparse/scheme';

/** Accuracy gains measured on a calibration split, relative to updating the classifier alone. */
export interface Contributions {
  baseAccuracy: number;
  classifierOnlyAccuracy: number;
  /** biasGain[n] = gain of also updating the biases of the last n layers (biasGain[0] = 0). */
  biasGain: number[];
  /** Gain of also updating one conv's weights at a ratio. */
  weightGain: { op: number; ratio: ChannelRatio; gain: number }[];
}

/** How to measure contributions. */
export interface ContributionOptions {
  train: readonly Sample[];
  eval: readonly Sample[];
  epochs?: number;
  /** Learning rate, QAS and seed of every trial run. */
  training?: Omit<SparseTrainOptions, 'scheme'>;
  /** Bias depths to try (default every depth). */
  biasDepths?: number[];
  /** Consider the weights of the last this many CONV_2D layers (default 6). */
  weightLayers?: number;
  ratios?: ChannelRatio[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Measures each layer's contribution as the paper does: train on a calibration split with one
 * candidate update added to the classifier (the biases of the last n layers, or one conv's weights
 * at a ratio) and record the accuracy gain on held-out calibration data.
 */
export function measureContributions(model: Model, createRunner: RunnerFactory, options: ContributionOptions): Contributions {
  const estimator = new TrainingMemoryEstimator(model);
  const layers = estimator.graph.layers;
  const epochs = options.epochs ?? 2;
  const convs = layers.filter((l) => l.kind === 'CONV_2D').slice(-(options.weightLayers ?? 6));
  const ratios = (options.ratios ?? CHANNEL_RATIOS.filter((r) => r > 0)) as ChannelRatio[];
  const depths = options.biasDepths ?? Array.from({ length: layers.length }, (_, i) => i + 1);
  const total = 2 + depths.length + convs.length * ratios.length;
  let done = 0;
  const run = (scheme: SparseScheme, train: boolean) => {
    if (options.signal?.aborted) {
      const err = new Error('scheme search cancelled');
      err.name = 'AbortError';
      throw err;
    }
    const trainer = new SparseTrainer(model, { ...options.training, scheme }, createRunner);
    if (train) trainer.train(options.train, epochs);
    const acc = trainer.evaluate(options.eval);
    options.onProgress?.(++done, total);
    return acc;
  };
  const baseAccuracy = run({ biasLastN: 0, weights: [], classifier: false }, false);
  const classifierOnlyAccuracy = run({ biasLastN: 0, weights: [], classifier: true }, true);
  const biasGain = new Array<number>(layers.length + 1).fill(0);
  for (const n of depths) biasGain[n] = run({ biasLastN: n, weights: [], classifier: true }, true) - classifierOnlyAccuracy;
  // Depths not measured take the best gain of a shallower measured depth (monotone envelope).
  for (let n = 1; n <= layers.length; n++) if (!depths.includes(n)) biasGain[n] = biasGain[n - 1];
  const weightGain: Contributions['weightGain'] = [];
  for (const l of convs) {
    for (const ratio of ratios) {
      weightGain.push({ op: l.opIndex, ratio, gain: run({ biasLastN: 0, weights: [{ op: l.opIndex, ratio }], classifier: true }, true) - classifierOnlyAccuracy });
    }
  }
  return { baseAccuracy, classifierOnlyAccuracy, biasGain, weightGain };
}

/** The scheme the search picked. */
export interface SchemeChoice {
  scheme: SparseScheme;
  expectedGain: number;
  memory: TrainingMemory;
  budgetBytes: number;
  /** Schemes the search evaluated with the estimator. */
  evaluated: number;
}

/**
 * Picks the scheme with the largest expected gain (bias gain of its depth plus the weight gains of
 * its layers, as the paper sums contributions) whose training extra fits the budget. Exhaustive
 * over bias depths and per-layer ratios with branch-and-bound; options with no measured gain are
 * skipped since they only cost memory.
 */
export function searchScheme(model: Model, contributions: Contributions, budgetBytes: number): SchemeChoice {
  if (!(budgetBytes >= 0)) throw new Error(`budget must be a non-negative number of bytes, got ${budgetBytes}`);
  const estimator = new TrainingMemoryEstimator(model);
  const layers = estimator.graph.layers;
  const byOp = new Map<number, { ratio: ChannelRatio; gain: number }[]>();
  for (const w of contributions.weightGain) {
    if (w.gain <= 0) continue;
    if (!byOp.has(w.op)) byOp.set(w.op, []);
    byOp.get(w.op)!.push({ ratio: w.ratio, gain: w.gain });
  }
  const ops = [...byOp.keys()].sort((a, b) => b - a);
  const bestOf = ops.map((op) => Math.max(...byOp.get(op)!.map((o) => o.gain)));
  const suffixBound = ops.map((_, i) => bestOf.slice(i).reduce((a, b) => a + b, 0));
  let best: SchemeChoice | null = null;
  let evaluated = 0;
  const fits = (scheme: SparseScheme) => {
    evaluated++;
    const m = estimator.estimate(scheme);
    return m.trainingExtraBytes <= budgetBytes ? m : null;
  };
  for (let n = 0; n <= layers.length; n++) {
    const biasGain = contributions.biasGain[n] ?? 0;
    const base: SparseScheme = { biasLastN: n, weights: [], classifier: true };
    if (!fits(base)) continue;
    const dfs = (i: number, weights: SparseScheme['weights'], gain: number) => {
      if (best && gain + (i < ops.length ? suffixBound[i] : 0) <= best.expectedGain) return;
      if (i === ops.length) {
        const scheme = { ...base, weights };
        const m = fits(scheme);
        if (m && (!best || gain > best.expectedGain)) best = { scheme, expectedGain: gain, memory: m, budgetBytes, evaluated: 0 };
        return;
      }
      for (const o of [...byOp.get(ops[i])!].sort((a, b) => b.gain - a.gain)) {
        const next = [...weights, { op: ops[i], ratio: o.ratio }];
        if (fits({ ...base, weights: next })) dfs(i + 1, next, gain + o.gain);
      }
      dfs(i + 1, weights, gain);
    };
    dfs(0, [], biasGain);
  }
  if (!best) {
    const minimal = estimator.estimate({ biasLastN: 0, weights: [], classifier: true });
    throw new Error(`no scheme fits ${budgetBytes} bytes: even the classifier alone needs ${minimal.trainingExtraBytes} bytes`);
  }
  return { ...(best as SchemeChoice), evaluated };
}
