import type { Padding } from '../ir';

/**
 * Spatial geometry exactly as TFLite computes it (kernels/padding.h), so that explicit paddings
 * derived here give the same outputs as TFLite's SAME/VALID schemes.
 */

/** Output size along one axis (TFLite's ComputeOutSize). */
export function convOutSize(padding: Padding, inSize: number, filter: number, stride: number, dilation: number): number {
  const effective = (filter - 1) * dilation + 1;
  if (stride <= 0) return 0;
  return padding === 'same' ? Math.floor((inSize + stride - 1) / stride) : Math.floor((inSize + stride - effective) / stride);
}

/** Padding before the first element along one axis (the extra odd pad goes after, as in TFLite). */
export function convPadBefore(inSize: number, filter: number, stride: number, dilation: number, outSize: number): number {
  const effective = (filter - 1) * dilation + 1;
  const total = (outSize - 1) * stride + effective - inSize;
  return total > 0 ? Math.floor(total / 2) : 0;
}

/** Output size and explicit top/left padding of a 2-D window op on an NHWC input. */
export interface WindowGeometry {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

export function windowGeometry(
  inH: number,
  inW: number,
  filterH: number,
  filterW: number,
  o: { padding: Padding; strideH: number; strideW: number; dilationH?: number; dilationW?: number },
): WindowGeometry {
  const dh = o.dilationH ?? 1;
  const dw = o.dilationW ?? 1;
  const outH = convOutSize(o.padding, inH, filterH, o.strideH, dh);
  const outW = convOutSize(o.padding, inW, filterW, o.strideW, dw);
  return { outH, outW, padTop: convPadBefore(inH, filterH, o.strideH, dh, outH), padLeft: convPadBefore(inW, filterW, o.strideW, dw, outW) };
}
