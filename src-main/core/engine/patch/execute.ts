import type { Schedule } from '../planner/schedule';
import { runDepthwiseInPlace, runPrepared, type TensorView } from '../runtime/prepare';
import type { RoundingMode } from '../runtime/requantize';
import { viewOf } from '../runtime/tensor-memory';
import { regionArea, type Layout, type Region } from './region';
import { patchKernel } from './patch-kernel';
import { elementBytes, heldElements, patchPrograms, rowGeometry, stageChannels, type PatchBuffer } from './program';
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
 * Runs the first `stage.split` steps of the schedule patch by patch, following patchPrograms: the
 * intermediates live in patch buffers laid out in `patchArena` by stage.patchPlan; the stage inputs
 * are read and the stage output written where they are, `full(t)` being their whole views.
 */
export function runPatchStage(schedule: Schedule, stage: PatchStage, patchArena: Uint8Array, full: (t: number) => TensorView, rounding: RoundingMode): void {
  const { model } = schedule;
  const channels = (t: number) => stageChannels(model, stage, t);
  /** `elements` elements of a buffer, starting `start` elements into it. */
  const viewIn = (b: PatchBuffer, start = 0, elements = heldElements(model, stage, b) - start): TensorView => {
    if (b.space === 'whole') return full(b.tensor).subarray(start, start + elements);
    return viewOf(model.tensors[b.tensor].dtype, patchArena.buffer, patchArena.byteOffset + b.offset + start * elementBytes(model, b.tensor), elements);
  };

  for (const program of patchPrograms(schedule, stage, rounding)) {
    for (const call of program.calls) {
      const { prepared, outRegion, output } = call;
      if (call.kind === 'window') {
        const input = viewIn(call.input);
        if (call.plane) {
          const own = input as Int8Array;
          const outBytes = regionArea(outRegion) * channels(output.tensor);
          const plane = new Int8Array(patchArena.buffer, patchArena.byteOffset + call.plane.offset, call.plane.bytes);
          runDepthwiseInPlace(patchKernel(model, prepared, call.input.held, outRegion), new Int8Array(own.buffer, own.byteOffset, Math.max(own.length, outBytes)), plane);
          continue;
        }
        const { start, stride } = rowGeometry(output, outRegion, channels(output.tensor));
        const width = (outRegion.w1 - outRegion.w0) * channels(output.tensor);
        if (stride === width) {
          runPrepared(patchKernel(model, prepared, call.input.held, outRegion), [input], [viewIn(output, start, regionArea(outRegion) * channels(output.tensor))]);
          continue;
        }
        // The tile's rows land in a wider buffer (the whole stage output): one output row per call.
        for (let y = outRegion.h0; y < outRegion.h1; y++) {
          const row = { ...outRegion, h0: y, h1: y + 1 };
          runPrepared(patchKernel(model, prepared, call.input.held, row), [input], [viewIn(output, start + (y - outRegion.h0) * stride, width)]);
        }
        continue;
      }
      if (call.kind === 'transpose') {
        let input = viewIn(call.input);
        if (call.crop) {
          const crop = viewIn(call.crop);
          copyRegion(input, call.input.held, crop, outRegion, channels(call.input.tensor), 'nchw');
          input = crop;
        }
        runPrepared(patchKernel(model, prepared, outRegion, outRegion), [input], [viewIn(output, rowGeometry(output, outRegion, channels(output.tensor)).start, regionArea(outRegion) * channels(output.tensor))]);
        continue;
      }
      const geometry = (b: PatchBuffer) => rowGeometry(b, outRegion, channels(b.tensor));
      for (let r = 0; r < call.rows; r++) {
        const at = (b: PatchBuffer) => {
          const g = geometry(b);
          return viewIn(b, g.start + r * g.stride, call.rowElements);
        };
        runPrepared(prepared, call.inputs.map((b) => (b ? at(b) : undefined)), [at(output)]);
      }
    }
  }
}
