import { describe, expect, it } from 'vitest';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import type { Model } from '../../src-main/core/engine/ir';
import { enumeratePatchCandidates } from '../../src-main/core/engine/patch/search';
import { runPlanned } from '../../src-main/core/engine/planner/execute';
import { planModel, type PlanStrategy } from '../../src-main/core/engine/planner/plan';
import { verifyPlan } from '../../src-main/core/engine/planner/verify';
import { fillDeterministic, mulberry32 as inputStream } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import type { TensorView } from '../../src-main/core/engine/runtime/prepare';
import { allocateView } from '../../src-main/core/engine/runtime/tensor-memory';
import { IrBuilder, mulberry32 } from '../support/ir-builder';

/**
 * Random int8 CNNs (seeded): convs and depthwise layers of random kernel, stride and padding, explicit
 * PADs, residual ADDs, pools, a RESHAPE head. Every plan and a sample of patch schedules must run in
 * one arena with exactly the unplanned outputs; this is where planner/patch corner cases show up.
 */
function randomModel(seed: number): Model {
  const rnd = mulberry32(seed * 7919);
  const pick = <T>(xs: T[]): T => xs[rnd() % xs.length];
  const b = new IrBuilder(`random-${seed}`, seed);
  const size = pick([12, 15, 16, 20]);
  let x = b.input([1, size, size, pick([1, 3, 4])]);
  let h = size;
  let c = 0;
  const shapeOf = (t: number) => b.shape(t);
  const layers = 3 + (rnd() % 6);
  for (let i = 0; i < layers && h >= 3; i++) {
    c = shapeOf(x)[3];
    const kind = pick(['conv', 'conv', 'dw', 'dw', 'pad-dw', 'block', 'pool']);
    if (kind === 'conv') {
      x = b.conv(x, { outChannels: pick([4, 8, 12]), kernel: pick([1, 3, 5]), stride: pick([1, 1, 2]), padding: pick(['same', 'valid']) as 'same' | 'valid' });
    } else if (kind === 'dw') {
      x = b.depthwise(x, { kernel: pick([3, 5]), stride: pick([1, 2]), padding: pick(['same', 'valid']) as 'same' | 'valid', multiplier: pick([1, 1, 2]) });
    } else if (kind === 'pad-dw') {
      const p = [rnd() % 2, 1 + (rnd() % 2)];
      x = b.depthwise(b.pad(x, [[0, 0], [p[0], p[1]], [p[1], p[0]], [0, 0]]), { kernel: 3, stride: pick([1, 2]), padding: 'valid' });
    } else if (kind === 'block') {
      const e = b.conv(x, { outChannels: c * 3, kernel: 1 });
      const d = b.depthwise(e, { kernel: 3 });
      x = b.add(x, b.conv(d, { outChannels: c, kernel: 1, activation: 'none' }));
    } else {
      x = pick([true, false]) ? b.maxPool(x, 2, pick([1, 2]), 'same') : b.avgPool(x, 3, pick([1, 2]), 'same');
    }
    h = shapeOf(x)[1];
  }
  const features = x;
  const [, fh, fw, fc] = shapeOf(x);
  const pooled = b.avgPool(x, Math.min(fh, fw), 1, 'valid');
  const [, ph, pw] = shapeOf(pooled);
  const flat = b.reshape(pooled, [1, ph * pw * fc]);
  return b.build([b.fullyConnected(flat, 3), features]);
}

function seededInputs(model: Model, seed: number): TensorView[] {
  const rnd = inputStream(seed);
  return model.inputs.map((t) => {
    const v = allocateView(model.tensors[t]);
    fillDeterministic(v, rnd);
    return v;
  });
}

const bytesOf = (v: TensorView) => Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

describe('random models: plans and patch schedules proven by execution', () => {
  it('exercise the rewrites and the patch paths they are meant to test', () => {
    let fused = 0;
    let inPlace = 0;
    let splits = 0;
    let patchInPlace = 0;
    let outputOverInput = 0;
    for (let seed = 1; seed <= 24; seed++) {
      const model = randomModel(seed);
      const { schedule } = planModel(model);
      fused += schedule.steps.filter((s) => s.fusedPad !== undefined).length;
      inPlace += schedule.steps.filter((s) => s.inPlace).length;
      const candidates = enumeratePatchCandidates(schedule, modelCost(model).macs, { maxN: 4 });
      splits += new Set(candidates.map((c) => c.stage.split)).size;
      patchInPlace += candidates.filter((c) => c.stage.inPlace.size > 0).length;
      outputOverInput += candidates.filter((c) => c.plan.placement.endsWith('+overlap')).length;
    }
    expect(fused).toBeGreaterThan(3);
    expect(inPlace).toBeGreaterThan(5);
    expect(splits).toBeGreaterThan(24);
    expect(patchInPlace).toBeGreaterThan(0);
    expect(outputOverInput, 'stage outputs written over their inputs').toBeGreaterThan(0);
  });

  it.each(Array.from({ length: 24 }, (_, i) => [i + 1]))('seed %i', (seed) => {
    const model = randomModel(seed);
    const inputs = seededInputs(model, seed);
    const expected = createInterpreter(model).run(inputs).outputs.map(bytesOf);
    for (const strategy of ['tinyengine', 'naive', 'tflm-greedy'] as PlanStrategy[]) {
      const { schedule, plan } = planModel(model, strategy);
      verifyPlan(plan);
      expect(plan.peakBytes).toBeGreaterThanOrEqual(plan.lowerBoundBytes);
      expect(runPlanned(schedule, plan, inputs).map(bytesOf), strategy).toEqual(expected);
    }
    const { schedule } = planModel(model);
    const candidates = enumeratePatchCandidates(schedule, modelCost(model).macs, { maxN: 4 });
    // every split with its smallest and largest grid
    const sample = candidates.filter((c, i) => i === 0 || candidates[i - 1].stage.split !== c.stage.split || i === candidates.length - 1 || candidates[i + 1].stage.split !== c.stage.split);
    for (const c of sample) {
      verifyPlan(c.plan);
      verifyPlan(c.stage.patchPlan);
      expect(c.plan.peakBytes).toBeGreaterThanOrEqual(c.plan.lowerBoundBytes);
      expect(runPlanned(schedule, c.plan, inputs, { stage: c.stage }).map(bytesOf), `split ${c.stage.split}, ${c.stage.n}x${c.stage.n}`).toEqual(expected);
    }
  });
});
