import { prepareStep } from '../planner/prepare-step';
import type { Schedule } from '../planner/schedule';
import { runDepthwiseInPlace, runPrepared, type TensorView } from '../runtime/prepare';
import type { RoundingMode } from '../runtime/requantize';
import { viewOf } from '../runtime/tensor-memory';
import { dimsOf, regionArea, type Layout, type Region } from './region';
import { patchKernel, sameRegion } from './patch-kernel';
import type { PatchStage } from './stage';


/**
 * Copies the `want` window of a tensor held as its `have` window (both in the tensor's global
 * coordinates; `want` inside `have`) into `dst`, which holds exactly `want`.
 */
export function copyRegion(src: TensorView, have: Region, dst: TensorView, want: Region, channels: number, layout: Layout): void {
  const srcW = have.w1 - have.w0;
  const w = want.w1 - want.w0;
  const h = want.h1 - want.h0;
  const s = src as Int8Array;
  const d = dst as Int8Array;
  if (layout === 'nhwc') {
    for (let y = 0; y < h; y++) {
      const from = ((want.h0 - have.h0 + y) * srcW + (want.w0 - have.w0)) * channels;
      d.set(s.subarray(from, from + w * channels), y * w * channels);
    }
    return;
  }
  const srcPlane = (have.h1 - have.h0) * srcW;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      const from = c * srcPlane + (want.h0 - have.h0 + y) * srcW + (want.w0 - have.w0);
      d.set(s.subarray(from, from + w), (c * h + y) * w);
    }
  }
}


/**
 * Runs the first `stage.split` steps of the schedule patch by patch: for each n x n tile of the stage
 * output, the tile's receptive field of every stage tensor is computed in patch buffers (laid out in
 * `patchArena` by stage.patchPlan) and the tile is written into the whole stage output. `full(t)` is
 * the whole view of a stage input or of the stage output.
 */
export function runPatchStage(schedule: Schedule, stage: PatchStage, patchArena: Uint8Array, full: (t: number) => TensorView, rounding: RoundingMode): void {
  const { model } = schedule;
  const steps = schedule.steps.slice(0, stage.split);
  const prepared = steps.map((s) => prepareStep(model, s, rounding));
  const plan = stage.patchPlan;
  const buffer = patchArena.buffer;
  const base = patchArena.byteOffset;
  const at = (offset: number | undefined, what: string) => {
    if (offset === undefined) throw new Error(`patch plan has no offset for ${what}`);
    return base + offset;
  };
  const patchView = (t: number, r: Region, offset?: number): TensorView => {
    const tensor = model.tensors[t];
    const c = dimsOf(tensor, stage.layouts.get(t)!).c;
    return viewOf(tensor.dtype, buffer, offset ?? at(plan.tensorOffsets.get(t), `tensor ${t}`), regionArea(r) * c);
  };
  const whole = (t: number): Region => {
    const d = dimsOf(model.tensors[t], stage.layouts.get(t)!);
    return { h0: 0, h1: d.h, w0: 0, w1: d.w };
  };
  const channels = (t: number) => dimsOf(model.tensors[t], stage.layouts.get(t)!).c;

  for (const patch of stage.patches) {
    for (const t of stage.stageInputs) {
      const r = patch.regions.get(t)!;
      copyRegion(full(t), whole(t), patchView(t, r), r, channels(t), stage.layouts.get(t)!);
    }
    steps.forEach((step, k) => {
      const out = step.outputs[0];
      const outRegion = patch.regions.get(out)!;
      const p = prepared[k];
      const isWindow = p.kernel.kind === 'conv2d' || p.kernel.kind === 'depthwise' || p.kernel.kind === 'averagePool' || p.kernel.kind === 'maxPool';
      let cropAt = plan.scratchOffsets.get(k);
      const inputs = p.inputs.map((t) => {
        if (t < 0 || model.tensors[t].data) return undefined;
        const have = patch.regions.get(t)!;
        const v = patchView(t, have);
        if (isWindow || sameRegion(have, outRegion)) return v;
        // An element-wise op needs exactly its output's window of a larger input buffer.
        const crop = patchView(t, outRegion, at(cropAt, `crop of step ${k}`));
        copyRegion(v, have, crop, outRegion, channels(t), stage.layouts.get(t)!);
        cropAt! += crop.byteLength;
        return crop;
      });
      const inRegion = isWindow ? patch.regions.get(p.inputs[0])! : outRegion;
      const kernel = patchKernel(model, p, inRegion, outRegion);
      if (stage.inPlace.has(k)) {
        const own = inputs[0] as Int8Array;
        const outBytes = regionArea(outRegion) * channels(out);
        const plane = new Int8Array(buffer, at(plan.scratchOffsets.get(k), `plane of step ${k}`), stage.planeBytes[k]);
        runDepthwiseInPlace(kernel, new Int8Array(buffer, own.byteOffset, Math.max(own.length, outBytes)), plane);
      } else {
        runPrepared(kernel, inputs, [patchView(out, outRegion)]);
      }
    });
    const so = stage.stageOutput;
    const tile = patch.tile;
    const target = full(so) as Int8Array;
    const src = patchView(so, tile) as Int8Array;
    const c = channels(so);
    const width = model.tensors[so].shape[2];
    for (let y = tile.h0; y < tile.h1; y++) {
      const row = (y - tile.h0) * (tile.w1 - tile.w0) * c;
      target.set(src.subarray(row, row + (tile.w1 - tile.w0) * c), (y * width + tile.w0) * c);
    }
  }
}
