import { calculateInputRadius, frexp, logistic, multiplyByQuantizedMultiplier, roundHalfAway, roundingDivideByPOT } from '../fixed-point';

/**
 * TFLite Micro's int8 LOGISTIC (reference_integer_ops::Logistic with logistic_common.cc's prepare):
 * the input minus its zero point rescaled to Q4.27, gemmlowp's fixed-point logistic, the Q0.31 result
 * rounded to 8 fractional bits onto zero point -128 (scale 1/256); inputs at or beyond the radius
 * where Q4.27 would overflow saturate to -128 / 127.
 */
export interface LogisticTflmParams {
  inputZeroPoint: number;
  inputRangeRadius: number;
  inputMultiplier: number;
  inputLeftShift: number;
}

const INPUT_INTEGER_BITS = 4;

/** TFLite Micro's CalculateArithmeticOpDataLogistic for int8. */
export function logisticTflmParams(inputScale: number, inputZeroPoint: number): LogisticTflmParams {
  // TFLite Micro takes frexp and rounds itself here (no QuantizeMultiplier), on the float32 scale widened to double.
  const [q, shift] = frexp(Math.fround(inputScale) * 2 ** (31 - INPUT_INTEGER_BITS));
  const multiplier = roundHalfAway(q * 2 ** 31);
  if (multiplier >= 2 ** 31) throw new Error(`LOGISTIC: input scale ${inputScale} rounds its multiplier to 2^31, which TFLite Micro's int32 cast cannot hold`);
  if (shift < 0) throw new Error(`LOGISTIC: input scale ${inputScale} is below 2^-28, where TFLite Micro's input radius shifts by a negative amount`);
  return { inputZeroPoint, inputRangeRadius: calculateInputRadius(INPUT_INTEGER_BITS, shift), inputMultiplier: multiplier, inputLeftShift: shift };
}

/** Runs the logistic on every element. */
export function logisticTflm(input: Int8Array, output: Int8Array, p: LogisticTflmParams): void {
  const { inputZeroPoint, inputRangeRadius: radius, inputMultiplier, inputLeftShift } = p;
  for (let i = 0; i < input.length; i++) {
    const x = input[i] - inputZeroPoint;
    if (x <= -radius) output[i] = -128;
    else if (x >= radius) output[i] = 127;
    else {
      // |x| < radius keeps x * 2^leftShift inside int32.
      const q4 = multiplyByQuantizedMultiplier(x, inputMultiplier, inputLeftShift);
      const q = roundingDivideByPOT(logistic(q4, INPUT_INTEGER_BITS), 31 - 8) - 128;
      output[i] = q < -128 ? -128 : q > 127 ? 127 : q;
    }
  }
}

/** The kernel's output for each of the 256 int8 inputs (index x + 128): the runtime applies it as a lookup. */
export function logisticTflmTable(p: LogisticTflmParams): Int8Array {
  const input = new Int8Array(256);
  for (let i = 0; i < 256; i++) input[i] = i - 128;
  const table = new Int8Array(256);
  logisticTflm(input, table, p);
  return table;
}
