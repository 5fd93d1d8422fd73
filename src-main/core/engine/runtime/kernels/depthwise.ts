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
  /** Working accumulators: 2 × outC int32 (per-channel sums, then bias with the zero point folded in); owned by the caller. */
  acc: Int32Array;
}

/** Allocates the working accumulators a DepthwiseParams needs. */
export function depthwiseAccumulators(outC: number): Int32Array {
  return new Int32Array(2 * outC);
}

export function depthwiseConv2d(input: Int8Array, output: Int8Array, p: DepthwiseParams): void {
  const { inH, inW, inC, outH, outW, outC, depthMultiplier: m, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, bias } = p;
  const { multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  if (p.acc.length < 2 * outC) throw new Error(`depthwise: ${p.acc.length} accumulators, needs ${2 * outC} (use depthwiseAccumulators)`);
  const acc = p.acc.subarray(0, outC);
  // Interior pixels (whole window inside the image) use bias + zero point * sum(filter) and skip the per-tap offset.
  const fold = p.acc.subarray(outC, 2 * outC);
  for (let c = 0; c < outC; c++) {
    let sum = 0;
    for (let t = 0; t < kH * kW; t++) sum += filter[t * outC + c];
    fold[c] = (bias !== null ? bias[c] : 0) + inputOffset * sum;
  }
  const taps = new Int32Array(kH * kW);
  for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++) taps[ky * kW + kx] = (ky * dilationH * inW + kx * dilationW) * inC;
  const T = kH * kW;
  const oyA = Math.min(outH, Math.ceil(padTop / strideH)), oyB = Math.max(oyA, Math.min(outH, Math.floor((inH - 1 - (kH - 1) * dilationH + padTop) / strideH) + 1));
  const oxA = Math.min(outW, Math.ceil(padLeft / strideW)), oxB = Math.max(oxA, Math.min(outW, Math.floor((inW - 1 - (kW - 1) * dilationW + padLeft) / strideW) + 1));
  const store = (dst: number, c: number, a: number) => {
    let x = singleRounding ? multiplyByQuantizedMultiplierSingleRounding(a, multiplier[c], shift[c]) : multiplyByQuantizedMultiplier(a, multiplier[c], shift[c]);
    x += outputOffset;
    output[dst + c] = x < actMin ? actMin : x > actMax ? actMax : x;
  };
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * inC;
    for (let oy = 0; oy < outH; oy++) {
      const iy0 = oy * strideH - padTop;
      const rowInterior = oy >= oyA && oy < oyB;
      for (let ox = 0; ox < outW; ox++) {
        const ix0 = ox * strideW - padLeft;
        const dst = ((b * outH + oy) * outW + ox) * outC;
        if (rowInterior && ox >= oxA && ox < oxB) {
          const base = inBatch + (iy0 * inW + ix0) * inC;
          if (T === 9 && m === 1) {
            const t0 = base + taps[0], t1 = base + taps[1], t2 = base + taps[2], t3 = base + taps[3], t4 = base + taps[4];
            const t5 = base + taps[5], t6 = base + taps[6], t7 = base + taps[7], t8 = base + taps[8];
            const C = outC;
            for (let c = 0; c < C; c++) {
              const a = fold[c] + input[t0 + c] * filter[c] + input[t1 + c] * filter[C + c] + input[t2 + c] * filter[2 * C + c]
                + input[t3 + c] * filter[3 * C + c] + input[t4 + c] * filter[4 * C + c] + input[t5 + c] * filter[5 * C + c]
                + input[t6 + c] * filter[6 * C + c] + input[t7 + c] * filter[7 * C + c] + input[t8 + c] * filter[8 * C + c];
              store(dst, c, a | 0);
            }
          } else {
            for (let c = 0, oc = 0; c < inC; c++) {
              const src = base + c;
              for (let j = 0; j < m; j++, oc++) {
                let a = fold[oc];
                for (let t = 0; t < T; t++) a += input[src + taps[t]] * filter[t * outC + oc];
                store(dst, oc, a | 0);
              }
            }
          }
          continue;
        }
        if (bias !== null) acc.set(bias);
        else acc.fill(0);
        for (let ky = 0; ky < kH; ky++) {
          const iy = iy0 + ky * dilationH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ix0 + kx * dilationW;
            if (ix < 0 || ix >= inW) continue;
            const src = inBatch + (iy * inW + ix) * inC;
            const f = (ky * kW + kx) * outC;
            if (m === 1) {
              for (let c = 0; c < inC; c++) acc[c] += (input[src + c] + inputOffset) * filter[f + c];
            } else {
              for (let c = 0, oc = 0; c < inC; c++) {
                const v = input[src + c] + inputOffset;
                for (let j = 0; j < m; j++, oc++) acc[oc] += v * filter[f + oc];
              }
            }
          }
        }
        for (let c = 0; c < outC; c++) store(dst, c, acc[c]);
      }
    }
  }
}

/** Bytes of the plane scratch depthwiseConv2dInPlace needs: one input channel with its padding on all sides. */
export function depthwisePlaneBytes(p: Pick<DepthwiseParams, 'inH' | 'inW' | 'outH' | 'outW' | 'kH' | 'kW' | 'strideH' | 'strideW' | 'dilationH' | 'dilationW' | 'padTop' | 'padLeft'>): number {
  const { planeH, planeW } = planeSize(p);
  return planeH * planeW;
}

function planeSize(p: Pick<DepthwiseParams, 'inH' | 'inW' | 'outH' | 'outW' | 'kH' | 'kW' | 'strideH' | 'strideW' | 'dilationH' | 'dilationW' | 'padTop' | 'padLeft'>) {
  const needH = (p.outH - 1) * p.strideH + (p.kH - 1) * p.dilationH + 1;
  const needW = (p.outW - 1) * p.strideW + (p.kW - 1) * p.dilationW + 1;
  return { planeH: Math.max(needH, p.padTop + p.inH), planeW: Math.max(needW, p.padLeft + p.inW) };
}

/**
 * Depthwise convolution that writes its output over its input (depth multiplier 1, C_in == C_out)
 * in one NHWC buffer, channel by channel: channel c's input plane is first copied, padded with the
 * input zero point, into `plane`, then channel c's outputs are written. Output (oy, ox, c) lands on
 * a byte that only ever holds channel c, and channel c's input is already saved, so this is safe for
 * any stride. `plane` must hold depthwisePlaneBytes(p) bytes. Bit-identical to depthwiseConv2d.
 */
export function depthwiseConv2dInPlace(buffer: Int8Array, plane: Int8Array, p: DepthwiseParams): void {
  if (p.depthMultiplier !== 1) throw new Error('in-place depthwise needs depth multiplier 1');
  const { inH, inW, inC: C, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, bias } = p;
  const { multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  const { planeH, planeW } = planeSize(p);
  if (plane.length < planeH * planeW) throw new Error(`depthwise plane scratch of ${plane.length} bytes, needs ${planeH * planeW}`);
  const zeroPoint = -inputOffset;
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * C;
    const outBatch = b * outH * outW * C;
    for (let c = 0; c < C; c++) {
      plane.fill(zeroPoint, 0, planeH * planeW);
      for (let y = 0; y < inH; y++) {
        let dst = (y + padTop) * planeW + padLeft;
        let src = inBatch + y * inW * C + c;
        for (let x = 0; x < inW; x++, src += C) plane[dst++] = buffer[src];
      }
      const bc = bias !== null ? bias[c] : 0;
      const mc = multiplier[c], sc = shift[c];
      for (let oy = 0; oy < outH; oy++) {
        const py0 = oy * strideH;
        for (let ox = 0; ox < outW; ox++) {
          const px0 = ox * strideW;
          let acc = bc;
          for (let ky = 0; ky < kH; ky++) {
            const row = (py0 + ky * dilationH) * planeW + px0;
            let f = ky * kW * C + c;
            for (let kx = 0; kx < kW; kx++, f += C) acc += (plane[row + kx * dilationW] + inputOffset) * filter[f];
          }
          let x = singleRounding ? multiplyByQuantizedMultiplierSingleRounding(acc | 0, mc, sc) : multiplyByQuantizedMultiplier(acc | 0, mc, sc);
          x += outputOffset;
          buffer[outBatch + (oy * outW + ox) * C + c] = x < actMin ? actMin : x > actMax ? actMax : x;
        }
      }
    }
  }
}
