import type { Model } from '../ir';
import { dimsOf } from '../patch/region';
import { analyzeStage, findSplits, patchedProblem, type PatchStage } from '../patch/stage';
import { planProblem, type ArenaBlock, type MemoryPlan } from '../planner/plan';
import { ALL_REWRITES, buildSchedule, type Schedule, type ScheduleStep } from '../planner/schedule';
import { verifyPlan } from '../planner/verify';
import { PackageError, type PackageManifest, type PatchSchedule } from './format';

/** The arena layout a runtime needs: where every tensor and scratch buffer is, and the arena size. */
export type ArenaOffsets = Pick<MemoryPlan, 'peakBytes' | 'tensorOffsets' | 'scratchOffsets'>;

/** The patch plan a version-2 package carries, checked against its model and ready to run. */
export interface PackagePatchPlan {
  schedule: Schedule;
  /** The whole-model arena: the stage is its step 0, whose scratch is the patch area. */
  plan: ArenaOffsets;
  /** The stage, its patch buffers at the package's offsets. */
  stage: PatchStage;
}

const bad = (message: string) => new PackageError('bad-schedule', message);

const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Blocks whose lifetimes and sizes the model decides (`reference`, a placement of the same problem)
 * moved to the offsets the package gives, checked: each block's tensors where the block's byte
 * sharing puts them (one offset, or a residual overwrite's shift apart), buffers of the block's
 * bytes, each scratch at its size, and no two blocks live at one step overlapping.
 */
function placeAt(
  what: string,
  reference: Pick<MemoryPlan, 'blocks' | 'tensorOffsets'>,
  tensorAt: ReadonlyMap<number, { offset: number; bytes?: number }>,
  scratchAt: ReadonlyMap<number, { offset: number; bytes: number }>,
  peakBytes: number,
): ArenaOffsets & Pick<MemoryPlan, 'blocks'> {
  const blocks = reference.blocks.map((b): ArenaBlock => {
    if (b.kind === 'scratch') {
      const s = scratchAt.get(b.step!);
      if (!s) throw bad(`${what}: step ${b.step} needs ${b.bytes} bytes of scratch, the package places none`);
      if (s.bytes !== b.bytes) throw bad(`${what}: scratch of step ${b.step} is ${s.bytes} bytes, the model needs ${b.bytes}`);
      return { ...b, offset: s.offset };
    }
    const at = b.tensors.map((t) => tensorAt.get(t));
    const missing = b.tensors.find((_, i) => !at[i]);
    if (missing !== undefined) throw bad(`${what}: tensor ${missing} has no place`);
    // Where each tensor starts inside its block (0 but for a residual overwrite's shifted output).
    const starts = b.tensors.map((t) => reference.tensorOffsets.get(t)! - b.offset);
    const offset = at[0]!.offset - starts[0];
    if (at.some((p, i) => p!.offset - starts[i] !== offset)) throw bad(`${what}: tensors ${b.tensors.join(',')} share bytes but are not placed as their byte sharing puts them`);
    if (at.some((p) => p!.bytes !== undefined && p!.bytes !== b.bytes)) throw bad(`${what}: buffer of tensor ${b.tensors[0]} is not the ${b.bytes} bytes the model needs`);
    if (offset < 0) throw bad(`${what}: tensors ${b.tensors.join(',')} start before the arena`);
    return { ...b, offset };
  });
  const placedTensors = new Set(reference.blocks.flatMap((b) => b.tensors));
  const extra = [...tensorAt.keys()].find((t) => !placedTensors.has(t));
  if (extra !== undefined) throw bad(`${what}: places tensor ${extra}, which it does not hold`);
  const extraScratch = [...scratchAt.keys()].find((s) => !reference.blocks.some((b) => b.kind === 'scratch' && b.step === s));
  if (extraScratch !== undefined) throw bad(`${what}: places scratch for step ${extraScratch}, which needs none`);
  try {
    verifyPlan({ blocks, peakBytes });
  } catch (err) {
    throw bad(`${what}: ${(err as Error).message}`);
  }
  const tensorOffsets = new Map<number, number>();
  const scratchOffsets = new Map<number, number>();
  for (const b of blocks) {
    if (b.kind === 'scratch') scratchOffsets.set(b.step!, b.offset);
    else for (const t of b.tensors) tensorOffsets.set(t, tensorAt.get(t)!.offset);
  }
  return { blocks, peakBytes, tensorOffsets, scratchOffsets };
}

/** The stage the package describes is the stage the engine derives for its split and grid, field by field. */
function checkStage(carried: PatchSchedule, stage: PatchStage, schedule: Schedule): void {
  const { n } = carried;
  if (carried.stageOutput !== stage.stageOutput) throw bad(`stage output is tensor ${carried.stageOutput}, the split's is ${stage.stageOutput}`);
  if (!sameList(carried.stageInputs, stage.stageInputs)) throw bad(`stage inputs [${carried.stageInputs}] are not the split's [${stage.stageInputs}]`);
  if (!sameList(carried.stageOps, stage.stageOps)) throw bad(`stage ops [${carried.stageOps}] are not the split's [${stage.stageOps}]`);
  if (carried.lastStageOp !== schedule.steps[stage.split - 1].opIndex) throw bad(`last stage op ${carried.lastStageOp} is not node ${schedule.steps[stage.split - 1].opIndex}`);
  const layouts = [...stage.layouts].sort((a, b) => a[0] - b[0]);
  if (carried.layouts.length !== layouts.length || carried.layouts.some(([t, l], i) => t !== layouts[i][0] || l !== layouts[i][1])) throw bad('tensor layouts are not the split\'s');
  const tensors = [...stage.patches[0].regions.keys()].sort((a, b) => a - b);
  if (!sameList(carried.regions.map((r) => r.tensor), tensors)) throw bad(`regions cover tensors [${carried.regions.map((r) => r.tensor)}], the stage touches [${tensors}]`);
  for (const r of carried.regions) {
    if (r.rows.length !== n || r.cols.length !== n) throw bad(`tensor ${r.tensor}: ${r.rows.length} row and ${r.cols.length} column ranges for a ${n}x${n} grid`);
    for (let i = 0; i < n; i++) {
      const rows = stage.patches[i * n].regions.get(r.tensor)!;
      const cols = stage.patches[i].regions.get(r.tensor)!;
      if (r.rows[i][0] !== rows.h0 || r.rows[i][1] !== rows.h1) throw bad(`tensor ${r.tensor}: patch row ${i} holds rows [${r.rows[i]}), its receptive field is [${rows.h0},${rows.h1})`);
      if (r.cols[i][0] !== cols.w0 || r.cols[i][1] !== cols.w1) throw bad(`tensor ${r.tensor}: patch column ${i} holds columns [${r.cols[i]}), its receptive field is [${cols.w0},${cols.w1})`);
    }
  }
  const inPlace = [...stage.inPlace].sort((a, b) => a - b);
  if (!sameList(carried.inPlace, inPlace)) throw bad(`in-place steps [${carried.inPlace}] are not the stage's [${inPlace}]`);
}

/**
 * Checks the patch schedule of a version-2 package against its model and returns it ready to run:
 * the schedule steps are the graph's, the split is a valid stage cut, the regions are the grid's
 * receptive fields, and every patch buffer and arena block has the bytes the model needs at an
 * offset no other live block uses. Throws PackageError `bad-schedule` naming the first mismatch.
 */
export function loadPatchPlan(manifest: PackageManifest, model: Model): PackagePatchPlan {
  const carried = manifest.memoryPlan.patch;
  if (!carried) throw bad('format version 2 without a patch schedule');
  const steps = manifest.memoryPlan.steps;
  // A package whose steps overwrite residual blocks was planned with that rewrite; one without, without.
  const schedule = buildSchedule(model, { ...ALL_REWRITES, overwriteResidual: steps.some((s) => s.overwrites) });
  const sameOverwrite = (a: ScheduleStep['overwrites'], b: ScheduleStep['overwrites']) => a?.tensor === b?.tensor && a?.shift === b?.shift;
  const stepDiffers = schedule.steps.findIndex((s, i) => {
    const m = steps[i];
    return !m || m.opIndex !== s.opIndex || m.kind !== s.kind || m.inPlace !== s.inPlace || m.alias !== s.alias || m.fusedPad !== s.fusedPad || !sameOverwrite(m.overwrites, s.overwrites);
  });
  if (stepDiffers >= 0 || steps.length !== schedule.steps.length) throw bad(`memoryPlan.steps differ from the graph's schedule at step ${stepDiffers >= 0 ? stepDiffers : schedule.steps.length}`);

  const split = findSplits(schedule).find((s) => s.split === carried.split);
  if (!split) throw bad(`no patch stage of the graph ends after step ${carried.split}`);
  const out = dimsOf(model.tensors[split.stageOutput], 'nhwc');
  if (carried.n > out.h || carried.n > out.w) throw bad(`a ${carried.n}x${carried.n} grid does not fit the ${out.h}x${out.w} stage output`);
  const derived = analyzeStage(schedule, split, carried.n);
  checkStage(carried, derived, schedule);

  const buffers = new Map(carried.buffers.map(([t, offset, bytes]) => [t, { offset, bytes }]));
  const patchScratch = new Map(carried.scratch.map(([step, offset, bytes]) => [step, { offset, bytes }]));
  const patchPlan = placeAt('patch buffers', derived.patchPlan, buffers, patchScratch, carried.area.bytes);
  const stage: PatchStage = { ...derived, patchPlan: { ...derived.patchPlan, ...patchPlan } };

  const whole = planProblem(patchedProblem(schedule, stage), 'in-order');
  const tensorAt = new Map(manifest.memoryPlan.tensorOffsets.map(([t, offset]) => [t, { offset }]));
  const scratchAt = new Map(manifest.memoryPlan.scratch.map(([step, offset, bytes]) => [step, { offset, bytes }]));
  if (scratchAt.get(0)?.offset !== carried.area.offset) throw bad(`the patch area at ${carried.area.offset} is not the stage step's scratch`);
  const plan = placeAt('memory plan', whole, tensorAt, scratchAt, manifest.memoryPlan.arenaBytes);
  return { schedule, plan: { peakBytes: plan.peakBytes, tensorOffsets: plan.tensorOffsets, scratchOffsets: plan.scratchOffsets }, stage };
}
