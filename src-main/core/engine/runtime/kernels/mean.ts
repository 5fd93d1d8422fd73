import { multiplyByQuantizedMultiplier } from '../fixed-point';

/**
 * int8 MEAN, with the paths TFLite's reduce.cc chooses:
 * - 4-D input, axes {1, 2}, keep_dims (global average pooling), two variants:
 *   `spatial-tflite` (TFLite's optimized_integer_ops::Mean): the raw int8 sum times
 *   QuantizeMultiplier(input_scale / (count * output_scale)), plus a float-rounded bias
 *   output_zp - (int)(input_zp * input_scale / output_scale ± 0.5);
 *   `spatial-tflm` (reference_integer_ops::Mean, TFLite Micro): the sum of (x - input_zp) times
 *   QuantizeMultiplier(input_scale / output_scale), divided by the count rounding half away from
 *   zero, plus the output zero point;
 * - any other axes with equal input and output quantization (`generic`, reference_ops::Mean): the
 *   raw int8 sum divided by the count with C's truncating division;
 * - any other axes with different quantization (`generic-rescale`, reference_ops::QuantizedMeanOrSum):
 *   in float32, round(sum / count * s - input_zp * s) + output_zp with s = input_scale / output_scale.
 */
export interface MeanParams {
  inShape: number[];
  /** Sorted reduced axes. */
  axes: number[];
  path: 'spatial-tflite' | 'spatial-tflm' | 'generic' | 'generic-rescale';
  /** `generic-rescale`: input_scale / output_scale in float32. */
  scale: number;
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  /** `spatial-tflite`: output_zp minus the rounded input zero point in output units. */
  bias: number;
  /** Working sums, one per output element; owned by the caller. */
  sums: Int32Array;
}

export function mean(input: Int8Array, output: Int8Array, p: MeanParams): void {
  if (p.path === 'spatial-tflite' || p.path === 'spatial-tflm') {
    const [batches, h, w, c] = p.inShape;
    const n = h * w;
    const tflite = p.path === 'spatial-tflite';
    for (let b = 0; b < batches; b++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        let src = b * n * c + ch;
        for (let i = 0; i < n; i++, src += c) acc += input[src];
        if (tflite) {
          acc = multiplyByQuantizedMultiplier(acc, p.multiplier, p.shift) + p.bias;
        } else {
          acc = multiplyByQuantizedMultiplier(acc - n * p.inputZeroPoint, p.multiplier, p.shift);
          acc = acc > 0 ? Math.trunc((acc + (n >> 1)) / n) : Math.trunc((acc - (n >> 1)) / n);
          acc += p.outputZeroPoint;
        }
        output[b * c + ch] = acc < -128 ? -128 : acc > 127 ? 127 : acc;
      }
    }
    return;
  }
  // Generic reduction: walk the input once, adding each element into its output slot.
  const rank = p.inShape.length;
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of p.axes) reduced[a] = true;
  const outStrides = new Array<number>(rank).fill(0);
  let count = 1;
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    if (reduced[i]) count *= p.inShape[i];
    else { outStrides[i] = s; s *= p.inShape[i]; }
  }
  const sums = p.sums;
  sums.fill(0);
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  for (let i = 0; i < input.length; i++) {
    sums[o] += input[i];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      o += outStrides[d];
      if (idx[d] < p.inShape[d]) break;
      o -= outStrides[d] * idx[d];
      idx[d] = 0;
    }
  }
  if (p.path === 'generic') {
    for (let k = 0; k < output.length; k++) output[k] = Math.trunc(sums[k] / count);
    return;
  }
  const f = Math.fround;
  const bias = f(-p.inputZeroPoint * p.scale);
  for (let k = 0; k < output.length; k++) {
    const m = f(f(sums[k]) / f(count));
    const v = f(f(m * p.scale) + bias);
    const r = (v < 0 ? -Math.round(-v) : Math.round(v)) + p.outputZeroPoint;
    output[k] = r < -128 ? -128 : r > 127 ? 127 : r;
  }
}
