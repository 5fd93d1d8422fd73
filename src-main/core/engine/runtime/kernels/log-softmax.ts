import { calculateInputRadius, expOnNegativeValues, logXForXGreaterThanOrEqualTo1, multiplyByQuantizedMultiplier, preprocessSoftmaxScaling, quantizeMultiplier, roundingDivideByPOT, saturatingRoundingMultiplyByPOT } from '../fixed-point';

/**
 * TFLite's int8 LOG_SOFTMAX (reference_integer_ops::LogSoftmax, which both TFLite and TFLite Micro
 * run, so the rounding mode does not change it): per row, the differences to the row maximum in Q5.26,
 * the sum of their exponentials in Q12.19, its logarithm in Q5.26 (gemmlowp-style
 * log_x_for_x_greater_than_or_equal_to_1), and each output = difference - log(sum) on scale 16/256,
 * zero point 127. Differences too small to matter give -128.
 *
 * The rescaled difference and its exponential depend on the input only through d = max - x (0..255),
 * so prepare tabulates them; the kernel is then a sum, one logarithm per row and one subtraction per
 * element, identical to computing them per element as TFLite does.
 */
export interface LogSoftmaxParams {
  rows: number;
  depth: number;
  /** PreprocessLogSoftmaxScalingExp: beta (1) * input scale into Q5.26, and the way back. */
  inputMultiplier: number;
  inputLeftShift: number;
  reverseMultiplier: number;
  /** Left shift (<= 0) of the reverse multiplier, as MultiplyByQuantizedMultiplier takes it. */
  reverseShift: number;
  diffMin: number;
  /** diffsQ5[d]: -d rescaled to Q5.26 (0 where -d < diffMin: never read there). */
  diffsQ5: Int32Array;
  /** addends[d]: exp(-d * input_scale) rescaled to the Q12.19 accumulator, 0 where -d < diffMin. */
  addends: Int32Array;
}

const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;
const OUTPUT_INTEGER_BITS = 4;
/** The output's fixed zero point: [-16, 0] maps onto [-128, 127] with scale 1/16. */
export const LOG_SOFTMAX_OUTPUT_ZERO_POINT = 127;
export const LOG_SOFTMAX_OUTPUT_SCALE = 16 / 256;
const INT32_MIN = -2147483648;

/** TFLite's LogSoftmaxPrepare for int8, plus the per-difference tables. */
export function logSoftmaxParams(inputScale: number, rows: number, depth: number): LogSoftmaxParams {
  // The scale is float32 in the model; TFLite widens it to double. beta is 1 for LOG_SOFTMAX.
  const { multiplier, leftShift } = preprocessSoftmaxScaling(1, Math.fround(inputScale), SCALED_DIFF_INTEGER_BITS);
  // QuantizeMultiplierSmallerThanOneExp of 2^(31 - leftShift) / multiplier.
  const reverse = quantizeMultiplier(2 ** (31 - leftShift) / multiplier);
  if (reverse.shift > 0) throw new Error(`LOG_SOFTMAX: input scale ${inputScale} gives a reverse scaling factor of at least 1 (TFLite's QuantizeMultiplierSmallerThanOneExp)`);
  const diffMin = -calculateInputRadius(SCALED_DIFF_INTEGER_BITS, leftShift);
  const diffsQ5 = new Int32Array(256);
  const addends = new Int32Array(256);
  for (let d = 0; d <= 255 && -d >= diffMin; d++) {
    diffsQ5[d] = multiplyByQuantizedMultiplier(-d, multiplier, leftShift);
    addends[d] = saturatingRoundingMultiplyByPOT(expOnNegativeValues(diffsQ5[d], SCALED_DIFF_INTEGER_BITS), -ACCUMULATION_INTEGER_BITS);
  }
  return { rows, depth, inputMultiplier: multiplier, inputLeftShift: leftShift, reverseMultiplier: reverse.multiplier, reverseShift: reverse.shift, diffMin, diffsQ5, addends };
}

/** Runs LOG_SOFTMAX over `rows` rows of `depth` int8 values. */
export function logSoftmax(input: Int8Array, output: Int8Array, p: LogSoftmaxParams): void {
  const { rows, depth, diffsQ5, addends } = p;
  for (let r = 0; r < rows; r++) {
    const base = r * depth;
    let max = -128;
    for (let j = 0; j < depth; j++) if (input[base + j] > max) max = input[base + j];
    let sum = 0;
    // int32 addition as in C; the Q12.19 accumulator holds 4096 maximal terms.
    for (let j = 0; j < depth; j++) sum = (sum + addends[max - input[base + j]]) | 0;
    const logSum = logXForXGreaterThanOrEqualTo1(sum, ACCUMULATION_INTEGER_BITS, SCALED_DIFF_INTEGER_BITS);
    // The smallest difference whose output is above the type's minimum: log(sum) past Q5.26's bottom.
    const adjustedDiffMin = Math.max(p.diffMin - 1, multiplyByQuantizedMultiplier((logSum + INT32_MIN) | 0, p.reverseMultiplier, p.reverseShift));
    for (let j = 0; j < depth; j++) {
      const d = max - input[base + j];
      if (-d > adjustedDiffMin) {
        const q = roundingDivideByPOT((diffsQ5[d] - logSum) | 0, 31 - SCALED_DIFF_INTEGER_BITS - OUTPUT_INTEGER_BITS) + LOG_SOFTMAX_OUTPUT_ZERO_POINT;
        output[base + j] = q > 127 ? 127 : q < -128 ? -128 : q;
      } else {
        output[base + j] = -128;
      }
    }
  }
}
