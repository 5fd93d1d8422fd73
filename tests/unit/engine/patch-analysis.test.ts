import { describe, expect, it } from 'vitest';
import { modelCost } from '../../../src-main/core/engine/cost/macs';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { verifyPlan } from '../../../src-main/core/engine/planner/verify';
import { splitRange, tiles, windowInputRegion } from '../../../src-main/core/engine/patch/region';
import { choosePatch, enumeratePatchCandidates } from '../../../src-main/core/engine/patch/search';
import { analyzeStage, findSplits } from '../../../src-main/core/engine/patch/stage';
import { stageOutputOverlap } from '../../../src-main/core/engine/patch/output-overlap';
import { IrBuilder, buildBottleneck, buildTinyMobilenet } from '../../support/ir-builder';

describe('regions', () => {
  it('splits a size into near-equal ranges and an image into row-major tiles', () => {
    expect(splitRange(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(tiles(4, 6, 2)).toEqual([
      { h0: 0, h1: 2, w0: 0, w1: 3 },
      { h0: 0, h1: 2, w0: 3, w1: 6 },
      { h0: 2, h1: 4, w0: 0, w1: 3 },
      { h0: 2, h1: 4, w0: 3, w1: 6 },
    ]);
  });

  it('computes a 3x3 stride-2 receptive field, clipped at the image border only', () => {
    const w = { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1 };
    const pad = { top: 0, bottom: 1, left: 1, right: 1 };
    // output rows [0,4) need input rows [0, 9) clipped to 8; cols [2,5) need [3, 10) (left pad 1)
    expect(windowInputRegion({ h0: 0, h1: 4, w0: 2, w1: 5 }, w, pad, 8, 16)).toEqual({ h0: 0, h1: 8, w0: 3, w1: 10 });
    expect(windowInputRegion({ h0: 1, h1: 2, w0: 0, w1: 1 }, w, pad, 8, 16)).toEqual({ h0: 2, h1: 5, w0: 0, w1: 2 });
    // last output row 3 needs input rows 6..8, clipped to 8 (the bottom pad)
    expect(windowInputRegion({ h0: 3, h1: 4, w0: 0, w1: 1 }, w, pad, 8, 16)).toEqual({ h0: 6, h1: 8, w0: 0, w1: 2 });
  });
});

describe('patch stage analysis', () => {
  const b = new IrBuilder('stage');
  const x = b.input([1, 16, 16, 4]);
  const a = b.conv(x, { outChannels: 8, kernel: 3 }); // 16x16x8
  const d = b.depthwise(a, { stride: 2 }); // 8x8x8
  const c = b.conv(d, { outChannels: 8, kernel: 1 }); // 8x8x8
  const pooled = b.avgPool(c, 8);
  const model = b.build([b.fullyConnected(b.reshape(pooled, [1, 8]), 2)]);
  const { schedule, plan } = planModel(model);

  it('finds split points where one NHWC tensor crosses into the rest', () => {
    const splits = findSplits(schedule);
    expect(splits.map((s) => s.stageOutput)).toEqual([a, d, c, pooled]);
    expect(splits[0].stageInputs).toEqual([x]);
  });

  it('computes halos, buffer sizes and the extra MACs of a 2x2 grid', () => {
    const split = findSplits(schedule)[1]; // conv + depthwise
    const stage = analyzeStage(schedule, split, 2);
    const first = stage.patches[0];
    expect(first.tile).toEqual({ h0: 0, h1: 4, w0: 0, w1: 4 });
    // depthwise 3x3 s2 SAME on 16: pads 0/1, so output [0,4) needs a rows [0,9)
    expect(first.regions.get(a)).toEqual({ h0: 0, h1: 9, w0: 0, w1: 9 });
    // conv 3x3 s1 SAME: pads 1/1, a rows [0,9) need x rows [0,10)
    expect(first.regions.get(x)).toEqual({ h0: 0, h1: 10, w0: 0, w1: 10 });
    // SAME pads of the depthwise are 0 on top, so the last tile starts at row 8 without a halo
    expect(stage.patches[3].regions.get(a)).toEqual({ h0: 8, h1: 16, w0: 8, w1: 16 });
    // the conv runs on 9x9 + 9x8 + 8x9 + 8x8 = 289 positions instead of 256
    const convMacs = 16 * 16 * 8 * 9 * 4;
    expect(stage.patchMacs - stage.layerMacs).toBe((convMacs * (289 - 256)) / 256);
    verifyPlan(stage.patchPlan);
    // one patch's working set is the 9x9x8 buffer of a alone: the conv reads x where it is (no copy)
    // and the depthwise writes its tile straight into the whole stage output
    expect(stage.patchPlan.lowerBoundBytes).toBe(648);
    expect(stage.patchPlan.tensorOffsets.has(x)).toBe(false);
    expect(stage.patchPlan.tensorOffsets.has(d)).toBe(false);
  });

  it('lowers the peak below the per-layer plan and respects the MAC limit', () => {
    const macs = modelCost(model).macs;
    const candidates = enumeratePatchCandidates(schedule, macs);
    for (const c of candidates) verifyPlan(c.plan);
    const chosen = choosePatch(schedule, plan.peakBytes, macs, { mode: 'auto', maxMacOverhead: 1 })!;
    expect(chosen.plan.peakBytes).toBeLessThan(plan.peakBytes);
    expect(chosen.plan.peakBytes).toBe(Math.min(...candidates.filter((c) => c.macOverhead <= 1).map((c) => c.plan.peakBytes)));
    // With no MACs to spare, only a stage without a halo is left (the first conv alone, reading the
    // input where it is), and it pays only because its output is written over input rows already read.
    const free = choosePatch(schedule, plan.peakBytes, macs, { mode: 'auto', maxMacOverhead: 0 })!;
    expect(free.extraMacs).toBe(0);
    expect(free.plan.placement).toMatch(/\+overlap$/);
    expect(free.plan.peakBytes).toBeLessThan(plan.peakBytes);
  });

  it('lets the stage output start before its input by as much as the patches still to read need', () => {
    // The conv alone (16x16x4 -> 16x16x8, 3x3 SAME) on 3x3 patches: it reads the input while it
    // writes, so each patch's own reads count. The last patch (rows 10-16, columns 10-16) still reads
    // from input row 9, column 9 (byte 9*64 + 9*4 = 612) and writes up to output byte 16*16*8 = 2048:
    // the output may start 1436 B before the input, and that patch is the tightest of the nine.
    const [first, second] = findSplits(schedule);
    expect(stageOutputOverlap(schedule, analyzeStage(schedule, first, 3))).toEqual({ input: x, maxShift: 612 - 2048 });
    // Conv + depthwise on 2x2 patches: the depthwise writes after the conv read the patch's input,
    // so only later patches count. After the first (output rows 0-4, columns 0-4, ending at byte
    // (3*8 + 4)*8 = 224) the next patch reads from input column 7 of row 0 (byte 28): 28 - 224.
    expect(stageOutputOverlap(schedule, analyzeStage(schedule, second, 2))).toEqual({ input: x, maxShift: 28 - 224 });
  });

  it('fits a budget at the fewest extra MACs', () => {
    const macs = modelCost(model).macs;
    const candidates = enumeratePatchCandidates(schedule, macs);
    const peaks = [...new Set(candidates.map((c) => c.plan.peakBytes))].filter((p) => p < plan.peakBytes).sort((x, y) => x - y);
    const budget = peaks[Math.floor(peaks.length / 2)];
    const chosen = choosePatch(schedule, plan.peakBytes, macs, { mode: 'auto', sramBudget: budget })!;
    expect(chosen.plan.peakBytes).toBeLessThanOrEqual(budget);
    const fitting = candidates.filter((c) => c.plan.peakBytes <= budget);
    expect(chosen.extraMacs).toBe(Math.min(...fitting.map((c) => c.extraMacs)));
    expect(choosePatch(schedule, plan.peakBytes, macs, { mode: 'auto', sramBudget: plan.peakBytes })).toBeUndefined();
  });

  it('takes a fixed grid and rejects one the stage cannot hold', () => {
    const macs = modelCost(model).macs;
    expect(choosePatch(schedule, plan.peakBytes, macs, { mode: { n: 3 } })!.stage.n).toBe(3);
    expect(() => choosePatch(schedule, plan.peakBytes, macs, { mode: { n: 20 } })).toThrow(/20x20/);
  });
});

describe('patch stage on a MobileNetV2-like model', () => {
  it('runs the stage through the explicit PAD (folded) and stops before the RESHAPE', () => {
    const model = buildTinyMobilenet();
    const { schedule } = planModel(model);
    const splits = findSplits(schedule);
    const padded = schedule.steps.find((s) => s.fusedPad !== undefined)!;
    expect(splits.some((s) => s.split > padded.step)).toBe(true);
    expect(schedule.steps[splits.at(-1)!.split].kind).toBe('RESHAPE');
    // no split inside the residual block: both the block input and its branch cross such a cut
    const add = schedule.steps.find((s) => s.kind === 'ADD')!;
    const inside = splits.filter((s) => s.split > add.step - 3 && s.split <= add.step);
    expect(inside).toEqual([]);
  });
});

describe('in-place depthwise inside patches', () => {
  it('writes the depthwise output over the expanded patch buffer when that lowers the patch peak', () => {
    const model = buildBottleneck(4);
    const { schedule } = planModel(model);
    const split = findSplits(schedule).find((s) => schedule.steps[s.split - 1].kind === 'CONV_2D' && s.split === 3)!;
    const stage = analyzeStage(schedule, split, 4);
    const dw = schedule.steps[1];
    expect(dw.kind).toBe('DEPTHWISE_CONV_2D');
    expect(stage.inPlace.has(1)).toBe(true);
    expect(stage.patchPlan.tensorOffsets.get(dw.outputs[0])).toBe(stage.patchPlan.tensorOffsets.get(dw.inputs[0]));
    expect(stage.planeBytes[1]).toBeGreaterThan(0);
    verifyPlan(stage.patchPlan);
  });

  it('keeps the depthwise out of place when its input is read again later in the stage', () => {
    const b = new IrBuilder('dw-reused');
    const x = b.input([1, 16, 16, 8]);
    const e = b.conv(x, { outChannels: 16, kernel: 1 });
    const d = b.depthwise(e, { activation: 'none' });
    const sum = b.add(e, d);
    const model = b.build([b.reshape(b.avgPool(b.conv(sum, { outChannels: 4, stride: 2 }), 8), [1, 4])]);
    const { schedule } = planModel(model);
    const splits = findSplits(schedule).filter((s) => model.tensors[s.stageOutput].shape[1] >= 2);
    expect(splits.some((s) => schedule.steps.slice(0, s.split).some((st) => st.kind === 'ADD'))).toBe(true);
    for (const split of splits) expect(analyzeStage(schedule, split, 2).inPlace.size).toBe(0);
  });
});
