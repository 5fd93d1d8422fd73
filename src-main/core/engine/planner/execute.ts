import { elementCount, tensorBytes } from '../ir';
import type { PatchStage } from '../patch/stage';
import { runPatchStage } from '../patch/execute';
import { inPlacePlaneBytes, runDepthwiseInPlace, runPrepared, type TensorView } from '../runtime/prepare';
import type { RoundingMode } from '../runtime/requantize';
import { constantView, viewOf } from '../runtime/tensor-memory';
import type { MemoryPlan } from './plan';
import { prepareStep } from './prepare-step';
import type { Schedule } from './schedule';

export interface PlannedRunOptions {
  rounding?: RoundingMode;
  /** The patch stage the plan was made for (its first step stands for the stage). */
  stage?: PatchStage;
}

/**
 * Runs a model with every activation, every scratch buffer and (with a patch stage) every patch
 * buffer inside ONE ArrayBuffer of plan.peakBytes, at the plan's offsets: the proof that a plan is
 * right is that its outputs equal an unplanned run, and a plan that lets two live blocks overlap
 * corrupts them. Returns copies of the outputs in model.outputs order.
 */
export function runPlanned(schedule: Schedule, plan: Pick<MemoryPlan, 'peakBytes' | 'tensorOffsets' | 'scratchOffsets'>, inputs: readonly TensorView[], options: PlannedRunOptions = {}): TensorView[] {
  const { model } = schedule;
  const rounding = options.rounding ?? 'tflm';
  const { stage } = options;
  const arena = new ArrayBuffer(plan.peakBytes);
  const views = new Map<number, TensorView>();
  const view = (t: number): TensorView => {
    let v = views.get(t);
    if (!v) {
      const off = plan.tensorOffsets.get(t);
      if (off === undefined) throw new Error(`plan has no offset for tensor ${t}`);
      const tensor = model.tensors[t];
      v = viewOf(tensor.dtype, arena, off, elementCount(tensor.shape));
      views.set(t, v);
    }
    return v;
  };
  const arg = (t: number) => (t < 0 ? undefined : view(t));

  if (inputs.length !== model.inputs.length) throw new Error(`model has ${model.inputs.length} inputs, got ${inputs.length}`);
  model.inputs.forEach((t, k) => {
    const v = view(t);
    if (inputs[k].length !== v.length || inputs[k].constructor !== v.constructor) throw new Error(`input ${k}: expected ${model.tensors[t].dtype}[${model.tensors[t].shape.join(', ')}]`);
    (v as Int8Array).set(inputs[k] as Int8Array);
  });

  const first = stage ? stage.split : 0;
  if (stage) {
    const patchArena = new Uint8Array(arena, plan.scratchOffsets.get(0) ?? 0, stage.patchPlan.peakBytes);
    runPatchStage(schedule, stage, patchArena, view, rounding);
  }
  schedule.steps.slice(first).forEach((step, i) => {
    if (step.alias) return; // its output is its input's bytes
    const planStep = stage ? i + 1 : i;
    const prepared = prepareStep(model, step, rounding);
    // Constants are read from the prepared op's own copies; only activations come from the arena.
    const ins = prepared.inputs.map((t) => (t >= 0 && model.tensors[t].data ? constantView(model.tensors[t]) : arg(t)));
    if (step.inPlace) {
      const inBytes = tensorBytes(model.tensors[step.inputs[0]]);
      const outBytes = tensorBytes(model.tensors[step.outputs[0]]);
      const at = plan.tensorOffsets.get(step.inputs[0])!;
      if (plan.tensorOffsets.get(step.outputs[0]) !== at) throw new Error(`in-place step ${step.step}: output not placed over its input`);
      const scratch = plan.scratchOffsets.get(planStep);
      if (scratch === undefined) throw new Error(`in-place step ${step.step} has no scratch in the plan`);
      runDepthwiseInPlace(prepared, new Int8Array(arena, at, Math.max(inBytes, outBytes)), new Int8Array(arena, scratch, inPlacePlaneBytes(prepared)));
    } else {
      runPrepared(prepared, ins, prepared.outputs.map(view));
    }
  });
  return model.outputs.map((t) => view(t).slice());
}
