import { DTYPE_BYTES, type Model } from '../ir';
import { regionArea, type Region } from '../patch/region';
import { patchKernel } from '../patch/patch-kernel';
import { elementBytes, heldElements, patchPrograms, rowGeometry, stageChannels, type PatchBuffer } from '../patch/program';
import type { PatchStage } from '../patch/stage';
import type { Schedule } from '../planner/schedule';
import type { RoundingMode } from '../runtime/requantize';
import { comment } from './c-literals';
import { emitStep, type EmitContext } from './op-emitters';

/**
 * The patch loop of MCUNetV2-style patch-based inference, as straight-line C following the same
 * patchPrograms as the TS runtime's runPatchStage, so both compute the same bytes: for each n x n
 * tile of the stage output, the stage's ops run on one patch's intermediate buffers (placed by the
 * stage's patch plan at `patchBase` in the arena); window ops read a stage input where it is and
 * write their tile straight into the whole stage output (the output view's row stride), element-wise
 * ops walk the rows of larger buffers in a loop instead of copying a crop.
 */

/** Statements copying the `want` window of an NCHW tensor held as `have` into a buffer holding exactly `want`. */
function copyPlanes(model: Model, t: number, src: string, have: Region, dst: string, want: Region, channels: number): string {
  const eb = DTYPE_BYTES[model.tensors[t].dtype];
  const h = want.h1 - want.h0;
  const w = want.w1 - want.w0;
  return `  tf_copy_window(${src}, ${have.w1 - have.w0}, ${want.h0 - have.h0}, ${want.w0 - have.w0}, ${regionArea(have) * eb}, ${dst}, ${w}, 0, 0, ${regionArea(want) * eb}, ${h}, ${w}, ${channels}, ${eb});\n`;
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
  /** Arena byte offset of element `start` of a buffer. */
  const addressOf = (b: PatchBuffer, start = 0) => (b.space === 'whole' ? whole(b.tensor) : patchBase + b.offset) + start * elementBytes(model, b.tensor);
  const out: string[] = [];
  let calls = 0;
  const programs = patchPrograms(schedule, stage, rounding);
  programs.forEach((program, pi) => {
    const { tile } = program;
    out.push(`  ${comment(`patch ${pi + 1}/${programs.length}: stage output rows ${tile.h0}..${tile.h1 - 1}, columns ${tile.w0}..${tile.w1 - 1}`)}\n`);
    for (const call of program.calls) {
      const step = steps[call.step];
      const { outRegion, output } = call;
      /** Context whose tensors sit at the given arena offset expressions. */
      const contextWith = (addr: Map<number, string>, elements: Map<number, number>, extra: Partial<EmitContext> = {}): EmitContext => {
        const at = (t: number) => {
          const a = addr.get(t);
          if (a === undefined) throw new Error(`patch step ${call.step}: no buffer for tensor ${t}`);
          return a;
        };
        return {
          ...base,
          s8: (t) => `TF_S8(${at(t)})`,
          u8: (t) => `TF_U8(${at(t)})`,
          f32: (t) => `TF_F32(${at(t)})`,
          elements: (t) => elements.get(t)!,
          scratch: () => {
            throw new Error(`patch step ${call.step} has no scratch`);
          },
          ...extra,
        };
      };
      const label = `  ${comment(`${step.kind} node ${step.opIndex}${call.kind === 'window' && call.plane ? ' in place' : ''}`)}\n`;
      if (call.kind === 'window') {
        const outStart = rowGeometry(output, outRegion, stageChannels(model, stage, output.tensor)).start;
        const addr = new Map([
          [call.input.tensor, `${addressOf(call.input)}`],
          [output.tensor, `${addressOf(output, outStart)}`],
        ]);
        const elements = new Map([
          [call.input.tensor, heldElements(model, stage, call.input)],
          [output.tensor, regionArea(outRegion) * stageChannels(model, stage, output.tensor)],
        ]);
        const plane = call.plane;
        const ctx = contextWith(addr, elements, {
          outputRowPixels: () => output.held.w1 - output.held.w0,
          scratch: (bytes) => {
            if (!plane || bytes > plane.bytes) throw new Error(`patch step ${call.step} needs ${bytes} plane bytes, the patch plan gives ${plane?.bytes ?? 0}`);
            return `TF_S8(${patchBase + plane.offset})`;
          },
        });
        out.push(label, emitStep(ctx, { ...step, inPlace: plane !== undefined }, patchKernel(model, call.prepared, call.input.held, outRegion)));
      } else if (call.kind === 'transpose') {
        const source = call.crop ?? call.input;
        if (call.crop) {
          out.push(copyPlanes(model, call.input.tensor, `TF_U8(${addressOf(call.input)})`, call.input.held, `TF_U8(${addressOf(call.crop)})`, outRegion, stageChannels(model, stage, call.input.tensor)));
        }
        const elements = regionArea(outRegion) * stageChannels(model, stage, output.tensor);
        const addr = new Map([
          [source.tensor, `${addressOf(source)}`],
          [output.tensor, `${addressOf(output, rowGeometry(output, outRegion, stageChannels(model, stage, output.tensor)).start)}`],
        ]);
        out.push(label, emitStep(contextWith(addr, new Map([[source.tensor, elements], [output.tensor, elements]])), step, patchKernel(model, call.prepared, outRegion, outRegion)));
      } else {
        const buffers = [...call.inputs, output].filter((b): b is PatchBuffer => b !== undefined);
        const addr = new Map<number, string>();
        const elements = new Map<number, number>();
        for (const b of buffers) {
          const g = rowGeometry(b, outRegion, stageChannels(model, stage, b.tensor));
          const start = addressOf(b, g.start);
          addr.set(b.tensor, call.rows === 1 ? `${start}` : `${start} + tf_row * ${g.stride * elementBytes(model, b.tensor)}`);
          elements.set(b.tensor, call.rowElements);
        }
        const body = emitStep(contextWith(addr, elements), step, call.prepared);
        out.push(label, call.rows === 1 ? body : `  {\n    int32_t tf_row;\n    for (tf_row = 0; tf_row < ${call.rows}; tf_row++) {\n${body.replace(/^/gm, '    ')}    }\n  }\n`);
      }
      calls++;
    }
  });
  return { code: out.join(''), calls };
}
