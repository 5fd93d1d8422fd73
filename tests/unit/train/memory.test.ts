import { describe, expect, it } from 'vitest';
import { elementCount } from '../../../src-main/core/engine/ir';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { createDeviceData } from '../../../src-main/core/train/data/device-data';
import { standardSchemes } from '../../../src-main/core/train/experiments/standard-schemes';
import { TrainingMemoryEstimator } from '../../../src-main/core/train/memory/estimator';
import { measureContributions, searchScheme } from '../../../src-main/core/train/scheme/search';
import type { Contributions } from '../../../src-main/core/train/scheme/search';
import { engineRunner } from '../../../src-main/core/train/sparse/engine-runner';
import { SparseTrainer } from '../../../src-main/core/train/sparse/trainer';
import { evaluateInt8 } from '../../../src-main/core/train/quant/evaluate-int8';
import { imuFixture, mnistFixture } from './fixtures';

describe('training memory estimator', () => {
  const fx = mnistFixture(0);
  const est = new TrainingMemoryEstimator(fx.model);
  const layers = est.graph.layers;
  const convs = layers.filter((l) => l.kind === 'CONV_2D');

  it('uses the arena the engine plans', () => {
    expect(est.forwardArenaBytes).toBe(planModel(fx.model, 'tinyengine').plan.peakBytes);
    expect(est.budgetFor(256 * 1024)).toBe(256 * 1024 - est.forwardArenaBytes - est.runtimeSramBytes);
  });

  it('counts the published terms for a bias-only scheme: no activations, 32-bit biases, masks on the path', () => {
    const m = est.estimate({ biasLastN: 2, weights: [], classifier: false });
    const last = layers.slice(-2);
    expect(m.savedActivationBytes).toBe(0);
    expect(m.weightBytes).toBe(0);
    expect(m.biasBytes).toBe(4 * (last[0].outChannels + last[1].outChannels));
    // The classifier has no activation; the other layer's mask is 1 bit per output element if it is clamped.
    const op = fx.model.ops.find((o) => o.index === last[0].opIndex)!;
    const clamped = 'activation' in op.options && op.options.activation !== 'none';
    expect(m.maskBytes).toBe(clamped ? Math.ceil(elementCount(fx.model.tensors[last[0].output].shape) / 8) : 0);
    expect(m.formulaBytes).toBe(m.savedActivationBytes + m.maskBytes + m.biasBytes + m.weightBytes);
  });

  it('counts 8-bit activations and weights for the first k channels only', () => {
    const conv = convs.at(-1)!;
    const inShape = fx.model.tensors[conv.input].shape;
    const wShape = fx.model.tensors[conv.weight].shape;
    const quarter = est.estimate({ biasLastN: 0, weights: [{ op: conv.opIndex, ratio: 0.25 }], classifier: false });
    const k = Math.ceil(conv.inChannels / 4);
    expect(quarter.savedActivationBytes).toBe(inShape[1] * inShape[2] * k);
    expect(quarter.weightBytes).toBe(wShape[0] * wShape[1] * wShape[2] * k);
    const full = est.estimate({ biasLastN: 0, weights: [{ op: conv.opIndex, ratio: 1 }], classifier: false });
    expect(full.savedActivationBytes).toBe(elementCount(inShape));
    expect(full.formulaBytes).toBeGreaterThan(quarter.formulaBytes);
  });

  it('orders the standard schemes: classifier < bias-only and sparse < full', () => {
    const s = standardSchemes(fx.model);
    const c = est.estimate(s.classifier).trainingExtraBytes;
    const b = est.estimate(s.biasOnly).trainingExtraBytes;
    const sp = est.estimate(s.sparse).trainingExtraBytes;
    const f = est.estimate(s.full).trainingExtraBytes;
    expect(c).toBeLessThan(b);
    expect(sp).toBeLessThan(f);
    expect(b).toBeLessThan(f);
  });
});

describe('scheme search under a budget', () => {
  const fx = mnistFixture(0);
  const est = new TrainingMemoryEstimator(fx.model);
  const convs = est.graph.layers.filter((l) => l.kind === 'CONV_2D');
  const L = est.graph.layers.length;
  // Synthetic contributions: deeper biases help up to a point, the last two convs' weights help.
  const contributions: Contributions = {
    baseAccuracy: 0.5,
    classifierOnlyAccuracy: 0.6,
    biasGain: Array.from({ length: L + 1 }, (_, n) => Math.min(n, 4) * 0.01),
    weightGain: convs.slice(-2).flatMap((l, i) => [0.125, 0.25, 0.5, 1].map((ratio) => ({ op: l.opIndex, ratio: ratio as 0.125, gain: (i + 1) * 0.01 * Math.sqrt(ratio) }))),
  };

  it('takes everything useful when memory is plentiful', () => {
    const choice = searchScheme(fx.model, contributions, 10_000_000);
    expect(choice.scheme.biasLastN).toBeGreaterThanOrEqual(4);
    expect(choice.scheme.weights.map((w) => w.ratio).sort()).toEqual([1, 1]);
    expect(choice.expectedGain).toBeCloseTo(0.04 + 0.01 + 0.02, 9);
  });

  it('stays within a tight budget and picks less', () => {
    const big = searchScheme(fx.model, contributions, 10_000_000);
    const budget = Math.floor(big.memory.trainingExtraBytes / 2);
    const small = searchScheme(fx.model, contributions, budget);
    expect(small.memory.trainingExtraBytes).toBeLessThanOrEqual(budget);
    expect(small.expectedGain).toBeLessThan(big.expectedGain);
    expect(() => searchScheme(fx.model, contributions, 10)).toThrow(/no scheme fits 10 bytes/);
  });

  it('measures real contributions on a calibration split', () => {
    const imu = imuFixture(2);
    const calib = [1, 2].map((s) => createDeviceData(imu.task, 500 + s, { trainSamples: 30, evalSamples: 40 }));
    const c = measureContributions(imu.model, engineRunner(), {
      train: calib.flatMap((d) => d.train),
      eval: calib.flatMap((d) => d.eval),
      epochs: 1,
      biasDepths: [2, 4],
      weightLayers: 1,
      ratios: [0.25, 1],
      training: { lr: 0.02 },
    });
    expect(c.biasGain.length).toBe(new TrainingMemoryEstimator(imu.model).graph.layers.length + 1);
    expect(c.weightGain.length).toBe(2);
    // The reference points are what they claim: the untouched int8 model, and the model after
    // training only the classifier on the same split.
    const train = calib.flatMap((d) => d.train);
    const held = calib.flatMap((d) => d.eval);
    expect(c.baseAccuracy).toBe(evaluateInt8(imu.model, held));
    const classifierOnly = new SparseTrainer(imu.model, { scheme: { biasLastN: 0, weights: [], classifier: true }, lr: 0.02 }, engineRunner());
    classifierOnly.train(train, 1);
    expect(c.classifierOnlyAccuracy).toBe(classifierOnly.evaluate(held));
    expect(c.biasGain[0]).toBe(0);
    const choice = searchScheme(imu.model, c, 1_000_000);
    expect(choice.memory.trainingExtraBytes).toBeLessThanOrEqual(1_000_000);
  });
});
