import { multiplyByQuantizedMultiplier, saturatingRoundingDoublingHighMul as srdhm, saturatingRoundingMultiplyByPOT as mulPot, roundingDivideByPOT } from '../fixed-point';

/**
 * TFLite's int8 RSQRT (elementwise.cc, RsqrtEvalQuantized): for v = x - input zero point (> 0),
 * 1/sqrt(v) as a quantized multiplier (GetInvSqrtQuantizedMultiplierExp: Newton-Raphson in Q3.28),
 * applied to 1 << 20, then rescaled by 1 / (sqrt(input scale) * output scale) and shifted back by 20;
 * v == 0 gives 127. Inputs below the zero point are an error ("only defined for positive values").
 */
export interface RsqrtParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  /** Where the error names the op. */
  what: string;
}

const SHIFT = 20;

/** GetInvSqrtQuantizedMultiplierExp(input, kReverseShift = -1): [multiplier, shift]. */
export function invSqrtQuantizedMultiplierExp(input: number): [number, number] {
  if (input <= 1) return [2147483647, 0];
  let shift = 11;
  while (input >= 1 << 29) {
    input = Math.trunc(input / 4);
    shift++;
  }
  const leftShiftBitPairs = ((Math.clz32(input) - 1) >> 1) - 1;
  shift -= leftShiftBitPairs;
  input <<= 2 * leftShiftBitPairs;
  // Q3.28 fixed point: products of two Q3 values are Q6, of three Q9; Rescale<3> shifts them back.
  const x0 = input >> 1;
  const halfInput = roundingDivideByPOT(x0, 1);
  const halfThree = (1 << 28) + (1 << 27);
  let x = 1 << 28;
  for (let i = 0; i < 5; i++) {
    const x3 = mulPot(srdhm(srdhm(x, x), x), 6);
    x = mulPot((srdhm(halfThree, x) - srdhm(halfInput, x3)) | 0, 3);
  }
  let m = srdhm(x, 1518500250); // times sqrt(2) / 2 in Q0.31
  if (shift < 0) {
    m = (m << -shift) | 0;
    shift = 0;
  }
  return [m, -shift];
}

export function rsqrt(input: Int8Array, output: Int8Array, p: RsqrtParams): void {
  for (let i = 0; i < input.length; i++) {
    const v = input[i] - p.inputZeroPoint;
    if (v < 0) throw new Error(`${p.what}: RSQRT is only defined for values at or above the zero point ${p.inputZeroPoint}, got ${input[i]}`);
    if (v === 0) {
      output[i] = 127;
      continue;
    }
    const [m, s] = invSqrtQuantizedMultiplierExp(v);
    const data = multiplyByQuantizedMultiplier(1, m, s + SHIFT);
    const o = multiplyByQuantizedMultiplier(data, p.multiplier, p.shift - SHIFT) + p.outputZeroPoint;
    output[i] = o < -128 ? -128 : o > 127 ? 127 : o;
  }
}
