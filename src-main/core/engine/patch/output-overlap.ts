import { DTYPE_BYTES, tensorBytes, type Model } from '../ir';
import type { Schedule } from '../planner/schedule';
import { dimsOf } from './region';
import type { PatchStage } from './stage';

/** A stage input the stage output may be written over (PlanTie): the output may start at most `maxShift` bytes after it. */
export interface StageOutputOverlap {
  input: number;
  maxShift: number;
}

/**
 * How far the stage output may reach into a stage input's bytes. Patches run row-major, each
 * reading its input region before its last step writes its output tile (or while it does, when that
 * step also reads the input); an input byte no later patch reads is free once its last reader ran.
 * So the output, placed `s` bytes after the input's start, is safe when every output byte written
 * by patch k lies below the lowest input byte a later patch (or k itself, if its writer reads the
 * input) still reads: s <= min over output pixels of (lowest input byte still read after their
 * patch) - (end of the pixel's bytes). An input pixel's lowest byte is its first channel's (NHWC)
 * or its byte in the first channel plane (NCHW, the input of a leading transpose). Only for an input
 * that nothing after the stage reads (a model input consumed by the stage: its bytes are not kept
 * after an inference, as in TFLM).
 * Undefined when no stage input qualifies; the largest qualifying input otherwise.
 */
export function stageOutputOverlap(schedule: Schedule, stage: PatchStage): StageOutputOverlap | undefined {
  const { model, steps } = schedule;
  const writer = steps[stage.split - 1];
  if (!writer.outputs.includes(stage.stageOutput) || stage.layouts.get(stage.stageOutput) !== 'nhwc') return undefined;
  const readAfter = new Set(steps.slice(stage.split).flatMap((s) => s.inputs));
  let best: StageOutputOverlap | undefined;
  for (const input of stage.stageInputs) {
    if (readAfter.has(input) || model.outputs.includes(input) || schedule.sharesBytesWith.has(input)) continue;
    if ([...schedule.sharesBytesWith.values()].includes(input) || model.tensors[input].shape[0] !== 1) continue;
    const maxShift = overlapShift(model, stage, input, writer.inputs.includes(input));
    if (!best || tensorBytes(model.tensors[input]) > tensorBytes(model.tensors[best.input])) best = { input, maxShift };
  }
  return best;
}

/** The largest safe shift of the stage output over `input` (the input's size when no later read bounds it). */
function overlapShift(model: Model, stage: PatchStage, input: number, writerReadsInput: boolean): number {
  const inT = model.tensors[input];
  const outT = model.tensors[stage.stageOutput];
  const layout = stage.layouts.get(input)!;
  const inDims = dimsOf(inT, layout);
  const outDims = dimsOf(outT, 'nhwc');
  // Bytes from one input pixel's lowest byte to the next pixel's.
  const inPixel = (layout === 'nhwc' ? inDims.c : 1) * DTYPE_BYTES[inT.dtype];
  const outPixel = outDims.c * DTYPE_BYTES[outT.dtype];
  const patches = stage.patches.length;
  // The last patch reading each input pixel (-1: none).
  const lastReader = new Int32Array(inDims.h * inDims.w).fill(-1);
  stage.patches.forEach((p, k) => {
    const r = p.regions.get(input)!;
    for (let y = r.h0; y < r.h1; y++) for (let x = r.w0; x < r.w1; x++) lastReader[y * inDims.w + x] = k;
  });
  // stillRead[k]: the lowest input byte a patch after k (or k itself) reads, Infinity when none.
  const lowestReadBy = new Array<number>(patches + 1).fill(Infinity);
  lastReader.forEach((k, pixel) => {
    if (k >= 0) lowestReadBy[k] = Math.min(lowestReadBy[k], pixel * inPixel);
  });
  const stillRead = new Array<number>(patches).fill(Infinity);
  let lowest = Infinity;
  for (let k = patches - 1; k >= 0; k--) {
    stillRead[k] = writerReadsInput ? Math.min(lowest, lowestReadBy[k]) : lowest;
    lowest = Math.min(lowest, lowestReadBy[k]);
  }
  let shift = Infinity;
  stage.patches.forEach((p, k) => {
    if (stillRead[k] === Infinity) return;
    // The tile's last pixel ends highest: only it bounds the shift.
    const end = ((p.tile.h1 - 1) * outDims.w + p.tile.w1) * outPixel;
    shift = Math.min(shift, stillRead[k] - end);
  });
  return shift === Infinity ? tensorBytes(inT) : shift;
}
