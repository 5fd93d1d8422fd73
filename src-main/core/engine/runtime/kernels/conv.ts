import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSingleRounding } from '../fixed-point';

/**
 * int8 CONV_2D, NHWC input, OHWI filter, per-channel requantization. Padding is explicit (padTop,
 * padLeft; bottom/right follow from the output size) so the kernel can also compute a spatial patch
 * of a layer. Out-of-image taps contribute nothing, exactly as padding with the input zero point.
 */
export interface ConvParams {
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  /** -input zero point. */
  inputOffset: number;
  /** Output zero point. */
  outputOffset: number;
  actMin: number;
  actMax: number;
  /** OHWI weights. */
  filter: Int8Array;
  bias: Int32Array | null;
  multiplier: Int32Array;
  shift: Int32Array;
  /** Single rounding (TFLite/ruy) instead of double rounding (TFLite Micro). */
  singleRounding: boolean;
  /** Working rows: two receptive fields of kH*kW*inC int32 (zero point folded in); owned by the caller. */
  patch: Int32Array;
}

/** Allocates the working rows a ConvParams needs. */
export function convPatch(kH: number, kW: number, inC: number): Int32Array {
  return new Int32Array(2 * kH * kW * inC);
}

export function conv2d(input: Int8Array, output: Int8Array, p: ConvParams): void {
  const { outH, outW, outC, kH, kW, inC, patch } = p;
  const K = kH * kW * inC;
  if (patch.length < 2 * K) throw new Error(`conv2d: working row of ${patch.length} values, needs ${2 * K} (use convPatch)`);
  const pixels = p.batches * outH * outW;
  // Two output pixels at a time: each weight loaded once serves two dot products.
  let px = 0;
  for (; px + 2 <= pixels; px += 2) {
    gatherPatch(input, px, patch, 0, p);
    gatherPatch(input, px + 1, patch, K, p);
    dotRowsPair(patch, K, p.filter, outC, p, output, px * outC);
  }
  if (px < pixels) {
    gatherPatch(input, px, patch, 0, p);
    dotRows(patch, K, p.filter, outC, p, output, px * outC);
  }
}

/** Copies the receptive field of output pixel `px` (flat over batch, y, x) into patch[at..at+K), zero point folded in, 0 outside the image. */
function gatherPatch(input: Int8Array, px: number, patch: Int32Array, at: number, p: ConvParams): void {
  const { inH, inW, inC, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset } = p;
  const ox = px % outW;
  const rest = (px - ox) / outW;
  const oy = rest % outH;
  const b = (rest - oy) / outH;
  const inBatch = b * inH * inW * inC;
  const iy0 = oy * strideH - padTop;
  const ix0 = ox * strideW - padLeft;
  let k = at;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dilationH;
    const rowInside = iy >= 0 && iy < inH;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dilationW;
      if (rowInside && ix >= 0 && ix < inW) {
        let src = inBatch + (iy * inW + ix) * inC;
        for (let c = 0; c < inC; c++) patch[k++] = input[src++] + inputOffset;
      } else {
        for (let c = 0; c < inC; c++) patch[k++] = 0;
      }
    }
  }
}

type RequantParams = { bias: Int32Array | null; multiplier: Int32Array; shift: Int32Array; singleRounding: boolean; outputOffset: number; actMin: number; actMax: number };

/** Like dotRows for two patches at once (patch[0..K) and patch[K..2K)), writing two consecutive output pixels. */
function dotRowsPair(patch: Int32Array, K: number, weights: Int8Array, rows: number, p: RequantParams, output: Int8Array, outBase: number): void {
  const { bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  const next = outBase + rows;
  let o = 0;
  for (; o + 4 <= rows; o += 4) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    const f0 = o * K, f1 = f0 + K, f2 = f1 + K, f3 = f2 + K;
    for (let i = 0; i < K; i++) {
      const u = patch[i], v = patch[K + i];
      const w0 = weights[f0 + i], w1 = weights[f1 + i], w2 = weights[f2 + i], w3 = weights[f3 + i];
      a0 += u * w0; a1 += u * w1; a2 += u * w2; a3 += u * w3;
      b0 += v * w0; b1 += v * w1; b2 += v * w2; b3 += v * w3;
    }
    output[outBase + o] = requant(a0, o, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[outBase + o + 1] = requant(a1, o + 1, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[outBase + o + 2] = requant(a2, o + 2, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[outBase + o + 3] = requant(a3, o + 3, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[next + o] = requant(b0, o, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[next + o + 1] = requant(b1, o + 1, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[next + o + 2] = requant(b2, o + 2, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[next + o + 3] = requant(b3, o + 3, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
  }
  for (; o < rows; o++) {
    let a = 0, b = 0;
    const f = o * K;
    for (let i = 0; i < K; i++) {
      const w = weights[f + i];
      a += patch[i] * w;
      b += patch[K + i] * w;
    }
    output[outBase + o] = requant(a, o, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[next + o] = requant(b, o, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
  }
}

/**
 * output[outBase + o] = requant(bias[o] + patch · filter[o]) for every output channel o: four rows at
 * a time so each patch value is loaded once per four multiply-adds. Shared with FULLY_CONNECTED.
 */
export function dotRows(
  patch: Int32Array,
  K: number,
  weights: Int8Array,
  rows: number,
  p: RequantParams,
  output: Int8Array,
  outBase: number,
): void {
  const { bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  let o = 0;
  for (; o + 4 <= rows; o += 4) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const f0 = o * K, f1 = f0 + K, f2 = f1 + K, f3 = f2 + K;
    for (let i = 0; i < K; i++) {
      const v = patch[i];
      a0 += v * weights[f0 + i];
      a1 += v * weights[f1 + i];
      a2 += v * weights[f2 + i];
      a3 += v * weights[f3 + i];
    }
    output[outBase + o] = requant(a0, o, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[outBase + o + 1] = requant(a1, o + 1, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[outBase + o + 2] = requant(a2, o + 2, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
    output[outBase + o + 3] = requant(a3, o + 3, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
  }
  for (; o < rows; o++) {
    let a = 0;
    const f = o * K;
    for (let i = 0; i < K; i++) a += patch[i] * weights[f + i];
    output[outBase + o] = requant(a, o, bias, multiplier, shift, singleRounding, outputOffset, actMin, actMax);
  }
}

/** Bias, output multiplier of channel c, zero point, activation clamp. */
export function requant(
  acc: number,
  c: number,
  bias: Int32Array | null,
  multiplier: Int32Array,
  shift: Int32Array,
  singleRounding: boolean,
  outputOffset: number,
  actMin: number,
  actMax: number,
): number {
  let x = acc | 0;
  if (bias !== null) x = (x + bias[c]) | 0;
  x = singleRounding ? multiplyByQuantizedMultiplierSingleRounding(x, multiplier[c], shift[c]) : multiplyByQuantizedMultiplier(x, multiplier[c], shift[c]);
  x += outputOffset;
  return x < actMin ? actMin : x > actMax ? actMax : x;
}
