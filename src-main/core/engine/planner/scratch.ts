import type { Model } from '../ir';
import type { ScheduleStep } from './schedule';

/**
 * Scratch bytes the runtime's kernel for a step needs while it runs. The only kernel with scratch is
 * the in-place depthwise: it copies one input channel, padded on all sides, into a plane before
 * writing that channel's outputs over the input (the runtime's direct convolutions need no im2col).
 */
export function scratchBytes(model: Model, step: ScheduleStep): number {
  if (step.kind === 'DEPTHWISE_CONV_2D' && step.inPlace) {
    const input = model.tensors[step.inputs[0]];
    const p = step.padding!;
    return (input.shape[1] + p.top + p.bottom) * (input.shape[2] + p.left + p.right);
  }
  return 0;
}
