import type { Model, Op } from '../ir';
import { prepareOp, type FusedPad, type PreparedOp } from '../runtime/prepare';
import type { RoundingMode } from '../runtime/requantize';
import { readPaddings, type ScheduleStep } from './schedule';

/** Prepares a schedule step with the runtime, a folded PAD turned into the conv's extra padding. */
export function prepareStep(model: Model, step: ScheduleStep, rounding: RoundingMode): PreparedOp {
  const op = model.ops.find((o) => o.index === step.opIndex)!;
  let fused: FusedPad | undefined;
  if (step.fusedPad !== undefined) {
    const pad = model.ops.find((o) => o.index === step.fusedPad) as Extract<Op, { kind: 'PAD' }>;
    const p = readPaddings(model, pad);
    fused = { input: pad.inputs[0], padTop: p[1][0], padLeft: p[2][0] };
  }
  return prepareOp(model, op, rounding, fused);
}
