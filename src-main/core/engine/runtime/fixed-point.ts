/**
 * TFLite's integer arithmetic (kernels/internal/common.h, quantization_util.cc, gemmlowp), exact in
 * JavaScript numbers. Products of two int32 values reach 2^62, beyond a double's 53-bit mantissa, so
 * every function takes an exact fast path when the product fits in 2^53 and otherwise splits one
 * factor into 16-bit halves and carries the low bits by hand. Unit tests compare them with BigInt.
 */

const TWO_16 = 65536;
const TWO_30 = 1073741824;
const TWO_31 = 2147483648;
const TWO_52 = 4503599627370496;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** 2^-31: multiplying by it is exact and cheaper than dividing by 2^31. */
const INV_TWO_31 = 2 ** -31;

/** Exact powers of two 2^0..2^64 (avoids Math.pow in hot paths). */
const POW2: Float64Array = (() => {
  const t = new Float64Array(65);
  for (let i = 0; i < 65; i++) t[i] = 2 ** i;
  return t;
})();
/** Their reciprocals, also exact. */
const INV_POW2: Float64Array = POW2.map((v) => 1 / v);

/** A real multiplier as TFLite stores it: multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) (or 0). */
export interface QuantizedMultiplier {
  multiplier: number;
  /** Positive: left shift; negative: right shift. */
  shift: number;
}

/** C's frexp: x = fraction * 2^exponent with |fraction| in [0.5, 1). */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  const ax = Math.abs(x);
  let e = Math.max(-1073, Math.min(1024, Math.ceil(Math.log2(ax)))) | 0;
  let f = ax * 2 ** -e;
  // log2 can be off by one near powers of two; settle exactly (scaling by powers of two is exact).
  while (f >= 1) { f /= 2; e++; }
  while (f < 0.5) { f *= 2; e--; }
  return [x < 0 ? -f : f, e];
}

/** std::round: halves away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** TFLite's QuantizeMultiplier (frexp, round to 2^31, the 2^31 carry and the shift < -31 flush to zero). */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (real === 0) return { multiplier: 0, shift: 0 };
  const [q, exp] = frexp(real);
  let shift = exp;
  let qFixed = roundHalfAway(q * TWO_31);
  if (qFixed === TWO_31) {
    qFixed /= 2;
    shift++;
  }
  if (shift < -31) {
    shift = 0;
    qFixed = 0;
  }
  return { multiplier: qFixed, shift };
}

/** gemmlowp::SaturatingRoundingDoublingHighMul for int32: (a*b*2 + 2^31 rounding) >> 32, rounding halves away from zero. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const p = a * b;
  if (p < TWO_52 && p > -TWO_52) {
    // Exact product; C divides with truncation toward zero.
    return Math.trunc((p >= 0 ? p + TWO_30 : p + 1 - TWO_30) * INV_TWO_31) | 0;
  }
  const nudge = a * b >= 0 ? TWO_30 : 1 - TWO_30;
  const bh = Math.floor(b / TWO_16);
  const bl = b - bh * TWO_16;
  const lo = a * bl + nudge;
  const lh = Math.floor(lo / TWO_16);
  const ll = lo - lh * TWO_16;
  const h = a * bh + lh; // s = h * 2^16 + ll exactly, 0 <= ll < 2^16
  let q = Math.floor(h / 32768);
  if (h < 0 && (ll !== 0 || q * 32768 !== h)) q += 1;
  return q | 0;
}

/** gemmlowp::RoundingDivideByPOT: x / 2^exponent rounding halves away from zero (exponent 0..31). */
export function roundingDivideByPOT(x: number, exponent: number): number {
  const mask = exponent >= 31 ? INT32_MAX : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * TFLite's MultiplyByQuantizedMultiplier with double rounding (TFLite Micro reference kernels,
 * CMSIS-NN, TFLite's non-ruy kernels): SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT.
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  if (shift > 0) return saturatingRoundingDoublingHighMul(Math.imul(x, 1 << shift), multiplier);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x, multiplier), -shift);
}

/**
 * Single rounding, as ruy applies the multiplier in TFLite's CONV_2D and FULLY_CONNECTED:
 * (x * multiplier + 2^(t-1)) >> t with t = 31 - shift, computed in 64 bits, clamped to int32.
 */
export function multiplyByQuantizedMultiplierSingleRounding(x: number, multiplier: number, shift: number): number {
  const t = 31 - shift;
  const p = x * multiplier;
  let r: number;
  if (p < TWO_52 && p > -TWO_52 && t <= 52) {
    r = Math.floor((p + POW2[t - 1]) * INV_POW2[t]);
  } else {
    const mh = Math.floor(multiplier / TWO_16);
    const ml = multiplier - mh * TWO_16;
    const b = x * ml + (t > 16 ? 0 : POW2[t - 1]);
    const bh = Math.floor(b / TWO_16);
    const bl = b - bh * TWO_16;
    const h = x * mh + bh + (t > 16 ? POW2[t - 17] : 0); // value = h * 2^16 + bl exactly
    r = t >= 16 ? Math.floor(h / POW2[t - 16]) : h * POW2[16 - t] + Math.floor(bl / POW2[t]);
  }
  return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r;
}

/**
 * gemmlowp::SaturatingRoundingMultiplyByPOT on a raw int32: x * 2^exponent, saturating to the int32
 * range for exponent > 0, RoundingDivideByPOT for exponent < 0. gemmlowp's Rescale<dst>(FixedPoint<src>)
 * is this with exponent = src - dst integer bits.
 */
export function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent < 0) return roundingDivideByPOT(x, -exponent);
  if (exponent === 0) return x;
  const threshold = POW2[31 - exponent] - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x * POW2[exponent];
}

/** gemmlowp::RoundingHalfSum for int32: (a + b) / 2 with halves rounded away from zero (64-bit sum). */
export function roundingHalfSum(a: number, b: number): number {
  const sum = a + b;
  return Math.trunc((sum >= 0 ? sum + 1 : sum - 1) / 2);
}

/** Raw Q0.31 values gemmlowp derives its constants from (GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT). */
const EXP_MINUS_ONE_EIGHTH = 1895147668; // exp(-1/8)
const ONE_THIRD = 715827883;
const FORTY_EIGHT_OVER_17_Q2 = 1515870810; // 48/17 with 2 integer bits
const MINUS_32_OVER_17_Q2 = -1010580540; // -32/17 with 2 integer bits
/** exp(-2^k) for k = -2..4 in Q0.31: the factors of exp_on_negative_values' barrel shifter. */
const EXP_MINUS_POW2 = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242];

/**
 * gemmlowp::exp_on_interval_between_negative_one_quarter_and_0_excl: exp(a) for a in [-1/4, 0), Q0.31
 * in and out; a Taylor expansion around -1/8 to the fourth power.
 */
export function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const x = (a + (1 << 28)) | 0;
  const x2 = saturatingRoundingDoublingHighMul(x, x);
  const x3 = saturatingRoundingDoublingHighMul(x2, x);
  const x4 = saturatingRoundingDoublingHighMul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const higherTerms = roundingDivideByPOT((saturatingRoundingDoublingHighMul((x4Over4 + x3) | 0, ONE_THIRD) + x2) | 0, 1);
  return (EXP_MINUS_ONE_EIGHTH + saturatingRoundingDoublingHighMul(EXP_MINUS_ONE_EIGHTH, (x + higherTerms) | 0)) | 0;
}

/**
 * gemmlowp::exp_on_negative_values: exp(a) for a <= 0 given as a raw int32 with `integerBits` integer
 * bits (0..29); the result is Q0.31 (exp(0) is INT32_MAX). The fraction modulo 1/4 goes through the
 * Taylor expansion, every set bit of the rest multiplies by exp(-2^k).
 */
export function expOnNegativeValues(a: number, integerBits: number): number {
  if (a === 0) return INT32_MAX;
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 1 << (fractionalBits - 2);
  const aModQuarterMinusOneQuarter = ((a & (oneQuarter - 1)) - oneQuarter) | 0;
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(saturatingRoundingMultiplyByPOT(aModQuarterMinusOneQuarter, integerBits));
  const remainder = (aModQuarterMinusOneQuarter - a) | 0;
  for (let k = -2; k <= 4 && k < integerBits; k++) {
    if (remainder & (1 << (fractionalBits + k))) result = saturatingRoundingDoublingHighMul(result, EXP_MINUS_POW2[k + 2]);
  }
  // Below -32 the barrel shifter has no bits left: gemmlowp returns 0 there.
  if (integerBits > 5 && a < -(2 ** (36 - integerBits))) result = 0;
  return result;
}

/** gemmlowp::one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson, 3 steps). */
export function oneOverOnePlusXForXIn01(a: number): number {
  const halfDenominator = roundingHalfSum(a, INT32_MAX);
  // x and the products with it are Q2.29.
  let x = (FORTY_EIGHT_OVER_17_Q2 + saturatingRoundingDoublingHighMul(halfDenominator, MINUS_32_OVER_17_Q2)) | 0;
  for (let i = 0; i < 3; i++) {
    const oneMinusHalfDenominatorTimesX = ((1 << 29) - saturatingRoundingDoublingHighMul(halfDenominator, x)) | 0;
    x = (x + saturatingRoundingMultiplyByPOT(saturatingRoundingDoublingHighMul(x, oneMinusHalfDenominatorTimesX), 2)) | 0;
  }
  // x / 2 as Q1.30 (exact), then rescaled to Q0.31.
  return saturatingRoundingMultiplyByPOT(x, 1);
}

/** gemmlowp::logistic: 1 / (1 + exp(-a)) for a raw int32 with `integerBits` integer bits; Q0.31 result. */
export function logistic(a: number, integerBits: number): number {
  if (a === 0) return 1 << 30;
  const abs = a > 0 ? a : -a | 0;
  const ifPositive = oneOverOnePlusXForXIn01(expOnNegativeValues(-abs | 0, integerBits));
  return a > 0 ? ifPositive : (INT32_MAX - ifPositive) | 0;
}

/**
 * TFLite's GetReciprocal: 1 / x for a positive raw int32 x with `integerDigits` integer bits, as a
 * Q0.31 value scaled by 2^-numBitsOverUnit (x is normalised to [1, 2) before the division).
 */
export function getReciprocal(x: number, integerDigits: number): { reciprocal: number; numBitsOverUnit: number } {
  const headroomPlusOne = Math.clz32(x);
  const shiftedSumMinusOne = (((x << headroomPlusOne) >>> 0) - TWO_31) | 0;
  return { reciprocal: oneOverOnePlusXForXIn01(shiftedSumMinusOne), numBitsOverUnit: integerDigits - headroomPlusOne };
}

/** TFLite's SaturatingAddNonGemmlowp / SaturatingSub on int32: the exact result clamped to int32. */
function saturateInt32(x: number): number {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x;
}

/** Raw Q0.31 constants of TFLite's logarithm (GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT). */
const LOG_2 = 1488522236;
const SQRT_SQRT_HALF = 1805811301; // (1/2)^(1/4)
const SQRT_HALF = 1518500250;
const ONE_QUARTER = 536870912;
/** The rational approximation's coefficients (in terms of 2^(1/4)). */
const LOG_ALPHA_N = 117049297;
const LOG_ALPHA_D = 127690142;
const LOG_ALPHA_I = 1057819769;
const LOG_ALPHA_F = 638450708;

/**
 * TFLite's log_x_for_x_greater_than_or_equal_to_1 (kernels/internal/common.h): ln(x) for a positive raw
 * int32 x with `inputIntegerBits` integer bits, as a raw int32 with `outputIntegerBits` integer bits.
 * x is split into a power of two (taken from its leading zeros, twice: as is and times sqrt(1/2), the
 * tighter kept) and a mantissa near 2^(-1/4) whose logarithm is a small rational function; the sum is
 * accumulated with one more integer bit than the result.
 */
export function logXForXGreaterThanOrEqualTo1(x: number, inputIntegerBits: number, outputIntegerBits: number): number {
  const accumBits = outputIntegerBits + 1;
  // Rescale<accumBits> of a Q0.31 value.
  const toAccum = (q0: number) => saturatingRoundingMultiplyByPOT(q0, -accumBits);
  const shiftedQuarter = toAccum(ONE_QUARTER);

  const aHeadroomPlusOne = Math.clz32(x);
  const rA = saturatingRoundingMultiplyByPOT(saturatingRoundingDoublingHighMul(saturatingRoundingMultiplyByPOT(x, aHeadroomPlusOne - 1), SQRT_HALF), 1);
  const aPow2 = saturateInt32(saturatingRoundingMultiplyByPOT(inputIntegerBits - aHeadroomPlusOne, 31 - accumBits) + shiftedQuarter);
  const bHeadroom = Math.clz32(saturatingRoundingDoublingHighMul(x, SQRT_HALF)) - 1;
  const rB = saturatingRoundingMultiplyByPOT(x, bHeadroom);
  const bPow2 = saturateInt32(saturatingRoundingMultiplyByPOT(inputIntegerBits - bHeadroom, 31 - accumBits) - shiftedQuarter);
  const r = Math.min(rA, rB);
  const pow2 = Math.max(aPow2, bPow2);

  const p = roundingHalfSum(r, SQRT_SQRT_HALF);
  const q = (2 * ((r - SQRT_SQRT_HALF) | 0)) | 0;
  const mul = saturatingRoundingDoublingHighMul;
  const qSquared = mul(q, q);
  const num = (mul(q, r) + mul(mul(q, qSquared), LOG_ALPHA_N)) | 0;
  const denominatorMinusOne = (mul(p, (((LOG_ALPHA_I + q) | 0) + mul(LOG_ALPHA_D, qSquared)) | 0) + mul(LOG_ALPHA_F, q)) | 0;
  const reciprocal = oneOverOnePlusXForXIn01(denominatorMinusOne);
  const sum = (mul(pow2, LOG_2) + mul(toAccum(num), reciprocal)) | 0;
  return saturatingRoundingMultiplyByPOT(sum, accumBits - outputIntegerBits);
}

/**
 * TFLite's CalculateInputRadius (floating-point build): the largest input magnitude whose rescaled value
 * still fits `inputIntegerBits` integer bits, floor((2^ib - 1) * 2^(totalSignedBits - ib) / 2^leftShift).
 */
export function calculateInputRadius(inputIntegerBits: number, inputLeftShift: number, totalSignedBits = 31): number {
  return Math.floor(((2 ** inputIntegerBits - 1) * 2 ** (totalSignedBits - inputIntegerBits)) / 2 ** inputLeftShift);
}

/**
 * TFLite's PreprocessSoftmaxScaling (double-rounding build): beta * input_scale as a multiplier that
 * turns an input difference into Q(inputIntegerBits).(31 - inputIntegerBits), capped at 2^31 - 1, then
 * QuantizeMultiplierGreaterThanOne. beta and the scale are float32 in the model, widened to double.
 */
export function preprocessSoftmaxScaling(beta: number, inputScale: number, inputIntegerBits: number): { multiplier: number; leftShift: number } {
  const real = Math.min(beta * inputScale * 2 ** (31 - inputIntegerBits), TWO_31 - 1);
  if (!(real > 1)) throw new Error(`softmax scaling: beta * input scale * 2^${31 - inputIntegerBits} = ${real} must be greater than 1 (TFLite's QuantizeMultiplierGreaterThanOne)`);
  const q = quantizeMultiplier(real);
  return { multiplier: q.multiplier, leftShift: q.shift };
}
