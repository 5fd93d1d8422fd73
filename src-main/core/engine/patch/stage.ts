import { elementCount, tensorBytes, type Model, type OpKind } from '../ir';
import { opMacs } from '../cost/macs';
import { depthwisePlaneBytes } from '../runtime/kernels/depthwise-in-place';
import { isWindowOp, windowOf, type Window } from '../planner/geometry';
import { planProblem, variableTensors, type MemoryPlan, type PlanProblem, type PlanStepInput } from '../planner/plan';
import { isArenaTensor, type Schedule, type ScheduleStep } from '../planner/schedule';
import { scratchBytes } from '../planner/scratch';
import { stageOutputOverlap } from './output-overlap';
import { sameRegion } from './patch-kernel';
import { dimsOf, regionArea, regionBytes, splitRange, union, windowInputRegion, type Layout, type Region } from './region';

/** Ops that can run on a spatial patch: sliding windows, element-wise ops and NCHW->NHWC transposes. */
const PATCHABLE: ReadonlySet<OpKind> = new Set<OpKind>([
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'AVERAGE_POOL_2D',
  'MAX_POOL_2D',
  'ADD',
  'MUL',
  'RELU',
  'RELU6',
  'HARD_SWISH',
  'LOGISTIC',
  'QUANTIZE',
  'DEQUANTIZE',
  'TRANSPOSE',
]);

/** TRANSPOSE permutation that turns NCHW into NHWC: the only transpose a patch stage accepts. */
const NCHW_TO_NHWC = [0, 2, 3, 1];

/** A point where the schedule can be cut: a prefix of steps whose only product used later is one NHWC tensor. */
export interface StageSplit {
  /** Number of schedule steps in the stage (steps [0, split)). */
  split: number;
  /** The one tensor the rest of the model reads from the stage. */
  stageOutput: number;
  /** Arena tensors the stage reads from outside (model inputs), kept whole in SRAM. */
  stageInputs: number[];
  /** Layout of every tensor the stage touches. */
  layouts: Map<number, Layout>;
  /** TFLite node indices the stage runs, PADs folded into its ops included, ascending. */
  stageOps: number[];
}

/** What running a stage as n x n patches costs. */
export interface PatchStage extends StageSplit {
  n: number;
  /** Per patch (row-major), the region of every stage tensor the patch computes or reads. */
  patches: { tile: Region; regions: Map<number, Region> }[];
  /** Per stage step, bytes of the crop a transpose makes of a larger NCHW input buffer. */
  cropBytes: number[];
  /** Stage steps (positions) whose depthwise writes over its input's patch buffer. */
  inPlace: Set<number>;
  /** Per stage step, the plane scratch of an in-place depthwise (largest over the patches). */
  planeBytes: number[];
  /**
   * Placement of one patch's working set: the intermediates' buffers (each sized for the largest
   * patch, reused by every patch) and the steps' scratch. Stage inputs and the stage output are not
   * in it: the stage reads and writes them where they are.
   */
  patchPlan: MemoryPlan;
  /** MACs of the stage run patch by patch, and run layer by layer. */
  patchMacs: number;
  layerMacs: number;
}

function readPerm(model: Model, step: ScheduleStep): number[] | undefined {
  const t = model.tensors[step.inputs[1]];
  if (!t?.data || t.dtype !== 'int32') return undefined;
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Array.from({ length: elementCount(t.shape) }, (_, i) => view.getInt32(i * 4, true));
}

/** Arena inputs of a step (constants and omitted inputs dropped). */
function arenaInputs(model: Model, step: ScheduleStep): number[] {
  const ins = step.kind === 'TRANSPOSE' ? step.inputs.slice(0, 1) : step.inputs;
  return ins.filter((t) => t >= 0 && isArenaTensor(model.tensors[t]));
}

/** Why a step cannot be part of a patch stage, or undefined when it can. */
function unpatchable(model: Model, step: ScheduleStep): string | undefined {
  if (!PATCHABLE.has(step.kind)) return `${step.kind} is not spatially local`;
  const out = model.tensors[step.outputs[0]];
  if (out.shape.length !== 4 || out.shape[0] !== 1) return 'output is not a single NHWC image';
  if (step.kind === 'TRANSPOSE') {
    const perm = readPerm(model, step);
    if (!perm || perm.join() !== NCHW_TO_NHWC.join()) return 'TRANSPOSE other than NCHW->NHWC';
    return undefined;
  }
  const ins = arenaInputs(model, step);
  if (step.kind === 'ADD' || step.kind === 'MUL') {
    if (ins.length !== 2 || step.inputs.length !== 2) return 'element-wise op with a constant operand';
    if (ins.some((t) => model.tensors[t].shape.join() !== out.shape.join())) return 'broadcasting element-wise op';
  }
  for (const t of ins) if (model.tensors[t].shape.length !== 4) return 'input is not 4-D';
  return undefined;
}

/** Every valid split point of a schedule, shortest stage first. */
export function findSplits(schedule: Schedule): StageSplit[] {
  const { model, steps } = schedule;
  const splits: StageSplit[] = [];
  const layouts = new Map<number, Layout>();
  const produced = new Set<number>();
  const readers = new Map<number, number[]>();
  steps.forEach((s) => {
    for (const t of s.inputs) if (t >= 0) readers.set(t, [...(readers.get(t) ?? []), s.step]);
  });
  const external = new Set<number>();
  for (let k = 0; k < steps.length - 1; k++) {
    const step = steps[k];
    if (unpatchable(model, step)) break;
    const ins = arenaInputs(model, step);
    const inLayout: Layout = step.kind === 'TRANSPOSE' ? 'nchw' : 'nhwc';
    let consistent = true;
    for (const t of ins) {
      if (layouts.has(t) && layouts.get(t) !== inLayout) consistent = false;
      layouts.set(t, inLayout);
      if (!produced.has(t)) external.add(t);
    }
    const out = step.outputs[0];
    if (layouts.has(out) && layouts.get(out) !== 'nhwc') consistent = false;
    layouts.set(out, 'nhwc');
    produced.add(out);
    if (!consistent) break;
    if ([...external].some((t) => !model.inputs.includes(t))) break;

    const split = k + 1;
    const crossing = [...produced].filter((t) => model.outputs.includes(t) || (readers.get(t) ?? []).some((r) => r >= split));
    if (crossing.length !== 1) continue;
    const stageOutput = crossing[0];
    if ((readers.get(stageOutput) ?? []).some((r) => r < split)) continue;
    // A stage output is written tile by tile into its final place, which a transpose's kernel cannot do.
    if (step.kind === 'TRANSPOSE' && step.outputs[0] === stageOutput) continue;
    // Every other product must feed the stage output, or its region would be undefined.
    const dead = [...produced].some((t) => t !== stageOutput && !(readers.get(t) ?? []).some((r) => r < split));
    if (dead) continue;
    const stageOps = steps
      .slice(0, split)
      .flatMap((s) => (s.fusedPad === undefined ? [s.opIndex] : [s.fusedPad, s.opIndex]))
      .sort((a, b) => a - b);
    splits.push({ split, stageOutput, stageInputs: [...external].sort((a, b) => a - b), layouts: new Map(layouts), stageOps });
  }
  return splits;
}

/** Backward pass: the region of each stage tensor one output tile needs. */
function regionsForTile(model: Model, steps: ScheduleStep[], split: StageSplit, tile: Region): Map<number, Region> {
  const regions = new Map<number, Region>([[split.stageOutput, tile]]);
  for (let k = split.split - 1; k >= 0; k--) {
    const step = steps[k];
    const out = regions.get(step.outputs[0]);
    if (!out) throw new Error(`patch stage: output of node ${step.opIndex} is not needed by the stage output`);
    for (const t of arenaInputs(model, step)) {
      let need = out;
      if (isWindowOp(model.ops.find((o) => o.index === step.opIndex)!)) {
        const dims = dimsOf(model.tensors[t], split.layouts.get(t)!);
        need = windowInputRegion(out, windowOfStep(model, step), step.padding!, dims.h, dims.w);
      }
      regions.set(t, union(regions.get(t), need));
    }
  }
  return regions;
}

export function windowOfStep(model: Model, step: ScheduleStep): Window {
  const op = model.ops.find((o) => o.index === step.opIndex)!;
  if (!isWindowOp(op)) throw new Error(`node ${step.opIndex} (${step.kind}) has no window`);
  return windowOf(model, op);
}

/**
 * The receptive fields of an n x n grid, one axis at a time: row ranges come from the n row strips
 * of the stage output, column ranges from its n column strips (windows, clipping and unions act on
 * each axis independently), so a grid costs 2n backward passes instead of n^2.
 */
export interface StageGrid {
  n: number;
  /** Per tile row: each stage tensor's region for the full-width strip (its rows are the tile row's). */
  rowStrips: { tile: Region; regions: Map<number, Region> }[];
  /** Per tile column: each stage tensor's region for the full-height strip. */
  colStrips: { tile: Region; regions: Map<number, Region> }[];
  patchMacs: number;
  layerMacs: number;
}

/** The grid's receptive fields and the MACs the patches run, without building the patches (cheap). */
export function stageGrid(schedule: Schedule, split: StageSplit, n: number): StageGrid {
  const { model, steps } = schedule;
  const outDims = dimsOf(model.tensors[split.stageOutput], 'nhwc');
  if (n < 1 || n > outDims.h || n > outDims.w) throw new Error(`patch grid ${n}x${n} does not fit a ${outDims.h}x${outDims.w} stage output`);
  const strip = (tile: Region) => ({ tile, regions: regionsForTile(model, steps, split, tile) });
  const rowStrips = splitRange(outDims.h, n).map(([h0, h1]) => strip({ h0, h1, w0: 0, w1: outDims.w }));
  const colStrips = splitRange(outDims.w, n).map(([w0, w1]) => strip({ h0: 0, h1: outDims.h, w0, w1 }));
  let patchMacs = 0;
  let layerMacs = 0;
  for (const step of steps.slice(0, split.split)) {
    const macs = opMacs(model, model.ops.find((o) => o.index === step.opIndex)!);
    const t = step.outputs[0];
    const out = model.tensors[t];
    layerMacs += macs;
    const rows = rowStrips.reduce((sum, r) => sum + r.regions.get(t)!.h1 - r.regions.get(t)!.h0, 0);
    const cols = colStrips.reduce((sum, c) => sum + c.regions.get(t)!.w1 - c.regions.get(t)!.w0, 0);
    patchMacs += (macs * rows * cols) / (out.shape[1] * out.shape[2]);
  }
  return { n, rowStrips, colStrips, patchMacs: Math.round(patchMacs), layerMacs };
}

/** The patches of a grid, row-major: each tensor's region is its row strip's rows by its column strip's columns. */
function gridPatches(grid: StageGrid): PatchStage['patches'] {
  return grid.rowStrips.flatMap((row) =>
    grid.colStrips.map((col) => {
      const regions = new Map<number, Region>();
      for (const [t, r] of row.regions) {
        const c = col.regions.get(t)!;
        regions.set(t, { h0: r.h0, h1: r.h1, w0: c.w0, w1: c.w1 });
      }
      return { tile: { h0: row.tile.h0, h1: row.tile.h1, w0: col.tile.w0, w1: col.tile.w1 }, regions };
    }),
  );
}

/** Cost of running a stage as n x n patches: regions, one patch's buffer plan, MACs. */
export function analyzeStage(schedule: Schedule, split: StageSplit, n: number, grid = stageGrid(schedule, split, n)): PatchStage {
  const { model, steps } = schedule;
  const stageSteps = steps.slice(0, split.split);
  const { patchMacs, layerMacs } = grid;
  const patches = gridPatches(grid);

  const bufferBytes = new Map<number, number>();
  const cropBytes = new Array<number>(split.split).fill(0);
  // Stage inputs and the stage output are read and written where they are (whole, in the model's
  // arena): only the intermediates get patch buffers, each sized for the largest patch.
  const whole = new Set([...split.stageInputs, split.stageOutput]);
  for (const p of patches) {
    for (const [t, r] of p.regions) {
      if (!whole.has(t)) bufferBytes.set(t, Math.max(bufferBytes.get(t) ?? 0, regionBytes(model, t, split.layouts.get(t)!, r)));
    }
  }
  // Element-wise ops read the rows of a larger input where they are; only a transpose's NCHW planes
  // are not contiguous per row and need a crop.
  stageSteps.forEach((step, k) => {
    if (step.kind !== 'TRANSPOSE') return;
    for (const p of patches) {
      const r = p.regions.get(step.outputs[0])!;
      const t = step.inputs[0];
      const d = dimsOf(model.tensors[t], 'nchw');
      const held = whole.has(t) ? { h0: 0, h1: d.h, w0: 0, w1: d.w } : p.regions.get(t)!;
      if (!sameRegion(held, r)) cropBytes[k] = Math.max(cropBytes[k], regionBytes(model, t, 'nchw', r));
    }
  });

  const candidate = inPlaceDepthwise(model, stageSteps, split, patches);
  const planWith = (planeBytes: number[], sharesBytesWith: Map<number, number>) =>
    planProblem(
      {
        steps: stageSteps.map((s, k) => ({ opIndex: s.opIndex, kind: s.kind, inputs: arenaInputs(model, s), outputs: s.outputs, scratchBytes: cropBytes[k] + planeBytes[k] })),
        bytesOf: (t) => bufferBytes.get(t),
        sharesBytesWith,
        modelInputs: [],
        modelOutputs: [],
      },
      'searched',
    );
  // In place saves the output buffer but adds a plane and keeps the shared block at its larger size
  // for longer: keep whichever patch plan is smaller.
  const outOfPlace = planWith(new Array<number>(split.split).fill(0), new Map());
  const inPlacePlan = candidate.inPlace.size > 0 ? planWith(candidate.planeBytes, candidate.sharesBytesWith) : undefined;
  const common = { ...split, n, patches, cropBytes, patchMacs, layerMacs };
  if (inPlacePlan && inPlacePlan.peakBytes < outOfPlace.peakBytes) {
    return { ...common, inPlace: candidate.inPlace, planeBytes: candidate.planeBytes, patchPlan: inPlacePlan };
  }
  return { ...common, inPlace: new Set(), planeBytes: new Array<number>(split.split).fill(0), patchPlan: outOfPlace };
}

/**
 * Depthwise steps of the stage that can write over their input's patch buffer, as in the per-layer
 * plan: depth multiplier 1, int8, nothing in the stage reads the input afterwards, and in every patch
 * the input buffer starts where the receptive field starts (no negative padding: the kernel's plane
 * copy needs the input to begin at or after the plane's origin).
 */
function inPlaceDepthwise(model: Model, stageSteps: ScheduleStep[], split: StageSplit, patches: PatchStage['patches']) {
  const inPlace = new Set<number>();
  const planeBytes = new Array<number>(stageSteps.length).fill(0);
  const sharesBytesWith = new Map<number, number>();
  const lastReader = new Map<number, number>();
  stageSteps.forEach((s, k) => {
    for (const t of arenaInputs(model, s)) lastReader.set(t, k);
  });
  stageSteps.forEach((step, k) => {
    const op = model.ops.find((o) => o.index === step.opIndex)!;
    if (op.kind !== 'DEPTHWISE_CONV_2D' || op.options.depthMultiplier !== 1) return;
    const [tin, tout] = [step.inputs[0], step.outputs[0]];
    if (tout === split.stageOutput || split.stageInputs.includes(tin) || lastReader.get(tin) !== k) return;
    if (model.tensors[tin].dtype !== 'int8' || model.tensors[tout].dtype !== 'int8' || split.layouts.get(tin) !== 'nhwc') return;
    const w = windowOfStep(model, step);
    let plane = 0;
    for (const p of patches) {
      const ri = p.regions.get(tin)!;
      const ro = p.regions.get(tout)!;
      const padTop = step.padding!.top + ri.h0 - ro.h0 * w.strideH;
      const padLeft = step.padding!.left + ri.w0 - ro.w0 * w.strideW;
      if (padTop < 0 || padLeft < 0 || regionArea(ro) > regionArea(ri)) return;
      plane = Math.max(
        plane,
        depthwisePlaneBytes({
          inH: ri.h1 - ri.h0,
          inW: ri.w1 - ri.w0,
          outH: ro.h1 - ro.h0,
          outW: ro.w1 - ro.w0,
          kH: w.kernelH,
          kW: w.kernelW,
          strideH: w.strideH,
          strideW: w.strideW,
          dilationH: w.dilationH,
          dilationW: w.dilationW,
          padTop,
          padLeft,
        }),
      );
    }
    inPlace.add(k);
    planeBytes[k] = plane;
    sharesBytesWith.set(tout, sharesBytesWith.get(tin) ?? tin);
  });
  return { inPlace, planeBytes, sharesBytesWith };
}

/**
 * The whole-model placement problem with the stage run patch by patch: one step stands for the stage
 * (its inputs and output whole, one patch's buffers as its scratch), the rest of the schedule follows.
 */
export function patchedProblem(schedule: Schedule, stage: PatchStage): PlanProblem {
  const { model, steps } = schedule;
  // Byte sharing of the steps after the stage only: the stage's own tensors are patch buffers now.
  const sharesBytesWith = new Map<number, number>();
  const byteShift = new Map<number, number>();
  const root = (t: number) => sharesBytesWith.get(t) ?? t;
  for (const s of steps.slice(stage.split)) {
    const over = s.overwrites ?? (s.alias || s.inPlace ? { tensor: s.inputs[0], shift: 0 } : undefined);
    if (!over) continue;
    sharesBytesWith.set(s.outputs[0], root(over.tensor));
    byteShift.set(s.outputs[0], (byteShift.get(over.tensor) ?? 0) + over.shift);
  }
  const stageStep: PlanStepInput = {
    opIndex: steps[0].opIndex,
    kind: 'PATCH_STAGE',
    inputs: stage.stageInputs,
    outputs: [stage.stageOutput],
    scratchBytes: stage.patchPlan.peakBytes,
  };
  // The stage output may be written over the input rows no later patch reads.
  const overlap = stageOutputOverlap(schedule, stage);
  return {
    steps: [stageStep, ...steps.slice(stage.split).map((s) => ({ opIndex: s.opIndex, kind: s.kind, inputs: s.inputs, outputs: s.outputs, scratchBytes: scratchBytes(model, s) }))],
    bytesOf: (t) => (isArenaTensor(model.tensors[t]) ? tensorBytes(model.tensors[t]) : undefined),
    sharesBytesWith,
    byteShift,
    modelInputs: model.inputs,
    modelOutputs: model.outputs,
    variables: variableTensors(model),
    ties: overlap ? [{ tensor: stage.stageOutput, to: overlap.input, maxShift: overlap.maxShift }] : [],
  };
}
