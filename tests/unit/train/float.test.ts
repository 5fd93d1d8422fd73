import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/core/train/data/rng';
import { foldBatchNorm } from '../../../src-main/core/train/float/bn-fold';
import { foldedForward } from '../../../src-main/core/train/float/folded-forward';
import { softmaxCrossEntropy } from '../../../src-main/core/train/float/kernels';
import { dsCnn, invertedResidualNet } from '../../../src-main/core/train/float/models';
import { FloatNet } from '../../../src-main/core/train/float/network';
import { layerShapes } from '../../../src-main/core/train/float/spec';
import { imuFixture } from './fixtures';

function randomInput(n: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * size }, () => rng.uniform(0, 1));
}

describe('float network', () => {
  it('builds the inverted-residual family with residual adds and width/resolution knobs', () => {
    const spec = invertedResidualNet({ inputShape: [20, 20, 1], numClasses: 10, width: 0.5 });
    expect(spec.layers.filter((l) => l.kind === 'add').length).toBeGreaterThan(0);
    const shapes = layerShapes(spec);
    expect(shapes.at(-1)).toEqual([1, 1, 10]);
    const wider = invertedResidualNet({ inputShape: [28, 28, 1], numClasses: 10, width: 1 });
    expect(layerShapes(wider)[0]).toEqual([14, 14, 16]);
    expect(layerShapes(spec)[0]).toEqual([10, 10, 8]);
    expect(() => invertedResidualNet({ inputShape: [20, 20, 1], numClasses: 10, width: 0 })).toThrow(/width/);
  });

  it('backpropagates exactly (batch norm in training mode included)', () => {
    const spec = invertedResidualNet({ inputShape: [8, 8, 1], numClasses: 3, width: 0.25, blocks: [[2, 4, 2, 1]] });
    const net = FloatNet.create(spec, 2);
    const x = randomInput(3, 64, 5);
    const labels = [0, 2, 1];
    // Float64 central differences of the float32 forward: compare on a handful of parameters.
    const loss = () => softmaxCrossEntropy(net.forward(x, 3, true).logits, labels, 3, null);
    net.zeroGrad();
    const fwd = net.forward(x, 3, true);
    const d = new Float32Array(fwd.logits.length);
    softmaxCrossEntropy(fwd.logits, labels, 3, d);
    net.backward(fwd, d);
    const rng = new Rng(8);
    let checked = 0;
    let agreed = 0;
    for (const p of net.trainable()) {
      for (let n = 0; n < 3; n++) {
        const k = rng.int(p.value.length);
        const old = p.value[k];
        const eps = 1e-2;
        p.value[k] = old + eps;
        const lp = loss();
        p.value[k] = old - eps;
        const lm = loss();
        p.value[k] = old;
        const numeric = (lp - lm) / (2 * eps);
        checked++;
        if (Math.abs(numeric - p.grad[k]) <= 2e-3 + 0.05 * Math.abs(numeric)) agreed++;
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect(agreed / checked).toBeGreaterThan(0.9);
  });

  it('folds batch norm into the convolutions without changing the inference output', () => {
    const spec = dsCnn({ inputShape: [32, 1, 3], numClasses: 7, width: 0.5, blocks: [16, 24] });
    const net = FloatNet.create(spec, 4);
    // Move the BN statistics away from identity so that folding has something to do.
    net.forward(randomInput(16, 96, 1), 16, true);
    for (const p of net.params) if (p.bn) p.bn.gamma.forEach((_, i, a) => (a[i] = 0.5 + 0.1 * i));
    const x = randomInput(4, 96, 2);
    const expected = net.forward(x, 4, false).logits;
    const folded = foldedForward(foldBatchNorm(net.state()), x, 4).at(-1)!;
    folded.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
  });

  it('learns the IMU task and reports progress', () => {
    const fx = imuFixture(1);
    expect(fx.floatAccuracy).toBeGreaterThan(0.5);
  });
});
