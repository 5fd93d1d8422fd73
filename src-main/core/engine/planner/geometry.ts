import type { Model, Op, Padding } from '../ir';

/** Per-side padding in elements of the input's H and W. */
export interface ExplicitPadding {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** The spatial window of a sliding-window op (conv, depthwise, pools). */
export interface Window {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
}

export const NO_PADDING: ExplicitPadding = Object.freeze({ top: 0, bottom: 0, left: 0, right: 0 });

/** Ops that slide a window over H and W of an NHWC input. */
export type WindowOpKind = 'CONV_2D' | 'DEPTHWISE_CONV_2D' | 'AVERAGE_POOL_2D' | 'MAX_POOL_2D';

export function isWindowOp(op: Op): op is Extract<Op, { kind: WindowOpKind }> {
  return op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D' || op.kind === 'AVERAGE_POOL_2D' || op.kind === 'MAX_POOL_2D';
}

/** The window of a conv/depthwise (kernel from the OHWI / 1HWO filter) or pool (from its options). */
export function windowOf(model: Model, op: Extract<Op, { kind: WindowOpKind }>): Window {
  if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') {
    const filter = model.tensors[op.inputs[1]];
    return {
      kernelH: filter.shape[1],
      kernelW: filter.shape[2],
      strideH: op.options.strideH,
      strideW: op.options.strideW,
      dilationH: op.options.dilationH,
      dilationW: op.options.dilationW,
    };
  }
  return {
    kernelH: op.options.filterH,
    kernelW: op.options.filterW,
    strideH: op.options.strideH,
    strideW: op.options.strideW,
    dilationH: 1,
    dilationW: 1,
  };
}

/** TFLite's output size for one spatial dimension. */
export function outputSize(padding: Padding, inSize: number, kernel: number, stride: number, dilation: number): number {
  const effective = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(inSize / stride) : Math.ceil((inSize - effective + 1) / stride);
}

/**
 * TFLite's explicit padding for SAME/VALID (ComputePaddingHeightWidth): the odd pixel of SAME goes
 * to the bottom/right.
 */
export function explicitPadding(padding: Padding, inH: number, inW: number, w: Window): ExplicitPadding {
  if (padding === 'valid') return { ...NO_PADDING };
  const side = (inSize: number, kernel: number, stride: number, dilation: number) => {
    const out = outputSize('same', inSize, kernel, stride, dilation);
    const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [top, bottom] = side(inH, w.kernelH, w.strideH, w.dilationH);
  const [left, right] = side(inW, w.kernelW, w.strideW, w.dilationW);
  return { top, bottom, left, right };
}

/** Output size of one spatial dimension given explicit pads. */
export function paddedOutputSize(inSize: number, padBefore: number, padAfter: number, kernel: number, stride: number, dilation: number): number {
  const effective = (kernel - 1) * dilation + 1;
  return Math.floor((inSize + padBefore + padAfter - effective) / stride) + 1;
}

export function addPadding(a: ExplicitPadding, b: ExplicitPadding): ExplicitPadding {
  return { top: a.top + b.top, bottom: a.bottom + b.bottom, left: a.left + b.left, right: a.right + b.right };
}
