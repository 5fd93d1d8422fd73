import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/core/train/data/rng';
import { backward, gradientBuffers } from '../../../src-main/core/train/sparse/backward';
import { floatEquivalentForward } from '../../../src-main/core/train/sparse/float-equivalent';
import { analyseGraph } from '../../../src-main/core/train/sparse/graph';
import { planBackward } from '../../../src-main/core/train/sparse/plan';
import { realBias, realWeights } from '../../../src-main/core/train/sparse/real-params';
import type { SparseScheme } from '../../../src-main/core/train/sparse/scheme';
import { softmaxCrossEntropy } from '../../../src-main/core/train/float/kernels';
import { mnistFixture } from './fixtures';

describe('sparse backward against finite differences of the float-equivalent graph', () => {
  const fx = mnistFixture(1);
  const graph = analyseGraph(fx.model);
  const convs = graph.layers.filter((l) => l.kind === 'CONV_2D');
  const quantizeInput = (x: Float32Array) => {
    const q = fx.model.tensors[fx.model.inputs[0]].quant!;
    return Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / q.scale[0]) + q.zeroPoint[0])));
  };
  const baseParams = () => {
    const p = new Map<number, Float32Array>();
    for (const l of graph.layers) {
      p.set(l.weight, realWeights(fx.model, l));
      p.set(l.bias, realBias(fx.model, l));
    }
    return p;
  };

  function check(scheme: SparseScheme, sampleIndex: number) {
    const plan = planBackward(graph, scheme);
    const params = baseParams();
    const sample = fx.test[sampleIndex];
    const input = quantizeInput(sample.x);
    const trace = floatEquivalentForward(graph, input, params);
    const grads = gradientBuffers(graph, plan);
    backward(graph, plan, params, trace, sample.y, grads);
    const lossAt = (p: Map<number, Float32Array>) => {
      const t = floatEquivalentForward(graph, input, p);
      return softmaxCrossEntropy(t.logits, [sample.y], t.logits.length, null);
    };
    const rng = new Rng(11 + sampleIndex);
    let checked = 0;
    let agreed = 0;
    let kinks = 0;
    const eps = 1e-3;
    for (const u of plan.updates) {
      const g = grads.get(u.layer.opIndex)!;
      const probes: [number, number, Float32Array][] = [];
      if (g.bias) for (let n = 0; n < 3; n++) probes.push([u.layer.bias, rng.int(u.layer.outChannels), g.bias]);
      if (g.weight) {
        const len = g.weight.length;
        for (let n = 0; n < 4; n++) {
          let idx = rng.int(len);
          idx -= (idx % u.layer.inChannels) - (idx % u.layer.inChannels) % u.weightChannels;
          probes.push([u.layer.weight, idx, g.weight]);
        }
      }
      for (const [tensor, idx, analytic] of probes) {
        const at = (delta: number) => {
          const p = baseParams();
          p.get(tensor)![idx] += delta;
          return lossAt(p);
        };
        // Where the loss is smooth, the one-sided slopes converge as the step shrinks; at a ReLU
        // kink (units sitting exactly on a clamp, common in flat image regions) they stay apart and
        // the derivative does not exist, so the probe proves nothing either way.
        const l0 = at(0);
        const gap = (h: number) => {
          const right = (at(h) - l0) / h;
          const left = (l0 - at(-h)) / h;
          return { right, left, gap: Math.abs(right - left) };
        };
        const coarse = gap(eps);
        const fine = gap(eps / 4);
        if (fine.gap > 1e-3 + 0.01 * Math.abs(fine.right) && fine.gap > 0.5 * coarse.gap) {
          kinks++;
          continue;
        }
        const numeric = (fine.right + fine.left) / 2;
        checked++;
        if (Math.abs(numeric - analytic[idx]) <= 2e-3 + 0.03 * Math.abs(numeric)) agreed++;
        else if (process.env.GRADCHECK_DEBUG) console.log(u.layer.kind, u.layer.opIndex, tensor === u.layer.bias ? 'bias' : 'w', idx, numeric, analytic[idx]);
      }
    }
    expect(kinks).toBeLessThan(checked);
    return { checked, agreed };
  }

  it('matches on a full update (every bias, every conv weight, the classifier)', () => {
    const scheme: SparseScheme = { biasLastN: graph.layers.length, weights: convs.map((l) => ({ op: l.opIndex, ratio: 1 as const })), classifier: true };
    let checked = 0;
    let agreed = 0;
    for (const i of [0, 1, 2]) {
      const r = check(scheme, i);
      checked += r.checked;
      agreed += r.agreed;
    }
    expect(checked).toBeGreaterThan(60);
    expect(agreed / checked).toBeGreaterThan(0.97);
  });

  it('matches on a sparse scheme with partial channels, and leaves other channels untouched', () => {
    const target = convs[convs.length - 2];
    const scheme: SparseScheme = { biasLastN: 3, weights: [{ op: target.opIndex, ratio: 0.25 }], classifier: true };
    const r = check(scheme, 3);
    expect(r.agreed / r.checked).toBeGreaterThan(0.97);
    const plan = planBackward(graph, scheme);
    const grads = gradientBuffers(graph, plan);
    const sample = fx.test[3];
    backward(graph, plan, baseParams(), floatEquivalentForward(graph, quantizeInput(sample.x), baseParams()), sample.y, grads);
    const gw = grads.get(target.opIndex)!.weight!;
    const k = Math.ceil(0.25 * target.inChannels);
    let outside = 0;
    let inside = 0;
    gw.forEach((v, idx) => (idx % target.inChannels >= k ? (outside += Math.abs(v)) : (inside += Math.abs(v))));
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(0);
  });
});
