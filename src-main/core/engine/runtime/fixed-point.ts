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
