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
  /** Working row of kH*kW*inC int32 (one receptive field, zero-point corrected); owned by the caller. */
  patch: Int32Array;
}

/** Allocates the working row a ConvParams needs. */
export function convPatch(kH: number, kW: number, inC: number): Int32Array {
  return new Int32Array(kH * kW * inC);
}

export function conv2d(input: Int8Array, output: Int8Array, p: ConvParams): void {
  const { inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, patch } = p;
  const K = kH * kW * inC;
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        // Gather the receptive field once, zero point folded in; taps outside the image are 0.
        let k = 0;
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
        const outBase = ((b * outH + oy) * outW + ox) * outC;
        dotRows(patch, K, filter, outC, p, output, outBase);
      }
    }
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
  p: { bias: Int32Array | null; multiplier: Int32Array; shift: Int32Array; singleRounding: boolean; outputOffset: number; actMin: number; actMax: number },
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
