import { DTYPE_BYTES, type Model, type Tensor } from '../ir';
import type { ExplicitPadding, Window } from '../planner/geometry';

/** A half-open spatial window [h0, h1) x [w0, w1) of a tensor. */
export interface Region {
  h0: number;
  h1: number;
  w0: number;
  w1: number;
}

/** Where H, W and C sit in a stage tensor (NCHW only for the input of a NCHW->NHWC TRANSPOSE). */
export type Layout = 'nhwc' | 'nchw';

export interface SpatialDims {
  h: number;
  w: number;
  c: number;
}

export function dimsOf(t: Tensor, layout: Layout): SpatialDims {
  return layout === 'nhwc' ? { h: t.shape[1], w: t.shape[2], c: t.shape[3] } : { h: t.shape[2], w: t.shape[3], c: t.shape[1] };
}

export function regionArea(r: Region): number {
  return (r.h1 - r.h0) * (r.w1 - r.w0);
}

/** Bytes of a tensor's region (all channels). */
export function regionBytes(model: Model, tensor: number, layout: Layout, r: Region): number {
  const t = model.tensors[tensor];
  return regionArea(r) * dimsOf(t, layout).c * DTYPE_BYTES[t.dtype];
}

/** Smallest region holding both. */
export function union(a: Region | undefined, b: Region): Region {
  if (!a) return { ...b };
  return { h0: Math.min(a.h0, b.h0), h1: Math.max(a.h1, b.h1), w0: Math.min(a.w0, b.w0), w1: Math.max(a.w1, b.w1) };
}

export function contains(outer: Region, inner: Region): boolean {
  return outer.h0 <= inner.h0 && outer.w0 <= inner.w0 && outer.h1 >= inner.h1 && outer.w1 >= inner.w1;
}

/**
 * Input rows/cols a sliding window needs to produce an output region (its receptive field), clipped
 * to the input: what falls outside is the image border's padding, never data.
 */
export function windowInputRegion(out: Region, w: Window, pad: ExplicitPadding, inH: number, inW: number): Region {
  const span = (a: number, b: number, stride: number, before: number, kernel: number, dilation: number, size: number): [number, number] => [
    Math.max(0, a * stride - before),
    Math.min(size, (b - 1) * stride - before + (kernel - 1) * dilation + 1),
  ];
  const [h0, h1] = span(out.h0, out.h1, w.strideH, pad.top, w.kernelH, w.dilationH, inH);
  const [w0, w1] = span(out.w0, out.w1, w.strideW, pad.left, w.kernelW, w.dilationW, inW);
  return { h0, h1, w0, w1 };
}

/** Splits [0, size) into n nearly equal ranges. */
export function splitRange(size: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => [Math.floor((i * size) / n), Math.floor(((i + 1) * size) / n)] as [number, number]);
}

/** The n x n tiles of an H x W output, row-major. */
export function tiles(h: number, w: number, n: number): Region[] {
  const rows = splitRange(h, n);
  const cols = splitRange(w, n);
  return rows.flatMap(([h0, h1]) => cols.map(([w0, w1]) => ({ h0, h1, w0, w1 })));
}
