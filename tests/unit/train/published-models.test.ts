import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';
import { standardSchemes } from '../../../src-main/core/train/experiments/standard-schemes';
import { TrainingMemoryEstimator } from '../../../src-main/core/train/memory/estimator';
import { analyseGraph } from '../../../src-main/core/train/sparse/graph';
import { planBackward } from '../../../src-main/core/train/sparse/plan';
import { modelPath, skipWithoutModels } from '../../support/models';


describe.skipIf(skipWithoutModels('training memory on published models'))('training memory of published TinyML models', () => {
  const load = (name: string) => readTflite(new Uint8Array(readFileSync(modelPath(name))), { name });

  it('estimates every standard scheme of vww_96_int8 next to the planned arena', () => {
    const model = load('vww_96_int8.tflite');
    const est = new TrainingMemoryEstimator(model);
    expect(est.forwardArenaBytes).toBe(planModel(model, 'tinyengine').plan.peakBytes);
    const s = standardSchemes(model);
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, est.estimate(v)]));
    expect(m.classifier.formulaBytes).toBeLessThan(m.sparse.formulaBytes);
    expect(m.sparse.formulaBytes).toBeLessThan(m.full.formulaBytes);
    // Bias-only keeps no activations for weight gradients: only the classifier's input.
    expect(m.biasOnly.savedActivationBytes).toBe(m.classifier.savedActivationBytes);
    expect(m.biasOnly.maskBytes).toBeGreaterThan(0);
  });

  it('trains around ops it cannot differentiate as long as no update lies behind them', () => {
    const model = load('mobilenet_v2_int8_224.tflite');
    const graph = analyseGraph(model);
    expect(graph.unsupported.size).toBeGreaterThan(0);
    const m = new TrainingMemoryEstimator(model).estimate({ biasLastN: 2, weights: [], classifier: true });
    expect(m.biasBytes).toBeGreaterThan(0);
    expect(() => planBackward(graph, standardSchemes(model).biasOnly)).toThrow(/needs a backward pass through node \d+ \(\w+\)/);
  });
});
