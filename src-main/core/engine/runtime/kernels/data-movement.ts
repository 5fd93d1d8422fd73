/** Typed arrays the data-movement kernels accept (they copy elements, whatever their type). */
export type ElementArray = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array | BigInt64Array;

/** PAD (up to 4-D): `before`/`after` per dimension, padded elements take `value` (the zero point for quantized tensors). */
export interface PadParams {
  inShape: [number, number, number, number];
  before: [number, number, number, number];
  after: [number, number, number, number];
  value: number;
}

export function pad(input: ElementArray, output: ElementArray, p: PadParams): void {
  const [i0, i1, i2, i3] = p.inShape;
  const o1 = i1 + p.before[1] + p.after[1], o2 = i2 + p.before[2] + p.after[2], o3 = i3 + p.before[3] + p.after[3];
  (output as Int8Array).fill(p.value as never);
  let src = 0;
  for (let a = 0; a < i0; a++)
    for (let b = 0; b < i1; b++)
      for (let c = 0; c < i2; c++) {
        const dst = (((a + p.before[0]) * o1 + b + p.before[1]) * o2 + c + p.before[2]) * o3 + p.before[3];
        (output as Int8Array).set((input as Int8Array).subarray(src, src + i3), dst);
        src += i3;
      }
}

/** TRANSPOSE (up to 6-D): output dimension i is input dimension perm[i]. */
export interface TransposeParams {
  inShape: number[];
  perm: number[];
}

export function transpose(input: ElementArray, output: ElementArray, p: TransposeParams): void {
  const rank = p.inShape.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) { inStrides[i] = s; s *= p.inShape[i]; }
  // Pad to 6-D so one loop nest serves every rank.
  const dims = new Array<number>(6).fill(1);
  const strides = new Array<number>(6).fill(0);
  for (let i = 0; i < rank; i++) {
    dims[6 - rank + i] = p.inShape[p.perm[i]];
    strides[6 - rank + i] = inStrides[p.perm[i]];
  }
  const [d0, d1, d2, d3, d4, d5] = dims;
  const [s0, s1, s2, s3, s4, s5] = strides;
  const out = output as Int8Array, inp = input as Int8Array;
  let o = 0;
  for (let a = 0; a < d0; a++)
    for (let b = 0; b < d1; b++)
      for (let c = 0; c < d2; c++)
        for (let d = 0; d < d3; d++)
          for (let e = 0; e < d4; e++) {
            let src = a * s0 + b * s1 + c * s2 + d * s3 + e * s4;
            for (let f = 0; f < d5; f++, src += s5) out[o++] = inp[src];
          }
}

/** CONCATENATION along `axis`: inputs share every other dimension (and, for int8, one quantization). */
export interface ConcatParams {
  /** Product of the dimensions before the axis. */
  outer: number;
  /** Per input: its axis size times the product of the dimensions after the axis. */
  chunk: number[];
}

export function concatenation(inputs: ElementArray[], output: ElementArray, p: ConcatParams): void {
  const total = p.chunk.reduce((s, c) => s + c, 0);
  const out = output as Int8Array;
  for (let o = 0; o < p.outer; o++) {
    let dst = o * total;
    inputs.forEach((inp, k) => {
      const n = p.chunk[k];
      out.set((inp as Int8Array).subarray(o * n, o * n + n), dst);
      dst += n;
    });
  }
}

/** RESIZE_NEAREST_NEIGHBOR on NHWC, with TFLite's float32 source-index arithmetic. */
export interface ResizeNearestParams {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/** TFLite's GetNearestNeighbor (float32 scale and offset). */
export function nearestIndex(i: number, inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const scale = alignCorners && outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : Math.fround(inSize / outSize);
  const pos = Math.fround(Math.fround(i + (halfPixelCenters ? 0.5 : 0)) * scale);
  const r = alignCorners ? (pos < 0 ? -Math.round(-pos) : Math.round(pos)) : Math.floor(pos);
  let v = Math.min(r, inSize - 1);
  if (halfPixelCenters) v = Math.max(0, v);
  return v;
}

export function resizeNearest(input: ElementArray, output: ElementArray, p: ResizeNearestParams): void {
  const { inH, inW, channels: C, outH, outW } = p;
  const out = output as Int8Array, inp = input as Int8Array;
  const xs = new Int32Array(outW);
  for (let x = 0; x < outW; x++) xs[x] = nearestIndex(x, inW, outW, p.alignCorners, p.halfPixelCenters);
  let o = 0;
  for (let b = 0; b < p.batches; b++)
    for (let y = 0; y < outH; y++) {
      const iy = nearestIndex(y, inH, outH, p.alignCorners, p.halfPixelCenters);
      for (let x = 0; x < outW; x++) {
        const src = ((b * inH + iy) * inW + xs[x]) * C;
        out.set(inp.subarray(src, src + C), o);
        o += C;
      }
    }
}
