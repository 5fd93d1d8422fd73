import { describe, expect, it } from 'vitest';
import { createDeviceData } from '../../../src-main/core/train/data/device-data';
import { backward, gradientBuffers } from '../../../src-main/core/train/sparse/backward';
import { EngineRunner, engineRunner } from '../../../src-main/core/train/sparse/engine-runner';
import { floatEquivalentForward } from '../../../src-main/core/train/sparse/float-equivalent';
import { analyseGraph } from '../../../src-main/core/train/sparse/graph';
import { keepForBackward } from '../../../src-main/core/train/sparse/int8-trace';
import { planBackward } from '../../../src-main/core/train/sparse/plan';
import { biasScales, int32View, int8View, realBias, realWeights, weightScales } from '../../../src-main/core/train/sparse/real-params';
import { applyUpdate } from '../../../src-main/core/train/sparse/update';
import { Rng } from '../../../src-main/core/train/data/rng';
import { cloneModel } from '../../../src-main/core/train/quant/model-io';
import { SparseTrainer } from '../../../src-main/core/train/sparse/trainer';
import { quantizeInput } from '../../../src-main/core/train/quant/evaluate-int8';
import { standardSchemes } from '../../../src-main/core/train/experiments/standard-schemes';
import { trainLocal } from '../../../src-main/core/train/local';
import { imuFixture } from './fixtures';

describe('sparse update on the int8 graph', () => {
  const fx = imuFixture(2);
  const graph = analyseGraph(fx.model);
  const schemes = standardSchemes(fx.model);
  const device = createDeviceData(fx.task, 77, { trainSamples: 60, evalSamples: 60 });

  it('computes from the int8 forward nearly the gradient of the float-equivalent graph', () => {
    const plan = planBackward(graph, schemes.full);
    const params = new Map<number, Float32Array>();
    for (const l of graph.layers) {
      params.set(l.weight, realWeights(fx.model, l));
      params.set(l.bias, realBias(fx.model, l));
    }
    const runner = new EngineRunner(fx.model);
    let dot = 0;
    let n1 = 0;
    let n2 = 0;
    for (const s of device.train.slice(0, 5)) {
      const input = quantizeInput(fx.model, s.x);
      const gInt = gradientBuffers(graph, plan);
      const gFloat = gradientBuffers(graph, plan);
      backward(graph, plan, params, keepForBackward(graph, plan, runner.run(input)), s.y, gInt);
      backward(graph, plan, params, floatEquivalentForward(graph, input, params), s.y, gFloat);
      for (const [op, g] of gInt) {
        const f = gFloat.get(op)!;
        for (const key of ['weight', 'bias'] as const) {
          const a = g[key];
          const b = f[key];
          if (!a || !b) continue;
          for (let k = 0; k < a.length; k++) {
            dot += a[k] * b[k];
            n1 += a[k] * a[k];
            n2 += b[k] * b[k];
          }
        }
      }
    }
    // Quantization noise moves the gradient a little; its direction must hold.
    expect(dot / Math.sqrt(n1 * n2)).toBeGreaterThan(0.9);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const run = (seed: number) => {
      const t = new SparseTrainer(fx.model, { scheme: schemes.sparse, lr: 0.02, seed }, engineRunner());
      t.train(device.train, 1);
      return Array.from(int8View(t.model.tensors[graph.layers.at(-1)!.weight]));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('shuffles and rounds from separate streams that change with the round', () => {
    const conv = graph.layers.filter((l) => l.kind === 'CONV_2D').at(-1)!;
    const scheme = { biasLastN: 0, weights: [{ op: conv.opIndex, ratio: 1 as const }], classifier: false };
    const run = (opts: { round?: number; weightRounding?: 'stochastic' | 'nearest' }) => {
      const t = new SparseTrainer(fx.model, { scheme, lr: 0.02, seed: 9, ...opts }, engineRunner());
      t.train(device.train.slice(0, 30), 1);
      return Array.from(int8View(t.model.tensors[conv.weight]));
    };
    // Nearest rounding draws no noise, so there only the round's shuffling can tell rounds apart.
    expect(run({ round: 0, weightRounding: 'nearest' })).toEqual(run({ round: 0, weightRounding: 'nearest' }));
    expect(run({ round: 1, weightRounding: 'nearest' })).not.toEqual(run({ round: 0, weightRounding: 'nearest' }));
    expect(run({ round: 1 })).not.toEqual(run({ round: 0 }));
    expect(run({ round: 2 })).toEqual(run({ round: 2 }));
    expect(() => new SparseTrainer(fx.model, { scheme, round: -2 }, engineRunner())).toThrow(/round must be a non-negative integer/);
  });

  it('keeps the epoch order whatever the rounding draws (separate streams)', () => {
    // Record the order in which samples are stepped under both rounding modes.
    const order = (weightRounding: 'stochastic' | 'nearest') => {
      const t = new SparseTrainer(fx.model, { scheme: schemes.sparse, lr: 0.02, seed: 4, weightRounding }, engineRunner());
      const seen: number[] = [];
      const step = t.step.bind(t);
      t.step = (s) => {
        seen.push(device.train.indexOf(s));
        return step(s);
      };
      t.train(device.train.slice(0, 20), 2);
      return seen;
    };
    expect(order('stochastic')).toEqual(order('nearest'));
  });

  it('changes only what the scheme updates: biases only, or the first k input channels', () => {
    const biasOnly = new SparseTrainer(fx.model, { scheme: { biasLastN: 3, weights: [], classifier: false }, lr: 0.05 }, engineRunner());
    biasOnly.train(device.train.slice(0, 20), 1);
    graph.layers.forEach((l, i) => {
      expect(Array.from(int8View(biasOnly.model.tensors[l.weight]))).toEqual(Array.from(int8View(fx.model.tensors[l.weight])));
      const changed = Array.from(int32View(biasOnly.model.tensors[l.bias])).some((v, k) => v !== int32View(fx.model.tensors[l.bias])[k]);
      expect(changed).toBe(i >= graph.layers.length - 3);
    });
    // The original model is never modified.
    expect(biasOnly.model.tensors[graph.layers[0].bias].data).not.toBe(fx.model.tensors[graph.layers[0].bias].data);

    const conv = graph.layers.filter((l) => l.kind === 'CONV_2D').at(-1)!;
    const partial = new SparseTrainer(fx.model, { scheme: { biasLastN: 0, weights: [{ op: conv.opIndex, ratio: 0.25 }], classifier: false }, lr: 0.05 }, engineRunner());
    partial.train(device.train, 1);
    const k = Math.ceil(conv.inChannels / 4);
    const before = int8View(fx.model.tensors[conv.weight]);
    const after = int8View(partial.model.tensors[conv.weight]);
    let inside = 0;
    after.forEach((v, idx) => {
      if (idx % conv.inChannels >= k) expect(v).toBe(before[idx]);
      else if (v !== before[idx]) inside++;
    });
    expect(inside).toBeGreaterThan(0);
    expect(partial.plan.savedActivations).toEqual([{ tensor: conv.input, channels: k, elements: (fx.model.tensors[conv.input].shape[1] * fx.model.tensors[conv.input].shape[2]) * k }]);
  });

  it('applies accumulated gradients once per `accumulate` samples', () => {
    const t = new SparseTrainer(fx.model, { scheme: schemes.biasOnly, lr: 0.05, accumulate: 4 }, engineRunner());
    const bias = () => Array.from(int32View(t.model.tensors[graph.layers.at(-1)!.bias]));
    const start = bias();
    for (const s of device.train.slice(0, 3)) t.step(s);
    expect(bias()).toEqual(start);
    expect(t.updates).toBe(0);
    t.step(device.train[3]);
    expect(bias()).not.toEqual(start);
    expect(t.updates).toBe(1);
  });

  it('counts steps as updates: ceil(samples / accumulate) per epoch in trainLocal', () => {
    const data = { trainSamples: 30, evalSamples: 10 };
    const one = trainLocal(fx.model, fx.task, 21, { scheme: schemes.biasOnly, lr: 0.02, epochs: 2, data });
    const acc = trainLocal(fx.model, fx.task, 21, { scheme: schemes.biasOnly, lr: 0.02, epochs: 2, accumulate: 8, data });
    expect(one.steps).toBe(60);
    // 30 samples in updates of 8: 3 full ones and the epoch's remainder of 6.
    expect(acc.steps).toBe(8);
    expect(acc.trainSamples).toBe(30);
    // Averaging 8 gradients per update is a different training run, not the same one relabelled.
    const lastBias = (m: typeof fx.model) => Array.from(int32View(m.tensors[graph.layers.at(-1)!.bias]));
    expect(lastBias(acc.model)).not.toEqual(lastBias(one.model));
  });

  it('trains a round on that round\'s data and measures it on the fixed held-out set', () => {
    const opts = { scheme: schemes.sparse, lr: 0.01, epochs: 1, data: { trainSamples: 30, evalSamples: 40 } };
    const r0 = trainLocal(fx.model, fx.task, 31, opts);
    const r1 = trainLocal(fx.model, fx.task, 31, { ...opts, round: 1 });
    const r1again = trainLocal(fx.model, fx.task, 31, { ...opts, data: { ...opts.data, round: 1 } });
    expect([r0.round, r1.round]).toEqual([0, 1]);
    // Before training both rounds see the same global model on the same held-out set.
    expect(r1.before).toBe(r0.before);
    const w = (m: typeof fx.model) => Array.from(int8View(m.tensors[graph.layers.at(-1)!.weight]));
    expect(w(r1.model)).not.toEqual(w(r0.model));
    expect(w(r1again.model)).toEqual(w(r1.model));
    // The update summary names exactly the tensors that may differ from the base, and they do.
    const cls = graph.layers.at(-1)!;
    expect(r1.updates.at(-1)).toEqual({ op: cls.opIndex, kind: cls.kind, k: cls.inChannels, weightTensor: cls.weight, biasTensor: cls.bias });
    const named = new Set(r1.updates.flatMap((u) => [u.weightTensor, u.biasTensor]));
    r1.model.tensors.forEach((t, i) => {
      if (!named.has(i)) expect(Buffer.compare(Buffer.from(t.data ?? []), Buffer.from(fx.model.tensors[i].data ?? []))).toBe(0);
    });
    expect(() => trainLocal(fx.model, fx.task, 31, { ...opts, round: 2, data: { ...opts.data, round: 3 } })).toThrow(/round 2 and data.round 3 disagree/);
  });

  it('QAS scales each parameter step by the inverse square of its own per-channel scale', () => {
    // Definition: the int8-graph gradient of an int8 weight is s_W[o] * dL/dW; QAS divides it by
    // s_W[o]^2, so the integer step is lr * g / s_W[o]; the int32 bias step is lr * g / s_b[c].
    // Without QAS the integer step is lr * s * g.
    const cls = graph.layers.at(-1)!;
    const update = planBackward(graph, schemes.full).updates.find((u) => u.layer.opIndex === cls.opIndex)!;
    const sw = weightScales(fx.model, cls);
    const sb = biasScales(fx.model, cls);
    const perOut = int8View(fx.model.tensors[cls.weight]).length / cls.outChannels;
    const lr = 1e-4;
    const g = { weight: new Float32Array(perOut * cls.outChannels), bias: new Float32Array(cls.outChannels) };
    for (let o = 0; o < cls.outChannels; o++) {
      g.weight[o * perOut] = sw[o] * (o + 1) * 1e4; // one weight per output channel
      g.bias[o] = sb[o] * (o + 1) * 1e4;
    }
    const stepOf = (qas: boolean) => {
      const m = cloneModel(fx.model);
      applyUpdate(m, update, g, 1, { lr, qas, weightRounding: 'nearest' }, new Rng(1), { weightsChanged: 0, biasesChanged: 0, weightsSaturated: 0 });
      const w0 = int8View(fx.model.tensors[cls.weight]);
      const w1 = int8View(m.tensors[cls.weight]);
      const b0 = int32View(fx.model.tensors[cls.bias]);
      const b1 = int32View(m.tensors[cls.bias]);
      return { w: Array.from({ length: cls.outChannels }, (_, o) => w1[o * perOut] - w0[o * perOut]), wBefore: Array.from({ length: cls.outChannels }, (_, o) => w0[o * perOut]), b: Array.from(b1, (v, c) => v - b0[c]) };
    };
    const clamp = (v: number) => Math.max(-127, Math.min(127, v));
    const qas = stepOf(true);
    qas.w.forEach((d, o) => expect(d).toBe(clamp(qas.wBefore[o] - Math.round((lr * g.weight[o * perOut]) / sw[o])) - qas.wBefore[o]));
    // lr * g / s = o + 1 exactly: each channel's step undoes its own scale.
    qas.w.forEach((d, o) => expect(d).toBe(clamp(qas.wBefore[o] - (o + 1)) - qas.wBefore[o]));
    expect(qas.w.some((d) => d !== 0)).toBe(true);
    qas.b.forEach((d, c) => expect(d).toBe(0 - Math.round((lr * g.bias[c]) / sb[c])));
    expect(qas.b).toEqual(Array.from({ length: cls.outChannels }, (_, c) => -(c + 1)));
    const plain = stepOf(false);
    plain.b.forEach((d, c) => expect(d).toBe(0 - Math.round(lr * sb[c] * g.bias[c])));
    plain.w.forEach((d, o) => expect(d).toBe(clamp(plain.wBefore[o] - Math.round(lr * sw[o] * g.weight[o * perOut])) - plain.wBefore[o]));
  });

  it('without QAS the same learning rate barely moves the int8 parameters; with QAS it does', () => {
    const withQas = new SparseTrainer(fx.model, { scheme: schemes.full, lr: 0.01, qas: true, seed: 1 }, engineRunner());
    const without = new SparseTrainer(fx.model, { scheme: schemes.full, lr: 0.01, qas: false, seed: 1 }, engineRunner());
    withQas.train(device.train, 1);
    without.train(device.train, 1);
    expect(withQas.stats.weightsChanged + withQas.stats.biasesChanged).toBeGreaterThan(20 * (without.stats.weightsChanged + without.stats.biasesChanged + 1));
  });

  it('personalizes shifted devices: held-out accuracy rises over the global int8 model', () => {
    const gains: number[] = [];
    for (const seed of [11, 12, 13]) {
      const r = trainLocal(fx.model, fx.task, seed, { scheme: schemes.sparse, lr: 0.01, epochs: 3, data: { trainSamples: 120, evalSamples: 150 } });
      gains.push(r.after - r.before);
    }
    const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
    expect(mean).toBeGreaterThan(0.05);
  });

  it('rejects schemes that do not fit the model', () => {
    expect(() => planBackward(graph, { biasLastN: 99, weights: [], classifier: true })).toThrow(/last 99 layers/);
    expect(() => planBackward(graph, { biasLastN: 0, weights: [{ op: 12345, ratio: 0.5 }], classifier: true })).toThrow(/not a trainable layer/);
    expect(() => planBackward(graph, { biasLastN: 0, weights: [{ op: graph.layers[0].opIndex, ratio: 0.3 as never }], classifier: true })).toThrow(/ratio 0.3/);
    const dw = graph.layers.find((l) => l.kind === 'DEPTHWISE_CONV_2D')!;
    expect(() => planBackward(graph, { biasLastN: 0, weights: [{ op: dw.opIndex, ratio: 1 }], classifier: true })).toThrow(/depthwise/);
    expect(() => new SparseTrainer(fx.model, { scheme: schemes.sparse, lr: 0 }, engineRunner())).toThrow(/learning rate/);
  });
});
