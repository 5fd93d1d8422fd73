import { DTYPE_BYTES, type Model } from '../ir';
import { dimsOf, regionArea, type Layout, type Region } from '../patch/region';
import { patchKernel, sameRegion } from '../patch/patch-kernel';
import type { PatchStage } from '../patch/stage';
import { prepareStep } from '../planner/prepare-step';
import type { Schedule } from '../planner/schedule';
import type { RoundingMode } from '../runtime/requantize';
import { comment } from './c-literals';
import { emitStep, type EmitContext } from './op-emitters';

/**
 * The patch loop of MCUNetV2-style patch-based inference, as straight-line C: for each n x n tile of
 * the stage output, copy every stage input's receptive field into its patch buffer, run the stage's
 * ops on patch buffers (window ops with their padding shifted to the patch, element-wise ops on a crop
 * of a larger input), then copy the tile into the whole stage output. Buffer offsets come from the
 * stage's patch plan, placed at `patchBase` in the arena. This mirrors the TS runtime's
 * runPatchStage step for step, so both compute the same bytes.
 */



/** Statements copying the `want` window of a tensor held as `have` (global coordinates) between buffers. */
function copyWindow(model: Model, t: number, layout: Layout, src: string, have: Region, dst: string, dstRegion: Region, want: Region): string {
  const tensor = model.tensors[t];
  const eb = DTYPE_BYTES[tensor.dtype];
  const c = dimsOf(tensor, layout).c;
  const srcW = have.w1 - have.w0;
  const dstW = dstRegion.w1 - dstRegion.w0;
  const h = want.h1 - want.h0;
  const w = want.w1 - want.w0;
  const sy = want.h0 - have.h0, sx = want.w0 - have.w0, dy = want.h0 - dstRegion.h0, dx = want.w0 - dstRegion.w0;
  if (layout === 'nhwc') return `  tf_copy_window(${src}, ${srcW}, ${sy}, ${sx}, 0, ${dst}, ${dstW}, ${dy}, ${dx}, 0, ${h}, ${w}, 1, ${c * eb});\n`;
  const srcPlane = regionArea(have) * eb;
  const dstPlane = regionArea(dstRegion) * eb;
  return `  tf_copy_window(${src}, ${srcW}, ${sy}, ${sx}, ${srcPlane}, ${dst}, ${dstW}, ${dy}, ${dx}, ${dstPlane}, ${h}, ${w}, ${c}, ${eb});\n`;
}

export interface PatchStageEmit {
  code: string;
  calls: number;
}

/**
 * C of a patch stage. `whole(t)` is the arena offset of a stage input or of the stage output (the
 * whole-model plan); `patchBase` the arena offset of the patch buffers.
 */
export function emitPatchStage(
  base: EmitContext,
  schedule: Schedule,
  stage: PatchStage,
  rounding: RoundingMode,
  whole: (t: number) => number,
  patchBase: number,
): PatchStageEmit {
  const { model } = schedule;
  const steps = schedule.steps.slice(0, stage.split);
  const prepared = steps.map((s) => prepareStep(model, s, rounding));
  const plan = stage.patchPlan;
  const layoutOf = (t: number) => stage.layouts.get(t)!;
  const fullRegion = (t: number): Region => {
    const d = dimsOf(model.tensors[t], layoutOf(t));
    return { h0: 0, h1: d.h, w0: 0, w1: d.w };
  };
  const bufferAt = (t: number): number => {
    const off = plan.tensorOffsets.get(t);
    if (off === undefined) throw new Error(`patch plan has no buffer for tensor ${t}`);
    return patchBase + off;
  };
  const out: string[] = [];
  let calls = 0;
  stage.patches.forEach((patch, pi) => {
    const { tile } = patch;
    out.push(`  ${comment(`patch ${pi + 1}/${stage.patches.length}: stage output rows ${tile.h0}..${tile.h1 - 1}, columns ${tile.w0}..${tile.w1 - 1}`)}\n`);
    for (const t of stage.stageInputs) {
      const r = patch.regions.get(t)!;
      out.push(copyWindow(model, t, layoutOf(t), `TF_U8(${whole(t)})`, fullRegion(t), `TF_U8(${bufferAt(t)})`, r, r));
    }
    steps.forEach((step, k) => {
      const p = prepared[k];
      const outT = step.outputs[0];
      const outRegion = patch.regions.get(outT)!;
      const isWindow = p.kernel.kind === 'conv2d' || p.kernel.kind === 'depthwise' || p.kernel.kind === 'averagePool' || p.kernel.kind === 'maxPool';
      const addr = new Map<number, number>();
      const regionOf = new Map<number, Region>();
      const scratchAt = plan.scratchOffsets.get(k);
      let cropAt = scratchAt;
      for (const t of p.inputs) {
        if (t < 0 || model.tensors[t].data || addr.has(t)) continue;
        const have = patch.regions.get(t)!;
        if (isWindow || sameRegion(have, outRegion)) {
          addr.set(t, bufferAt(t));
          regionOf.set(t, have);
          continue;
        }
        if (cropAt === undefined) throw new Error(`patch plan has no crop buffer for step ${k}`);
        const at = patchBase + cropAt;
        out.push(copyWindow(model, t, layoutOf(t), `TF_U8(${bufferAt(t)})`, have, `TF_U8(${at})`, outRegion, outRegion));
        addr.set(t, at);
        regionOf.set(t, outRegion);
        cropAt += regionArea(outRegion) * dimsOf(model.tensors[t], layoutOf(t)).c * DTYPE_BYTES[model.tensors[t].dtype];
      }
      addr.set(outT, bufferAt(outT));
      regionOf.set(outT, outRegion);
      const at = (t: number) => {
        const a = addr.get(t);
        if (a === undefined) throw new Error(`patch step ${k}: no buffer for tensor ${t}`);
        return a;
      };
      const ctx: EmitContext = {
        ...base,
        s8: (t) => `TF_S8(${at(t)})`,
        u8: (t) => `TF_U8(${at(t)})`,
        f32: (t) => `TF_F32(${at(t)})`,
        elements: (t) => regionArea(regionOf.get(t)!) * dimsOf(model.tensors[t], layoutOf(t)).c,
        scratch: (bytes) => {
          if (scratchAt === undefined || bytes > stage.planeBytes[k]) throw new Error(`patch step ${k} needs ${bytes} plane bytes, the patch plan gives ${stage.planeBytes[k]}`);
          return `TF_S8(${patchBase + scratchAt})`;
        },
      };
      const inRegion = isWindow ? patch.regions.get(p.inputs[0])! : outRegion;
      const kernel = patchKernel(model, p, inRegion, outRegion);
      out.push(`  ${comment(`${step.kind} node ${step.opIndex}${stage.inPlace.has(k) ? ' in place' : ''}`)}\n`);
      out.push(emitStep(ctx, { ...step, inPlace: stage.inPlace.has(k) }, kernel));
      calls++;
    });
    const so = stage.stageOutput;
    out.push(copyWindow(model, so, 'nhwc', `TF_U8(${bufferAt(so)})`, tile, `TF_U8(${whole(so)})`, fullRegion(so), tile));
  });
  return { code: out.join(''), calls };
}
