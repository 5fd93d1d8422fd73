import { calculateInputRadius, expOnNegativeValues, getReciprocal, preprocessSoftmaxScaling, roundingDivideByPOT, saturatingRoundingDoublingHighMul, saturatingRoundingMultiplyByPOT } from '../fixed-point';

const TWO_15 = 32768;
const TWO_30 = 1073741824;
const TWO_31 = 2147483648;

/**
 * TFLite Micro's int8 SOFTMAX (reference_ops::Softmax with softmax_common.cc's prepare): input
 * differences to the row maximum rescaled to Q5.26, gemmlowp's exp_on_negative_values, the sum in
 * Q12.19, GetReciprocal, and the output rounded by 2^(num_bits_over_unit + 23) onto scale 1/256, zero
 * point -128.
 *
 * Every step depends on the input only through the difference d = max - x (0..255), so prepare
 * tabulates the exponential and its Q12.19 addend per d; the kernel is then a sum, one reciprocal per
 * row and one multiply per element, bit-identical to computing exp per element as TFLite Micro does.
 */
export interface SoftmaxTflmParams {
  rows: number;
  depth: number;
  /** TFLite Micro's prepare: multiplier and left shift of beta * input_scale into Q5.26, and diff_min. */
  inputMultiplier: number;
  inputLeftShift: number;
  diffMin: number;
  /**
   * exp(-d * input_scale * beta) in Q0.31, 0 where -d < diffMin (TFLite Micro skips those), split as
   * expsHigh[d] * 2^16 + expsLow[d] so that the kernel multiplies exactly in doubles.
   */
  expsHigh: Int32Array;
  expsLow: Int32Array;
  /** addends[d]: that exponential rescaled to the Q12.19 accumulator. */
  addends: Int32Array;
  /** Bits of the output type: 8 (scale 1/256, zero point -128) or 16 (int16 output, zero point -32768). */
  outputBits: 8 | 16;
}

/** Integer bits of the rescaled input difference (Q5.26) and of the sum of exponentials (Q12.19). */
const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;

/** TFLite Micro's CalculateSoftmaxParams for int8, plus the per-difference tables. */
export function softmaxTflmParams(inputScale: number, beta: number, rows: number, depth: number, outputBits: 8 | 16 = 8): SoftmaxTflmParams {
  // The model stores both as float32; TFLite Micro widens them to double.
  const { multiplier, leftShift } = preprocessSoftmaxScaling(Math.fround(beta), Math.fround(inputScale), SCALED_DIFF_INTEGER_BITS);
  const diffMin = -calculateInputRadius(SCALED_DIFF_INTEGER_BITS, leftShift);
  const exps = new Int32Array(256);
  const addends = new Int32Array(256);
  for (let d = 0; d <= 255 && -d >= diffMin; d++) {
    // MultiplyByQuantizedMultiplierGreaterThanOne; -d >= diffMin keeps -d * 2^leftShift inside int32.
    const rescaled = saturatingRoundingDoublingHighMul(Math.imul(-d, 1 << leftShift), multiplier);
    exps[d] = expOnNegativeValues(rescaled, SCALED_DIFF_INTEGER_BITS);
    addends[d] = saturatingRoundingMultiplyByPOT(exps[d], -ACCUMULATION_INTEGER_BITS);
  }
  const expsHigh = exps.map((e) => e >>> 16);
  const expsLow = exps.map((e) => e & 0xffff);
  return { rows, depth, inputMultiplier: multiplier, inputLeftShift: leftShift, diffMin, expsHigh, expsLow, addends, outputBits };
}

/**
 * Runs the softmax over rows of `depth` int8 values. Throws where TFLite Micro aborts: its
 * TFLITE_CHECK(exponent <= 31) fails when a row's exponentials sum to 512 or more (many values
 * tied near the maximum in rows of more than 511 elements; 2^16 or more for an int16 output).
 */
export function softmaxTflm(input: Int8Array, output: Int8Array | Int16Array, p: SoftmaxTflmParams): void {
  const { rows, depth, expsHigh, expsLow, addends } = p;
  // reference_ops::Softmax<int8_t, OutputT>: exponent 31 - bits(OutputT), offset by OutputT's minimum.
  const outMin = -(2 ** (p.outputBits - 1));
  const outMax = -outMin - 1;
  for (let r = 0; r < rows; r++) {
    const base = r * depth;
    let max = -128;
    for (let j = 0; j < depth; j++) if (input[base + j] > max) max = input[base + j];
    let sum = 0;
    // int32 addition as in C (wraps only beyond 4096 maximal elements, where the check below fails anyway).
    for (let j = 0; j < depth; j++) sum = (sum + addends[max - input[base + j]]) | 0;
    const { reciprocal, numBitsOverUnit } = getReciprocal(sum, ACCUMULATION_INTEGER_BITS);
    const exponent = numBitsOverUnit + 31 - p.outputBits;
    if (exponent > 31) {
      throw new Error(`SOFTMAX (tflm): row ${r} of ${rows} sums its exponentials to ${((sum >>> 0) / 2 ** 19).toFixed(1)} >= ${2 ** (p.outputBits + 1)}; TFLite Micro's reference kernel aborts here (TFLITE_CHECK(exponent <= 31))`);
    }
    for (let j = 0; j < depth; j++) {
      // SaturatingRoundingDoublingHighMul(reciprocal, exp) for two non-negative operands:
      // floor((r * e + 2^30) / 2^31) with r * eHigh = ah * 2^15 + al, every partial sum below 2^53.
      const d = max - input[base + j];
      const a = reciprocal * expsHigh[d];
      const ah = Math.floor(a / TWO_15);
      const product = ah + Math.floor(((a - ah * TWO_15) * 65536 + reciprocal * expsLow[d] + TWO_30) / TWO_31);
      // Never below the minimum: the reciprocal and the exponential are both non-negative.
      const q = roundingDivideByPOT(product, exponent) + outMin;
      output[base + j] = q > outMax ? outMax : q;
    }
  }
}
