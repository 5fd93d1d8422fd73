/**
 * Float32 NHWC kernels for training on the desktop: forward and backward of convolution,
 * depthwise convolution, dense, global average pooling. Direct loops (no im2col) with the channel
 * loop innermost so that both operands stream contiguously.
 */

/** Geometry of a sliding-window op on an NHWC batch. */
export interface ConvGeometry {
  n: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** TFLite SAME/VALID output size and leading pad (the odd pixel of SAME goes bottom/right). */
export function windowGeometry(padding: 'same' | 'valid', inSize: number, kernel: number, stride: number): { out: number; padBefore: number } {
  if (padding === 'valid') return { out: Math.floor((inSize - kernel) / stride) + 1, padBefore: 0 };
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  return { out, padBefore: Math.floor(total / 2) };
}

/** y[n,oy,ox,o] = bias[o] + sum w[o,ky,kx,i] * x[n,iy,ix,i] (weights OHWI). */
export function conv2dForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null): Float32Array {
  const { n, inH, inW, inC, outH, outW, outC, kh, kw, strideH, strideW, padTop, padLeft } = g;
  const y = new Float32Array(n * outH * outW * outC);
  const wO = kh * kw * inC;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yBase = ((b * outH + oy) * outW + ox) * outC;
        for (let o = 0; o < outC; o++) {
          let acc = bias ? bias[o] : 0;
          const wBase = o * wO;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx;
              if (ix < 0 || ix >= inW) continue;
              const xBase = ((b * inH + iy) * inW + ix) * inC;
              const wk = wBase + (ky * kw + kx) * inC;
              for (let i = 0; i < inC; i++) acc += w[wk + i] * x[xBase + i];
            }
          }
          y[yBase + o] = acc;
        }
      }
    }
  }
  return y;
}

/**
 * Backward of conv2dForward: accumulates into dw (and dBias), returns dx when wanted.
 * `inChannels` limits the weight gradient to the first k input channels (sparse update).
 */
export function conv2dBackward(
  g: ConvGeometry,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  dw: Float32Array | null,
  dBias: Float32Array | null,
  wantDx: boolean,
  inChannels = g.inC,
): Float32Array | null {
  const { n, inH, inW, inC, outH, outW, outC, kh, kw, strideH, strideW, padTop, padLeft } = g;
  if (!dw && !wantDx) {
    if (dBias) sumChannels(dy, outC, dBias);
    return null;
  }
  const dx = wantDx ? new Float32Array(n * inH * inW * inC) : null;
  const wO = kh * kw * inC;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yBase = ((b * outH + oy) * outW + ox) * outC;
        for (let o = 0; o < outC; o++) {
          const d = dy[yBase + o];
          if (d === 0) continue;
          if (dBias) dBias[o] += d;
          const wBase = o * wO;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx;
              if (ix < 0 || ix >= inW) continue;
              const xBase = ((b * inH + iy) * inW + ix) * inC;
              const wk = wBase + (ky * kw + kx) * inC;
              if (dw) for (let i = 0; i < inChannels; i++) dw[wk + i] += d * x[xBase + i];
              if (dx) for (let i = 0; i < inC; i++) dx[xBase + i] += d * w[wk + i];
            }
          }
        }
      }
    }
  }
  return dx;
}

/** Depthwise (multiplier 1): y[n,oy,ox,c] = bias[c] + sum w[ky,kx,c] * x[n,iy,ix,c]. */
export function depthwiseForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null): Float32Array {
  const { n, inH, inW, inC, outH, outW, kh, kw, strideH, strideW, padTop, padLeft } = g;
  const C = inC;
  const y = new Float32Array(n * outH * outW * C);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yBase = ((b * outH + oy) * outW + ox) * C;
        if (bias) for (let c = 0; c < C; c++) y[yBase + c] = bias[c];
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * strideW - padLeft + kx;
            if (ix < 0 || ix >= inW) continue;
            const xBase = ((b * inH + iy) * inW + ix) * C;
            const wk = (ky * kw + kx) * C;
            for (let c = 0; c < C; c++) y[yBase + c] += w[wk + c] * x[xBase + c];
          }
        }
      }
    }
  }
  return y;
}

/** Backward of depthwiseForward. */
export function depthwiseBackward(
  g: ConvGeometry,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  dw: Float32Array | null,
  dBias: Float32Array | null,
  wantDx: boolean,
): Float32Array | null {
  const { n, inH, inW, inC, outH, outW, kh, kw, strideH, strideW, padTop, padLeft } = g;
  const C = inC;
  if (!dw && !wantDx) {
    if (dBias) sumChannels(dy, C, dBias);
    return null;
  }
  const dx = wantDx ? new Float32Array(n * inH * inW * C) : null;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yBase = ((b * outH + oy) * outW + ox) * C;
        if (dBias) for (let c = 0; c < C; c++) dBias[c] += dy[yBase + c];
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * strideW - padLeft + kx;
            if (ix < 0 || ix >= inW) continue;
            const xBase = ((b * inH + iy) * inW + ix) * C;
            const wk = (ky * kw + kx) * C;
            if (dw) for (let c = 0; c < C; c++) dw[wk + c] += dy[yBase + c] * x[xBase + c];
            if (dx) for (let c = 0; c < C; c++) dx[xBase + c] += dy[yBase + c] * w[wk + c];
          }
        }
      }
    }
  }
  return dx;
}

/** Adds the per-channel sum of an NHWC gradient into `into` (the bias gradient). */
function sumChannels(dy: Float32Array, channels: number, into: Float32Array): void {
  for (let k = 0, c = 0; k < dy.length; k++) {
    into[c] += dy[k];
    if (++c === channels) c = 0;
  }
}

/** y[n,o] = bias[o] + sum w[o,i] x[n,i] (weights [out, in], TFLite's FULLY_CONNECTED layout). */
export function denseForward(n: number, inF: number, outF: number, x: Float32Array, w: Float32Array, bias: Float32Array | null): Float32Array {
  const y = new Float32Array(n * outF);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outF; o++) {
      let acc = bias ? bias[o] : 0;
      const wb = o * inF;
      const xb = b * inF;
      for (let i = 0; i < inF; i++) acc += w[wb + i] * x[xb + i];
      y[b * outF + o] = acc;
    }
  }
  return y;
}

/** Backward of denseForward; `inFeatures` limits the weight gradient to the first k inputs. */
export function denseBackward(
  n: number,
  inF: number,
  outF: number,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  dw: Float32Array | null,
  dBias: Float32Array | null,
  wantDx: boolean,
  inFeatures = inF,
): Float32Array | null {
  const dx = wantDx ? new Float32Array(n * inF) : null;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outF; o++) {
      const d = dy[b * outF + o];
      if (dBias) dBias[o] += d;
      if (d === 0) continue;
      const wb = o * inF;
      const xb = b * inF;
      if (dw) for (let i = 0; i < inFeatures; i++) dw[wb + i] += d * x[xb + i];
      if (dx) for (let i = 0; i < inF; i++) dx[xb + i] += d * w[wb + i];
    }
  }
  return dx;
}

/** Mean over H and W: [n,h,w,c] -> [n,c]. */
export function globalAvgPoolForward(n: number, hw: number, c: number, x: Float32Array): Float32Array {
  const y = new Float32Array(n * c);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const base = (b * hw + p) * c;
      for (let k = 0; k < c; k++) y[b * c + k] += x[base + k];
    }
    for (let k = 0; k < c; k++) y[b * c + k] /= hw;
  }
  return y;
}

/** Backward of globalAvgPoolForward. */
export function globalAvgPoolBackward(n: number, hw: number, c: number, dy: Float32Array): Float32Array {
  const dx = new Float32Array(n * hw * c);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const base = (b * hw + p) * c;
      for (let k = 0; k < c; k++) dx[base + k] = dy[b * c + k] / hw;
    }
  }
  return dx;
}

/** Softmax cross-entropy over rows of `logits`: returns mean loss and fills dLogits (mean over rows). */
export function softmaxCrossEntropy(logits: Float32Array, labels: readonly number[], classes: number, dLogits: Float32Array | null): number {
  const n = labels.length;
  let loss = 0;
  for (let b = 0; b < n; b++) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[b * classes + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[b * classes + k] - max);
    const logSum = Math.log(sum) + max;
    loss += logSum - logits[b * classes + labels[b]];
    if (dLogits) {
      for (let k = 0; k < classes; k++) {
        const p = Math.exp(logits[b * classes + k] - logSum);
        dLogits[b * classes + k] = (p - (k === labels[b] ? 1 : 0)) / n;
      }
    }
  }
  return loss / n;
}

/** Index of the largest entry of row `b`. */
export function argmaxRow(values: ArrayLike<number>, b: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (values[b * classes + k] > values[b * classes + best]) best = k;
  return best;
}
