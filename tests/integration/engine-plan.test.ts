import { describe, expect, it } from 'vitest';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import type { Model } from '../../src-main/core/engine/ir';
import { choosePatch, enumeratePatchCandidates, evaluatePatch, type PatchMode } from '../../src-main/core/engine/patch/search';
import { analyzeStage, findSplits } from '../../src-main/core/engine/patch/stage';
import { runPlanned } from '../../src-main/core/engine/planner/execute';
import { planModel, type PlanStrategy } from '../../src-main/core/engine/planner/plan';
import { verifyPlan } from '../../src-main/core/engine/planner/verify';
import { fillDeterministic, mulberry32 } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import type { TensorView } from '../../src-main/core/engine/runtime/prepare';
import { allocateView } from '../../src-main/core/engine/runtime/tensor-memory';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { IrBuilder, buildBottleneck, buildTinyMobilenet } from '../support/ir-builder';
import { RUNNABLE_MODELS, readModelBytes, skipWithoutModels } from '../support/models';

function seededInputs(model: Model, seed: number): TensorView[] {
  const rnd = mulberry32(seed);
  return model.inputs.map((t) => {
    const v = allocateView(model.tensors[t]);
    fillDeterministic(v, rnd);
    return v;
  });
}

/** Outputs of the plain interpreter: one heap buffer per tensor, nothing shared. */
function unplanned(model: Model, inputs: TensorView[]): TensorView[] {
  return createInterpreter(model).run(inputs).outputs;
}

const bytesOf = (v: TensorView) => Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
const STRATEGIES: PlanStrategy[] = ['tinyengine', 'naive', 'tflm-greedy'];

/**
 * A model with a wide first layer (worth patching), a residual whose input stays live across a block,
 * a 5x5 depthwise that runs in place, an explicit PAD into a VALID conv, and both pools.
 */
function buildResidualNet(seed: number): Model {
  const b = new IrBuilder('residual', seed);
  const x = b.input([1, 32, 32, 4]);
  const wide = b.conv(x, { outChannels: 16 });
  const stem = b.conv(wide, { outChannels: 12, stride: 2 });
  const e = b.conv(stem, { outChannels: 24, kernel: 1 });
  const d = b.depthwise(e, { kernel: 5 });
  const p = b.conv(d, { outChannels: 12, kernel: 1, activation: 'none' });
  const sum = b.add(stem, p, 'relu');
  const pad = b.pad(sum, [
    [0, 0],
    [0, 1],
    [0, 1],
    [0, 0],
  ]);
  const down = b.conv(pad, { outChannels: 16, stride: 2, padding: 'valid' });
  const pooled = b.maxPool(down, 2, 1, 'same');
  return b.build([b.softmax(b.fullyConnected(b.reshape(b.avgPool(pooled, 8), [1, 16]), 6)), down]);
}

describe('plans proven by execution in one arena (models built in code)', () => {
  const models = [buildTinyMobilenet(7, 32, true), buildTinyMobilenet(8, 40, true), buildResidualNet(9), buildBottleneck(4)];

  it.each(models.flatMap((m) => STRATEGIES.map((s) => [m.name, s, m] as const)))('%s, %s plan: outputs equal the unplanned run', (_, strategy, model) => {
    const inputs = seededInputs(model, 42);
    const { schedule, plan } = planModel(model, strategy);
    verifyPlan(plan);
    expect(runPlanned(schedule, plan, inputs).map(bytesOf)).toEqual(unplanned(model, inputs).map(bytesOf));
  });

  it('catches a plan that overlaps two live tensors', () => {
    const model = models[2];
    const inputs = seededInputs(model, 42);
    // Without the residual overwrite, so the ADD's operands are blocks of their own.
    const { schedule, plan } = planModel(model, 'tinyengine', { overwriteResidual: false });
    const expected = unplanned(model, inputs).map(bytesOf);
    // The residual ADD reads the stem output and the projection: put one over the other.
    const add = schedule.steps.find((s) => s.kind === 'ADD')!;
    const [a, b] = add.inputs;
    const block = plan.blocks.find((k) => k.tensors.includes(b))!;
    block.offset = plan.tensorOffsets.get(a)!;
    for (const t of block.tensors) plan.tensorOffsets.set(t, block.offset);
    expect(() => verifyPlan(plan)).toThrow(/overlaps/);
    expect(runPlanned(schedule, plan, inputs).map(bytesOf)).not.toEqual(expected);
  });

  it('catches in-place scratch placed over a live tensor', () => {
    const model = models[0];
    const inputs = seededInputs(model, 3);
    const { schedule, plan } = planModel(model);
    const expected = unplanned(model, inputs).map(bytesOf);
    const dw = schedule.steps.find((s) => s.inPlace)!;
    // The scratch plane now lands on the depthwise's own input/output bytes.
    plan.scratchOffsets.set(dw.step, plan.tensorOffsets.get(dw.inputs[0])!);
    expect(runPlanned(schedule, plan, inputs).map(bytesOf)).not.toEqual(expected);
  });

  it.each([
    ['auto', 'auto'],
    ['2x2', { n: 2 }],
    ['3x3', { n: 3 }],
    ['5x5', { n: 5 }],
  ] as [string, PatchMode][])('patch-based %s: bit-identical to the per-layer schedule', (_, mode) => {
    let inPlaceRuns = 0;
    for (const model of models) {
      const inputs = seededInputs(model, 11);
      const { schedule, plan } = planModel(model);
      const chosen = choosePatch(schedule, plan.peakBytes, modelCost(model).macs, { mode, maxMacOverhead: 1 });
      expect(chosen).toBeDefined();
      inPlaceRuns += chosen!.stage.inPlace.size;
      verifyPlan(chosen!.plan);
      expect(runPlanned(schedule, chosen!.plan, inputs, { stage: chosen!.stage }).map(bytesOf)).toEqual(unplanned(model, inputs).map(bytesOf));
    }
    expect(inPlaceRuns, 'a depthwise ran in place inside the patches').toBeGreaterThan(0);
  });

  it('writes a stage output over the input rows no later patch reads, and catches it written further up', () => {
    const model = models[0];
    const inputs = seededInputs(model, 5);
    const expected = unplanned(model, inputs).map(bytesOf);
    const { schedule } = planModel(model);
    const overlapping = enumeratePatchCandidates(schedule, modelCost(model).macs, { maxN: 4 }).filter((c) => c.plan.placement.endsWith('+overlap'));
    expect(overlapping.length, 'some stage output shares bytes with its input').toBeGreaterThan(0);
    for (const c of overlapping) {
      const follower = c.plan.blocks.find((b) => b.tie)!;
      const leader = c.plan.blocks[follower.tie!.block];
      // Tied, live at the same step, and really sharing bytes.
      expect(follower.firstStep).toBeLessThanOrEqual(leader.lastStep);
      expect(follower.offset).toBeLessThan(leader.offset + leader.bytes);
      expect(follower.offset + follower.bytes).toBeGreaterThan(leader.offset);
      expect(follower.offset - leader.offset).toBeLessThanOrEqual(follower.tie!.maxShift);
      expect(c.plan.peakBytes).toBeGreaterThanOrEqual(c.plan.lowerBoundBytes);
      verifyPlan(c.plan);
      expect(runPlanned(schedule, c.plan, inputs, { stage: c.stage }).map(bytesOf), `split ${c.stage.split}, ${c.stage.n}x${c.stage.n}`).toEqual(expected);
    }
    // The output started where the input starts overwrites rows later patches still read.
    const c = overlapping[0];
    const follower = c.plan.blocks.find((b) => b.tie)!;
    const leader = c.plan.blocks[follower.tie!.block];
    const moved = { ...c.plan, peakBytes: Math.max(c.plan.peakBytes, leader.offset + follower.bytes), blocks: c.plan.blocks.map((b) => (b === follower ? { ...b, offset: leader.offset } : b)), tensorOffsets: new Map(c.plan.tensorOffsets) };
    for (const t of follower.tensors) moved.tensorOffsets.set(t, c.plan.tensorOffsets.get(t)! - follower.offset + leader.offset);
    expect(() => verifyPlan(moved)).toThrow(/overlaps/);
    expect(runPlanned(schedule, moved, inputs, { stage: c.stage }).map(bytesOf)).not.toEqual(expected);
  });

  it('runs a stage that ends in a depthwise whose output is reshaped after the stage', () => {
    const b = new IrBuilder('dw-stage-reshape', 2);
    const x = b.input([1, 12, 12, 8]);
    const e = b.conv(x, { outChannels: 16, kernel: 1 });
    const d = b.depthwise(e, { kernel: 3, stride: 3, padding: 'valid' }); // 4x4x16, in place per layer
    const flat = b.reshape(d, [1, 256]);
    const model = b.build([b.fullyConnected(flat, 8), flat]);
    const { schedule } = planModel(model);
    const split = findSplits(schedule).find((s) => s.stageOutput === d)!;
    const candidate = evaluatePatch(schedule, analyzeStage(schedule, split, 2), modelCost(model).macs);
    verifyPlan(candidate.plan);
    expect(candidate.plan.tensorOffsets.get(flat)).toBe(candidate.plan.tensorOffsets.get(d));
    const inputs = seededInputs(model, 8);
    expect(runPlanned(schedule, candidate.plan, inputs, { stage: candidate.stage }).map(bytesOf)).toEqual(unplanned(model, inputs).map(bytesOf));
  });

  it('catches a patch stage whose halo is cut off', () => {
    const model = models[1];
    const inputs = seededInputs(model, 5);
    const { schedule, plan } = planModel(model);
    const chosen = choosePatch(schedule, plan.peakBytes, modelCost(model).macs, { mode: { n: 2 } })!;
    // Cut one column off the second patch's buffer of the first intermediate: the next op loses halo.
    const first = schedule.steps[0].outputs[0];
    expect(first).not.toBe(chosen.stage.stageOutput);
    const p = chosen.stage.patches[1];
    const r = p.regions.get(first)!;
    p.regions.set(first, { ...r, w0: r.w0 + 1 });
    expect(runPlanned(schedule, chosen.plan, inputs, { stage: chosen.stage }).map(bytesOf)).not.toEqual(unplanned(model, inputs).map(bytesOf));
  });
});

describe('plans proven by execution on the published models', () => {
  const skip = skipWithoutModels('engine-plan');
  const load = (name: string) => readTflite(readModelBytes(name), { name: name.replace(/\.tflite$/, '') });

  it.skipIf(skip).each(RUNNABLE_MODELS.map((n) => [n]))('%s: every plan runs in one arena with the unplanned outputs', (name) => {
    const model = load(name);
    const inputs = seededInputs(model, 1);
    const expected = unplanned(model, inputs).map(bytesOf);
    for (const strategy of STRATEGIES) {
      const { schedule, plan } = planModel(model, strategy);
      verifyPlan(plan);
      expect(runPlanned(schedule, plan, inputs).map(bytesOf), strategy).toEqual(expected);
    }
  }, 180_000);

  it.skipIf(skip).each([['person_detect.tflite'], ['vww_96_int8.tflite'], ['mcunet_vww1.tflite'], ['mobilenet_v2_int8_224.tflite']])(
    '%s: patch-based inference is bit-identical to the per-layer schedule',
    (name) => {
      const model = load(name);
      const inputs = seededInputs(model, 1);
      const expected = unplanned(model, inputs).map(bytesOf);
      const { schedule, plan } = planModel(model);
      const macs = modelCost(model).macs;
      for (const mode of ['auto', { n: 3 }] as PatchMode[]) {
        const chosen = choosePatch(schedule, plan.peakBytes, macs, { mode })!;
        if (mode === 'auto') expect(chosen.plan.peakBytes).toBeLessThan(plan.peakBytes);
        verifyPlan(chosen.plan);
        expect(runPlanned(schedule, chosen.plan, inputs, { stage: chosen.stage }).map(bytesOf), JSON.stringify(mode)).toEqual(expected);
      }
    },
    180_000,
  );
});
