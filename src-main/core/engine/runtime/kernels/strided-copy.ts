import type { ElementArray } from './data-movement';

/**
 * One output of a slicing op (STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK) as a strided read of the input:
 * output element (i0, ..., in) is input element start + sum(ik * strides[k]). Strides are in elements
 * and may be negative (a reversed STRIDED_SLICE).
 */
export interface StridedCopyParams {
  start: number;
  dims: number[];
  strides: number[];
}

export function stridedCopy(input: ElementArray, output: ElementArray, p: StridedCopyParams): void {
  const rank = p.dims.length;
  const out = output as Int8Array, inp = input as Int8Array;
  const total = out.length;
  if (total === 0) return;
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const innerDim = rank ? p.dims[last] : 1, innerStride = rank ? p.strides[last] : 0;
  let src = p.start;
  for (let o = 0; o < total; ) {
    for (let i = 0, s = src; i < innerDim; i++, s += innerStride) out[o++] = inp[s];
    // Advance the outer indices (odometer), keeping src = start + sum(idx * stride).
    let d = last - 1;
    for (; d >= 0; d--) {
      src += p.strides[d];
      if (++idx[d] < p.dims[d]) break;
      src -= p.strides[d] * p.dims[d];
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

/**
 * TFLite's StridedSlice geometry (StartForAxis / StopForAxis): per dimension the first index, the
 * stride and the count of elements taken, and the output shape with shrunk axes removed.
 */
export function stridedSliceGeometry(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  strides: readonly number[],
  masks: { beginMask: number; endMask: number; shrinkAxisMask: number },
): { start: number[]; counts: number[]; outShape: number[] } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const start: number[] = [], counts: number[] = [], outShape: number[] = [];
  shape.forEach((size, axis) => {
    const stride = strides[axis];
    const bit = 1 << axis;
    let first = masks.beginMask & bit ? (stride > 0 ? 0 : size - 1) : begin[axis];
    if (first < 0) first += size;
    first = stride > 0 ? clamp(first, 0, size) : clamp(first, -1, size - 1);
    let stop: number;
    const shrink = (masks.shrinkAxisMask & bit) !== 0;
    if (shrink) {
      stop = first + 1;
    } else {
      stop = masks.endMask & bit ? (stride > 0 ? size : -1) : end[axis];
      if (!(masks.endMask & bit) && stop < 0) stop += size;
      stop = stride > 0 ? clamp(stop, 0, size) : clamp(stop, -1, size - 1);
    }
    const count = Math.max(0, Math.ceil((stop - first) / stride));
    start.push(first);
    counts.push(count);
    if (!shrink) outShape.push(count);
  });
  return { start, counts, outShape };
}
