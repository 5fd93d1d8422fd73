import type { Model } from '../ir';
import { depthwisePlaneBytes } from '../runtime/kernels/depthwise-in-place';
import { paddedOutputSize } from './geometry';
import type { ScheduleStep } from './schedule';

/**
 * Scratch bytes the runtime's kernel for a step needs while it runs: SVDF's per-filter and per-unit
 * int32 sums, and the in-place depthwise, which copies one input channel's padded rows (a ring of one
 * window's rows, or the whole plane where the ring is unsafe: depthwiseInPlaceScratch) before
 * writing that channel's outputs over the input. There is no im2col buffer: the C kernel library
 * (resources/c-runtime) accumulates straight from the input, and the TS runtime's one-receptive-field
 * working row is host memory kept with the prepared op.
 */
export function scratchBytes(model: Model, step: ScheduleStep): number {
  if (step.kind === 'SVDF') {
    // TFLite Micro's two int32 scratch buffers: one sum per filter, one per unit (batch of each).
    const op = model.ops.find((o) => o.index === step.opIndex);
    if (op?.kind !== 'SVDF') throw new Error(`step ${step.step} is not an SVDF`);
    const batches = model.tensors[step.inputs[0]].shape[0];
    const filters = model.tensors[step.inputs[1]].shape[0];
    return 4 * batches * (filters + filters / op.options.rank);
  }
  if (step.kind !== 'DEPTHWISE_CONV_2D' || !step.inPlace) return 0;
  const input = model.tensors[step.inputs[0]];
  const filter = model.tensors[step.inputs[1]];
  const op = model.ops.find((o) => o.index === step.opIndex);
  if (op?.kind !== 'DEPTHWISE_CONV_2D') throw new Error(`step ${step.step} is not a depthwise convolution`);
  const p = step.padding!;
  const [kH, kW] = [filter.shape[1], filter.shape[2]];
  const { strideH, strideW, dilationH, dilationW } = op.options;
  return depthwisePlaneBytes({
    inH: input.shape[1],
    inW: input.shape[2],
    outH: paddedOutputSize(input.shape[1], p.top, p.bottom, kH, strideH, dilationH),
    outW: paddedOutputSize(input.shape[2], p.left, p.right, kW, strideW, dilationW),
    kH,
    kW,
    strideH,
    strideW,
    dilationH,
    dilationW,
    padTop: p.top,
    padLeft: p.left,
  });
}
