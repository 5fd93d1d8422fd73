import { DTYPE_BYTES, type Model } from '../ir';
import { prepareStep } from '../planner/prepare-step';
import type { Schedule } from '../planner/schedule';
import type { PreparedOp } from '../runtime/prepare';
import type { RoundingMode } from '../runtime/requantize';
import { dimsOf, regionArea, type Layout, type Region } from './region';
import { sameRegion } from './patch-kernel';
import type { PatchStage } from './stage';

/**
 * Where a stage tensor's bytes are during a patch: the whole tensor in the model's arena (stage
 * inputs and the stage output, which are never copied) or a patch buffer in the patch area.
 */
export interface PatchBuffer {
  tensor: number;
  /** 'whole': `offset` counts from the tensor's own arena offset; 'patch': from the patch area's start. */
  space: 'whole' | 'patch';
  offset: number;
  /** The part of the tensor (global coordinates) the buffer holds, row-major. */
  held: Region;
}

/**
 * A sliding-window op on one patch: reads `input` (the patch buffer, or the whole stage input),
 * computes `outRegion` into `output`. When `output` holds more than outRegion (the whole stage
 * output), the tile lands in its final place with the output's row stride.
 */
export interface WindowCall {
  kind: 'window';
  step: number;
  prepared: PreparedOp;
  input: PatchBuffer;
  output: PatchBuffer;
  outRegion: Region;
  /** In-place depthwise: output over input, with this plane scratch (offset in the patch area). */
  plane?: { offset: number; bytes: number };
}

/**
 * An element-wise op on one patch: `rows` kernel calls of `rowElements` elements, row r of buffer i
 * starting `starts[i] + r * strides[i]` elements into it (rows merge into one call when every buffer
 * holds exactly the output region's columns). Inputs are aligned with prepared.inputs (undefined for
 * constants and omitted inputs). No crop is copied: each row of a larger buffer is read where it is.
 */
export interface RowsCall {
  kind: 'rows';
  step: number;
  prepared: PreparedOp;
  inputs: (PatchBuffer | undefined)[];
  output: PatchBuffer;
  outRegion: Region;
  rows: number;
  rowElements: number;
}

/**
 * NCHW->NHWC TRANSPOSE on one patch: its input's output-region window is first copied into a crop
 * buffer when the input buffer holds more (planes are not contiguous per row, so rows cannot be read
 * in place); the kernel then runs on the crop.
 */
export interface TransposeCall {
  kind: 'transpose';
  step: number;
  prepared: PreparedOp;
  input: PatchBuffer;
  /** The crop buffer (holds exactly outRegion), when the input holds more. */
  crop?: PatchBuffer;
  output: PatchBuffer;
  outRegion: Region;
}

export type PatchCall = WindowCall | RowsCall | TransposeCall;

/** Every call of one patch, in order. */
export interface PatchProgram {
  tile: Region;
  calls: PatchCall[];
}

const isWindowKernel = (p: PreparedOp) => p.kernel.kind === 'conv2d' || p.kernel.kind === 'depthwise' || p.kernel.kind === 'averagePool' || p.kernel.kind === 'maxPool';

/** Channels of a stage tensor in its layout. */
export function stageChannels(model: Model, stage: PatchStage, t: number): number {
  return dimsOf(model.tensors[t], stage.layouts.get(t)!).c;
}

/** Region of a whole tensor. */
export function wholeRegion(model: Model, stage: PatchStage, t: number): Region {
  const d = dimsOf(model.tensors[t], stage.layouts.get(t)!);
  return { h0: 0, h1: d.h, w0: 0, w1: d.w };
}

/**
 * Elements from the start of a buffer to the first element of `want` (inside the buffer's held
 * region), and from one row of `want` to the next, for an NHWC buffer.
 */
export function rowGeometry(buffer: PatchBuffer, want: Region, channels: number): { start: number; stride: number } {
  const heldW = buffer.held.w1 - buffer.held.w0;
  return { start: ((want.h0 - buffer.held.h0) * heldW + (want.w0 - buffer.held.w0)) * channels, stride: heldW * channels };
}

/**
 * The calls that run a patch stage, one program per patch: the single description both the TS patch
 * executor and the C generator follow, so both compute the same bytes in the same buffers.
 */
export function patchPrograms(schedule: Schedule, stage: PatchStage, rounding: RoundingMode): PatchProgram[] {
  const { model } = schedule;
  const steps = schedule.steps.slice(0, stage.split);
  const prepared = steps.map((s) => prepareStep(model, s, rounding));
  const plan = stage.patchPlan;
  const inputs = new Set(stage.stageInputs);
  const layoutOf = (t: number): Layout => stage.layouts.get(t)!;
  return stage.patches.map((patch) => {
    const bufferOf = (t: number): PatchBuffer => {
      if (inputs.has(t) || t === stage.stageOutput) return { tensor: t, space: 'whole', offset: 0, held: wholeRegion(model, stage, t) };
      const offset = plan.tensorOffsets.get(t);
      if (offset === undefined) throw new Error(`patch plan has no buffer for tensor ${t}`);
      return { tensor: t, space: 'patch', offset, held: patch.regions.get(t)! };
    };
    const calls = steps.map((step, k): PatchCall => {
      const p = prepared[k];
      const outRegion = patch.regions.get(step.outputs[0])!;
      const output = bufferOf(step.outputs[0]);
      if (isWindowKernel(p)) {
        const call: WindowCall = { kind: 'window', step: k, prepared: p, input: bufferOf(p.inputs[0]), output, outRegion };
        if (stage.inPlace.has(k)) {
          const offset = plan.scratchOffsets.get(k);
          if (offset === undefined) throw new Error(`patch plan has no plane for in-place step ${k}`);
          call.plane = { offset, bytes: stage.planeBytes[k] };
        }
        return call;
      }
      if (p.kernel.kind === 'transpose') {
        const input = bufferOf(p.inputs[0]);
        const call: TransposeCall = { kind: 'transpose', step: k, prepared: p, input, output, outRegion };
        if (!sameRegion(input.held, outRegion)) {
          const offset = plan.scratchOffsets.get(k);
          if (offset === undefined) throw new Error(`patch plan has no crop buffer for step ${k}`);
          call.crop = { tensor: input.tensor, space: 'patch', offset, held: outRegion };
        }
        return call;
      }
      const ins = p.inputs.map((t) => (t < 0 || model.tensors[t].data ? undefined : bufferOf(t)));
      const width = outRegion.w1 - outRegion.w0;
      const merge = [...ins, output].every((b) => !b || (b.held.w0 === outRegion.w0 && b.held.w1 === outRegion.w1));
      const c = stageChannels(model, stage, step.outputs[0]);
      const h = outRegion.h1 - outRegion.h0;
      for (const b of [...ins, output]) {
        if (b && layoutOf(b.tensor) !== 'nhwc') throw new Error(`patch step ${k}: element-wise ${step.kind} on a non-NHWC buffer`);
      }
      return { kind: 'rows', step: k, prepared: p, inputs: ins, output, outRegion, rows: merge ? 1 : h, rowElements: merge ? h * width * c : width * c };
    });
    return { tile: patch.tile, calls };
  });
}

/** Bytes of one element of a stage tensor. */
export function elementBytes(model: Model, t: number): number {
  return DTYPE_BYTES[model.tensors[t].dtype];
}

/** Elements a buffer holds. */
export function heldElements(model: Model, stage: PatchStage, b: PatchBuffer): number {
  return regionArea(b.held) * stageChannels(model, stage, b.tensor);
}
