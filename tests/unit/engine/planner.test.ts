import { describe, expect, it } from 'vitest';
import { planModel, planProblem, problemOfSchedule, type PlanProblem } from '../../../src-main/core/engine/planner/plan';
import { runPlanned } from '../../../src-main/core/engine/planner/execute';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { fillDeterministic, mulberry32 } from '../../../src-main/core/engine/runtime/inputs';
import { allocateView } from '../../../src-main/core/engine/runtime/tensor-memory';
import { placeLowestGap } from '../../../src-main/core/engine/planner/placement';
import { buildSchedule, ALL_REWRITES, NO_REWRITES } from '../../../src-main/core/engine/planner/schedule';
import { verifyPlan } from '../../../src-main/core/engine/planner/verify';
import { IrBuilder, buildTinyMobilenet } from '../../support/ir-builder';

describe('placement', () => {
  it('never lets two blocks with identical lifetimes share bytes', () => {
    // TinyEngine's allocator reused a block for a tensor born and dying at the same steps as another.
    const blocks = [
      { bytes: 100, firstStep: 2, lastStep: 4 },
      { bytes: 100, firstStep: 2, lastStep: 4 },
      { bytes: 60, firstStep: 4, lastStep: 4 },
    ];
    const offsets = placeLowestGap(blocks, [0, 1, 2]);
    expect(offsets).toEqual([0, 100, 200]);
  });

  it('reuses a gap left by a dead block, lowest first', () => {
    const blocks = [
      { bytes: 100, firstStep: 0, lastStep: 1 },
      { bytes: 50, firstStep: 0, lastStep: 3 },
      { bytes: 80, firstStep: 2, lastStep: 3 },
    ];
    expect(placeLowestGap(blocks, [0, 1, 2])).toEqual([0, 100, 0]);
  });

  it('keeps two model inputs read by the same op apart', () => {
    const b = new IrBuilder('two-inputs');
    const x = b.input([1, 4, 4, 8]);
    const y = b.input([1, 4, 4, 8]);
    const { plan } = planModel(b.build([b.add(x, y)]));
    expect(plan.tensorOffsets.get(x)).not.toBe(plan.tensorOffsets.get(y));
    expect(plan.peakBytes).toBe(3 * 128);
    verifyPlan(plan);
  });
});

describe('placement orders', () => {
  // A (100 B) at steps 0-1, B (52 B) at 1-2, C (152 B) at 2-3.
  const sizes = new Map([
    [1, 100],
    [2, 52],
    [3, 152],
    [4, 4],
  ]);
  const problem: PlanProblem = {
    steps: [
      { opIndex: 0, kind: 'X', inputs: [0], outputs: [1], scratchBytes: 0 },
      { opIndex: 1, kind: 'X', inputs: [1], outputs: [2], scratchBytes: 0 },
      { opIndex: 2, kind: 'X', inputs: [2], outputs: [3], scratchBytes: 0 },
      { opIndex: 3, kind: 'X', inputs: [3], outputs: [4], scratchBytes: 0 },
    ],
    bytesOf: (t) => sizes.get(t) ?? 4,
    sharesBytesWith: new Map(),
    modelInputs: [0],
    modelOutputs: [4],
  };

  it('largest first puts C where A was and B above both', () => {
    const plan = planProblem(problem, 'largest-first');
    expect([1, 2, 3].map((t) => plan.tensorOffsets.get(t))).toEqual([0, 152, 0]);
    expect(plan.peakBytes).toBe(204);
  });

  it('the naive allocator takes memory in execution order and leaves C above B', () => {
    const plan = planProblem(problem, 'in-order');
    expect([1, 2, 3].map((t) => plan.tensorOffsets.get(t))).toEqual([4, 104, 156]);
    expect(plan.peakBytes).toBe(308);
    expect(plan.lowerBoundBytes).toBe(204);
  });
});

describe('placement search', () => {
  // A (100 B) at steps 0-1, B (40 B) at 1-2, C (8 B) at 2-3, D (96 B) at step 3.
  const sizes = new Map([
    [1, 100],
    [2, 40],
    [3, 8],
    [4, 96],
  ]);
  const problem: PlanProblem = {
    steps: [
      { opIndex: 0, kind: 'X', inputs: [], outputs: [1], scratchBytes: 0 },
      { opIndex: 1, kind: 'X', inputs: [1], outputs: [2], scratchBytes: 0 },
      { opIndex: 2, kind: 'X', inputs: [2], outputs: [3], scratchBytes: 0 },
      { opIndex: 3, kind: 'X', inputs: [3], outputs: [4], scratchBytes: 0 },
    ],
    bytesOf: (t) => sizes.get(t),
    sharesBytesWith: new Map(),
    modelInputs: [],
    modelOutputs: [],
  };

  it('largest first leaves C above B: D took the bottom first and C no longer fits below B', () => {
    const plan = planProblem(problem, 'largest-first');
    expect(plan.peakBytes).toBe(148);
    expect(plan.lowerBoundBytes).toBe(140);
    expect(plan.placement).toBe('largest-first');
  });

  it('the searched placement reaches the lower bound and says which order did it', () => {
    const plan = planProblem(problem, 'searched');
    verifyPlan(plan);
    expect(plan.peakBytes).toBe(140);
    expect(plan.lowerBoundBytes).toBe(140);
    expect(plan.placement).toBe('longest-lifetime-first');
  });

  it('keeps largest-first when it is already the best', () => {
    const chain: PlanProblem = { ...problem, bytesOf: (t) => [0, 100, 52, 152, 4][t] };
    expect(planProblem(chain, 'searched').placement).toBe('largest-first');
  });
});

describe('planner on a chain', () => {
  it('places largest first and reports peak, lower bound and timeline', () => {
    const b = new IrBuilder('chain');
    const x = b.input([1, 8, 8, 4]); // 256 B
    const a = b.conv(x, { outChannels: 8, kernel: 1 }); // 512 B
    const c = b.conv(a, { outChannels: 4, kernel: 1 }); // 256 B
    const { plan } = planModel(b.build([c]));
    expect(plan.tensorOffsets.get(a)).toBe(0);
    expect(plan.tensorOffsets.get(x)).toBe(512);
    expect(plan.tensorOffsets.get(c)).toBe(512);
    expect(plan.peakBytes).toBe(768);
    expect(plan.lowerBoundBytes).toBe(768);
    expect(plan.timeline.map((e) => e.liveBytes)).toEqual([768, 768]);
    expect(plan.timeline[1].liveTensors).toEqual([a, c]);
    expect(plan.peak).toMatchObject({ step: 0, kind: 'CONV_2D' });
  });
});

describe('graph rewrites', () => {
  it('folds a PAD into the following depthwise as explicit padding', () => {
    const model = buildTinyMobilenet();
    const padOp = model.ops.find((o) => o.kind === 'PAD')!;
    const schedule = buildSchedule(model, ALL_REWRITES);
    expect(schedule.steps.some((s) => s.opIndex === padOp.index)).toBe(false);
    const dw = schedule.steps.find((s) => s.fusedPad === padOp.index)!;
    expect(dw.kind).toBe('DEPTHWISE_CONV_2D');
    expect(dw.inputs[0]).toBe(padOp.inputs[0]);
    expect(dw.padding).toEqual({ top: 1, bottom: 1, left: 1, right: 1 });
    expect(buildSchedule(model, NO_REWRITES).steps).toHaveLength(model.ops.length);
  });

  it('keeps a PAD whose output has another reader, or that pads channels', () => {
    const b = new IrBuilder('pad-shared');
    const x = b.input([1, 8, 8, 4]);
    const p = b.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const y = b.depthwise(p, { padding: 'valid' });
    const z = b.maxPool(p, 2, 2);
    const m1 = b.build([y, z]);
    expect(buildSchedule(m1, ALL_REWRITES).steps.some((s) => s.kind === 'PAD')).toBe(true);

    const c = new IrBuilder('pad-channels');
    const x2 = c.input([1, 8, 8, 4]);
    const p2 = c.pad(x2, [[0, 0], [1, 1], [1, 1], [0, 4]]);
    const m2 = c.build([c.conv(p2, { outChannels: 4, padding: 'valid' })]);
    expect(buildSchedule(m2, ALL_REWRITES).steps.some((s) => s.kind === 'PAD')).toBe(true);
  });

  it('runs a depthwise in place when its input dies there, with a ring of padded rows of scratch', () => {
    const b = new IrBuilder('dw');
    const x = b.input([1, 10, 12, 16]);
    const e = b.conv(x, { outChannels: 32, kernel: 1 });
    const d = b.depthwise(e, { stride: 2 });
    const model = b.build([b.conv(d, { outChannels: 8, kernel: 1 })]);
    const { schedule, plan } = planModel(model);
    const step = schedule.steps.find((s) => s.kind === 'DEPTHWISE_CONV_2D')!;
    expect(step.inPlace).toBe(true);
    expect(plan.tensorOffsets.get(d)).toBe(plan.tensorOffsets.get(e));
    // SAME, stride 2, 3x3 on 10x12: pads 0/1 on H and 0/1 on W -> plane 11 x 13, of which the ring
    // keeps one window's 3 rows.
    expect(plan.timeline[step.step].scratchBytes).toBe(3 * 13);
    expect(plan.scratchBytes).toBe(40); // 39 rounded to the word
    expect(plan.scratchOffsets.has(step.step)).toBe(true);
    verifyPlan(plan);
    // The scratch is live with the input: the step's live bytes include it.
    expect(plan.timeline[step.step].liveBytes).toBe(10 * 12 * 32 + 40);
  });

  it('lets a residual projection write over its input and the ADD over its skip, bit-exact and never higher', () => {
    const b = new IrBuilder('residual', 3);
    const x = b.input([1, 12, 12, 4]);
    const skip = b.conv(x, { outChannels: 8, kernel: 1 });
    const e = b.conv(skip, { outChannels: 40, kernel: 1 });
    const d = b.depthwise(e);
    const projection = b.conv(d, { outChannels: 8, kernel: 1, activation: 'none' });
    const sum = b.add(skip, projection);
    const model = b.build([b.conv(sum, { outChannels: 2, kernel: 1 })]);
    expect(planModel(model, 'tinyengine', { overwriteResidual: false }).schedule.steps.some((s) => s.overwrites)).toBe(false);
    // The default: the rewrite lowers this block's peak, so the plan keeps it.
    const { schedule, plan } = planModel(model);
    const conv = schedule.steps.find((s) => s.outputs[0] === projection)!;
    expect(conv.overwrites).toEqual({ tensor: d, shift: -8 });
    expect(schedule.steps[conv.step + 1].overwrites).toEqual({ tensor: skip, shift: 0 });
    // The projection starts one output pixel before its input; the sum is the skip's bytes.
    expect(plan.tensorOffsets.get(projection)).toBe(plan.tensorOffsets.get(d)! - 8);
    expect(plan.tensorOffsets.get(sum)).toBe(plan.tensorOffsets.get(skip));
    verifyPlan(plan);
    // Expanded tensor + one pixel + skip: the projection and the sum take no bytes of their own.
    expect(plan.timeline[conv.step].liveBytes).toBe(12 * 12 * 40 + 8 + 12 * 12 * 8);
    const plain = planProblem(problemOfSchedule(buildSchedule(model, { ...ALL_REWRITES, overwriteResidual: false })), 'searched');
    expect(plan.peakBytes).toBeLessThan(plain.peakBytes);
    const inputs = [allocateView(model.tensors[x])];
    fillDeterministic(inputs[0], mulberry32(7));
    const expected = createInterpreter(model).run(inputs).outputs;
    expect(Array.from(runPlanned(schedule, plan, inputs)[0] as Int8Array)).toEqual(Array.from(expected[0] as Int8Array));
  });

  it('keeps a depthwise out of place when its input is read later or the multiplier is > 1', () => {
    const b = new IrBuilder('dw-residual');
    const x = b.input([1, 8, 8, 16]);
    const d = b.depthwise(x, { activation: 'none' });
    const m1 = b.build([b.add(x, d)]);
    expect(buildSchedule(m1, ALL_REWRITES).steps.find((s) => s.kind === 'DEPTHWISE_CONV_2D')!.inPlace).toBe(false);

    const c = new IrBuilder('dw-mult');
    const x2 = c.input([1, 8, 8, 4]);
    const m2 = c.build([c.depthwise(x2, { multiplier: 2 })]);
    expect(buildSchedule(m2, ALL_REWRITES).steps[0].inPlace).toBe(false);
  });

  it('keeps a RESHAPE of an in-place depthwise output on the shared bytes', () => {
    const b = new IrBuilder('dw-reshape');
    const x = b.input([1, 6, 6, 8]);
    const e = b.conv(x, { outChannels: 16, kernel: 1 });
    const d = b.depthwise(e, { padding: 'valid', kernel: 6 }); // 1x1x16
    const flat = b.reshape(d, [1, 16]);
    const { schedule, plan } = planModel(b.build([b.fullyConnected(flat, 3)]));
    expect(schedule.steps[1].inPlace).toBe(true);
    expect(schedule.sharesBytesWith.get(flat)).toBe(e);
    expect(plan.tensorOffsets.get(flat)).toBe(plan.tensorOffsets.get(e));
    expect(plan.tensorOffsets.get(d)).toBe(plan.tensorOffsets.get(e));
    verifyPlan(plan);
  });

  it('aliases RESHAPE and SQUEEZE outputs to their input bytes', () => {
    const b = new IrBuilder('reshape');
    const x = b.input([1, 4, 4, 8]);
    const pooled = b.avgPool(x, 4);
    const flat = b.reshape(pooled, [1, 1, 8]);
    const sq = b.squeeze(flat, [0]);
    const out = b.fullyConnected(sq, 3);
    const { plan } = planModel(b.build([out]));
    expect(plan.tensorOffsets.get(flat)).toBe(plan.tensorOffsets.get(pooled));
    expect(plan.tensorOffsets.get(sq)).toBe(plan.tensorOffsets.get(pooled));
    const naive = planModel(b.build([out]), 'naive').plan;
    expect(naive.tensorOffsets.get(flat)).not.toBe(naive.tensorOffsets.get(pooled));
  });
});

describe('plans of a MobileNetV2-like model', () => {
  const model = buildTinyMobilenet();
  const ours = planModel(model).plan;
  const naive = planModel(model, 'naive').plan;
  const greedy = planModel(model, 'tflm-greedy').plan;

  it('are valid and never below their lower bound', () => {
    for (const p of [ours, naive, greedy]) {
      verifyPlan(p);
      expect(p.peakBytes).toBeGreaterThanOrEqual(p.lowerBoundBytes);
      expect(p.peakBytes).toBe(Math.max(...p.timeline.map((e) => e.arenaEndBytes)));
    }
  });

  it('beats both baselines', () => {
    expect(ours.peakBytes).toBeLessThan(naive.peakBytes);
    expect(ours.peakBytes).toBeLessThan(greedy.peakBytes);
  });

  it('aligns TFLM buffers to 16 bytes', () => {
    for (const b of greedy.blocks) expect(b.offset % 16).toBe(0);
  });

  it('reports where the peak is', () => {
    const e = ours.timeline[ours.peak.step];
    expect(e.arenaEndBytes).toBe(ours.peakBytes);
    expect(ours.peak.opIndex).toBe(e.opIndex);
  });
});

describe('verifyPlan', () => {
  it('names the blocks of a corrupted plan', () => {
    const problem: PlanProblem = {
      steps: [{ opIndex: 0, kind: 'X', inputs: [0], outputs: [1], scratchBytes: 0 }],
      bytesOf: () => 64,
      sharesBytesWith: new Map(),
      modelInputs: [0],
      modelOutputs: [1],
    };
    const plan = planProblem(problem, 'largest-first');
    verifyPlan(plan);
    plan.blocks[1].offset = plan.blocks[0].offset + 8;
    expect(() => verifyPlan(plan)).toThrow(/overlaps/);
  });
});
