/** Window geometry and clamp of AVERAGE_POOL_2D / MAX_POOL_2D on NHWC int8 (explicit padding). */
export interface PoolParams {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  actMin: number;
  actMax: number;
  /** Working accumulators, one per channel; owned by the caller. */
  acc: Int32Array;
}

/**
 * TFLite's int8 average pool: sum over the in-image part of the window, divide by that count with
 * rounding half away from zero ((acc ± count/2) / count, C division), clamp.
 */
export function averagePool(input: Int8Array, output: Int8Array, p: PoolParams): void {
  const { inH, inW, channels: C, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft, actMin, actMax, acc } = p;
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * C;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const fy0 = Math.max(0, -y0), fy1 = Math.min(filterH, inH - y0);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const fx0 = Math.max(0, -x0), fx1 = Math.min(filterW, inW - x0);
        acc.fill(0);
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const src = inBatch + ((y0 + fy) * inW + x0 + fx) * C;
            for (let c = 0; c < C; c++) acc[c] += input[src + c];
          }
        }
        const count = (fy1 - fy0) * (fx1 - fx0);
        const half = count >> 1;
        const dst = ((b * outH + oy) * outW + ox) * C;
        for (let c = 0; c < C; c++) {
          const a = acc[c];
          let x = count === 0 ? 0 : Math.trunc(a > 0 ? (a + half) / count : (a - half) / count);
          x = x < actMin ? actMin : x > actMax ? actMax : x;
          output[dst + c] = x;
        }
      }
    }
  }
}

/** TFLite's int8 max pool over the in-image part of the window, then the activation clamp. */
export function maxPool(input: Int8Array, output: Int8Array, p: PoolParams): void {
  const { inH, inW, channels: C, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft, actMin, actMax, acc } = p;
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * C;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * strideH - padTop;
      const fy0 = Math.max(0, -y0), fy1 = Math.min(filterH, inH - y0);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        const fx0 = Math.max(0, -x0), fx1 = Math.min(filterW, inW - x0);
        acc.fill(-128);
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const src = inBatch + ((y0 + fy) * inW + x0 + fx) * C;
            for (let c = 0; c < C; c++) if (input[src + c] > acc[c]) acc[c] = input[src + c];
          }
        }
        const dst = ((b * outH + oy) * outW + ox) * C;
        for (let c = 0; c < C; c++) {
          const x = acc[c];
          output[dst + c] = x < actMin ? actMin : x > actMax ? actMax : x;
        }
      }
    }
  }
}
