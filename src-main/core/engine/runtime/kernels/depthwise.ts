import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSingleRounding } from '../fixed-point';

/**
 * int8 DEPTHWISE_CONV_2D, NHWC input, [1, kH, kW, C*m] filter, per-channel requantization, any depth
 * multiplier m (output channel = input channel * m + j). Padding is explicit, as for conv2d.
 */
export interface DepthwiseParams {
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  /** inC * depthMultiplier. */
  outC: number;
  depthMultiplier: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  inputOffset: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
  filter: Int8Array;
  bias: Int32Array | null;
  multiplier: Int32Array;
  shift: Int32Array;
  singleRounding: boolean;
  /** Working array of 2*outC int32 (bias with the zero point folded in, then one window's sums); owned by the caller. */
  acc: Int32Array;
}

/** Allocates the working array a DepthwiseParams needs. */
export function depthwiseAccumulators(outC: number): Int32Array {
  return new Int32Array(2 * outC);
}

export function depthwiseConv2d(input: Int8Array, output: Int8Array, p: DepthwiseParams): void {
  const { inH, inW, inC, outH, outW, outC, depthMultiplier: m, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, bias } = p;
  const { multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  if (p.acc.length < 2 * outC) throw new Error(`depthwise: ${p.acc.length} accumulators, needs ${2 * outC} (use depthwiseAccumulators)`);
  // Windows entirely inside the image start from bias + zero point * sum(filter) and skip the per-tap offset.
  const fold = p.acc;
  for (let c = 0; c < outC; c++) {
    let sum = 0;
    for (let t = 0; t < kH * kW; t++) sum += filter[t * outC + c];
    fold[c] = (bias !== null ? bias[c] : 0) + inputOffset * sum;
  }
  if (m >= 4) return depthwiseMultiplied(input, output, p, fold);
  const rowStep = dilationH * inW * inC, colStep = dilationW * inC;
  const store = (dst: number, c: number, a: number) => {
    let x = singleRounding ? multiplyByQuantizedMultiplierSingleRounding(a, multiplier[c], shift[c]) : multiplyByQuantizedMultiplier(a, multiplier[c], shift[c]);
    x += outputOffset;
    output[dst + c] = x < actMin ? actMin : x > actMax ? actMax : x;
  };
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      // Taps ky0..ky1 fall inside the image.
      const ky0 = iy0 >= 0 ? 0 : Math.ceil(-iy0 / dilationH);
      const ky1 = Math.min(kH, Math.floor((inH - 1 - iy0) / dilationH) + 1);
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        const kx0 = ix0 >= 0 ? 0 : Math.ceil(-ix0 / dilationW);
        const kx1 = Math.min(kW, Math.floor((inW - 1 - ix0) / dilationW) + 1);
        const dst = ((b * outH + oy) * outW + ox) * outC;
        const base = inBatch + (iy0 * inW + ix0) * inC;
        const interior = ky0 === 0 && kx0 === 0 && ky1 === kH && kx1 === kW;
        if (interior && m === 1 && kH === 3 && kW === 3) {
          const C = outC;
          for (let c = 0; c < C; c++) {
            const r0 = base + c, r1 = r0 + rowStep, r2 = r1 + rowStep;
            const a = fold[c]
              + input[r0] * filter[c] + input[r0 + colStep] * filter[C + c] + input[r0 + 2 * colStep] * filter[2 * C + c]
              + input[r1] * filter[3 * C + c] + input[r1 + colStep] * filter[4 * C + c] + input[r1 + 2 * colStep] * filter[5 * C + c]
              + input[r2] * filter[6 * C + c] + input[r2 + colStep] * filter[7 * C + c] + input[r2 + 2 * colStep] * filter[8 * C + c];
            store(dst, c, a | 0);
          }
          continue;
        }
        for (let c = 0, oc = 0; c < inC; c++) {
          for (let j = 0; j < m; j++, oc++) {
            let a: number;
            if (interior) {
              a = fold[oc];
              let f = oc;
              for (let ky = 0, row = base + c; ky < kH; ky++, row += rowStep) {
                for (let kx = 0, x = row; kx < kW; kx++, x += colStep, f += outC) a += input[x] * filter[f];
              }
            } else {
              a = bias !== null ? bias[oc] : 0;
              for (let ky = ky0, row = base + c + ky0 * rowStep; ky < ky1; ky++, row += rowStep) {
                let f = (ky * kW + kx0) * outC + oc;
                for (let kx = kx0, x = row + kx0 * colStep; kx < kx1; kx++, x += colStep, f += outC) a += (input[x] + inputOffset) * filter[f];
              }
            }
            store(dst, oc, a | 0);
          }
        }
      }
    }
  }
}

/**
 * Depth multiplier >= 4 (e.g. micro_speech's 8): eight, then four output channels of one input
 * channel at a time, so each input value is loaded once per eight (four) multiply-adds (their filter
 * taps are adjacent). For the blocks of eight the filter is packed in pairs of channels (packPairs,
 * redone per call so changed weights are always seen), so one exact double multiply-add serves two. Interior windows start from `fold` (bias + zero point * sum(filter)), border
 * windows start from the bias and add the zero point per tap. A function of its own so its JIT
 * feedback is not mixed with the depth-multiplier-1 paths.
 */
function depthwiseMultiplied(input: Int8Array, output: Int8Array, p: DepthwiseParams, fold: Int32Array): void {
  const { inH, inW, inC, outH, outW, outC, depthMultiplier: m, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, bias } = p;
  const { multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  const rowStep = dilationH * inW * inC, colStep = dilationW * inC;
  // One window's sums go to sums[outC..2*outC) and are requantized in one loop: a single call site
  // for the multiplier, which the JIT then inlines.
  const sums = p.acc;
  const halfC = outC >> 1;
  const packed = m >= 8 && m % 2 === 0 && kH * kW <= PACKED_MAX_TAPS ? packPairs(filter, kH * kW * outC) : null;
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      const ky0 = iy0 >= 0 ? 0 : Math.ceil(-iy0 / dilationH);
      const ky1 = Math.min(kH, Math.floor((inH - 1 - iy0) / dilationH) + 1);
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        const kx0 = ix0 >= 0 ? 0 : Math.ceil(-ix0 / dilationW);
        const kx1 = Math.min(kW, Math.floor((inW - 1 - ix0) / dilationW) + 1);
        const dst = ((b * outH + oy) * outW + ox) * outC;
        const base = inBatch + (iy0 * inW + ix0) * inC;
        const interior = ky0 === 0 && kx0 === 0 && ky1 === kH && kx1 === kW;
        const tapOffset = interior ? 0 : inputOffset;
        const start = interior ? fold : bias ?? NO_BIAS;
        for (let c = 0, oc = 0; c < inC; c++) {
          let j = 0;
          for (; packed !== null && j + 8 <= m; j += 8, oc += 8) {
            let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (let ky = ky0, row = base + c + ky0 * rowStep; ky < ky1; ky++, row += rowStep) {
              let f = ((ky * kW + kx0) * outC + oc) >> 1;
              for (let kx = kx0, x = row + kx0 * colStep; kx < kx1; kx++, x += colStep, f += halfC) {
                const v = input[x] + tapOffset;
                a0 += v * packed[f]; a1 += v * packed[f + 1]; a2 += v * packed[f + 2]; a3 += v * packed[f + 3];
              }
            }
            const at = outC + oc;
            unpack(sums, at, a0, start, oc);
            unpack(sums, at + 2, a1, start, oc + 2);
            unpack(sums, at + 4, a2, start, oc + 4);
            unpack(sums, at + 6, a3, start, oc + 6);
          }
          for (; j + 4 <= m; j += 4, oc += 4) {
            let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            if (start.length > 0) {
              a0 = start[oc]; a1 = start[oc + 1]; a2 = start[oc + 2]; a3 = start[oc + 3];
            }
            for (let ky = ky0, row = base + c + ky0 * rowStep; ky < ky1; ky++, row += rowStep) {
              let f = (ky * kW + kx0) * outC + oc;
              for (let kx = kx0, x = row + kx0 * colStep; kx < kx1; kx++, x += colStep, f += outC) {
                const v = input[x] + tapOffset;
                a0 += v * filter[f]; a1 += v * filter[f + 1]; a2 += v * filter[f + 2]; a3 += v * filter[f + 3];
              }
            }
            const at = outC + oc;
            sums[at] = a0; sums[at + 1] = a1; sums[at + 2] = a2; sums[at + 3] = a3;
          }
          for (; j < m; j++, oc++) {
            let a = start.length > 0 ? start[oc] : 0;
            for (let ky = ky0, row = base + c + ky0 * rowStep; ky < ky1; ky++, row += rowStep) {
              let f = (ky * kW + kx0) * outC + oc;
              for (let kx = kx0, x = row + kx0 * colStep; kx < kx1; kx++, x += colStep, f += outC) a += (input[x] + tapOffset) * filter[f];
            }
            sums[outC + oc] = a;
          }
        }
        for (let oc = 0; oc < outC; oc++) {
          const a = sums[outC + oc];
          let x = singleRounding ? multiplyByQuantizedMultiplierSingleRounding(a, multiplier[oc], shift[oc]) : multiplyByQuantizedMultiplier(a, multiplier[oc], shift[oc]);
          x += outputOffset;
          output[dst + oc] = x < actMin ? actMin : x > actMax ? actMax : x;
        }
      }
    }
  }
}

/** Start values of a border window without bias (empty: start from 0). */
const NO_BIAS = new Int32Array(0);

/** Lane width of two filter taps packed in one double: w0 + w1 * 2^24. */
const LANE = 2 ** 24;
const INV_LANE = 2 ** -24;
/** Windows up to this many taps keep each lane's sum below 2^23 (|input - zero point| <= 255, |w| <= 128), so the lanes separate exactly. */
const PACKED_MAX_TAPS = 256;

/** Filter values of adjacent output channels (even, odd) packed in pairs, so one multiply serves two channels. */
function packPairs(filter: Int8Array, length: number): Float64Array {
  const packed = new Float64Array(length >> 1);
  for (let i = 0; i < packed.length; i++) packed[i] = filter[2 * i] + filter[2 * i + 1] * LANE;
  return packed;
}

/** Splits a packed sum s0 + s1 * 2^24 (|s0| < 2^23) into its lanes and adds the start values of channels oc, oc + 1. */
function unpack(sums: Int32Array, at: number, packedSum: number, start: Int32Array, oc: number): void {
  const high = Math.round(packedSum * INV_LANE);
  const low = packedSum - high * LANE;
  sums[at] = start.length > 0 ? low + start[oc] : low;
  sums[at + 1] = start.length > 0 ? high + start[oc + 1] : high;
}
