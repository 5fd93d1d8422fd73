/*
 * An independent transcription of TFLite Micro's int8 SOFTMAX and LOGISTIC (softmax_common.cc,
 * logistic_common.cc, reference_ops::Softmax, reference_integer_ops::Logistic, gemmlowp's
 * fixedpoint.h) in BigInt: every int32 operation is exact and wrapped explicitly, exp is computed per
 * element as TFLite Micro does (no tables), and the prepare math uses its own frexp. It shares nothing
 * with the runtime, so "the runtime equals this" is an independent check.
 */
const wrap = (v: bigint): bigint => BigInt.asIntN(32, v);
const MAX = 2n ** 31n - 1n;
const MIN = -(2n ** 31n);

/** SaturatingRoundingDoublingHighMul. */
export function srdhm(a: bigint, b: bigint): bigint {
  if (a === MIN && b === MIN) return MAX;
  const ab = a * b;
  return (ab + (ab >= 0n ? 1n << 30n : 1n - (1n << 30n))) / (1n << 31n); // truncating, like C
}
/** RoundingDivideByPOT. */
export function rdbpot(x: bigint, e: number): bigint {
  const mask = (1n << BigInt(e)) - 1n;
  const threshold = (mask >> 1n) + (x < 0n ? 1n : 0n);
  return (x >> BigInt(e)) + ((x & mask) > threshold ? 1n : 0n);
}
/** SaturatingRoundingMultiplyByPOT. */
function mulPot(x: bigint, e: number): bigint {
  if (e <= 0) return rdbpot(x, -e);
  const r = x * (1n << BigInt(e));
  return r > MAX ? MAX : r < MIN ? MIN : r;
}
function expQuarter(a: bigint): bigint {
  const x = wrap(a + (1n << 28n));
  const x2 = srdhm(x, x);
  const x3 = srdhm(x2, x);
  const x4 = srdhm(x2, x2);
  const poly = rdbpot(wrap(srdhm(wrap(rdbpot(x4, 2) + x3), 715827883n) + x2), 1);
  return wrap(1895147668n + srdhm(1895147668n, wrap(x + poly)));
}
/** gemmlowp's exp_on_negative_values on a raw value with `integerBits` integer bits. */
export function expNeg(a: bigint, integerBits: number): bigint {
  const frac = BigInt(31 - integerBits);
  const quarter = 1n << (frac - 2n);
  const modQuarter = wrap((a & (quarter - 1n)) - quarter);
  let result = expQuarter(mulPot(modQuarter, integerBits));
  const remainder = wrap(modQuarter - a);
  const factors: [number, bigint][] = [[-2, 1672461947n], [-1, 1302514674n], [0, 790015084n], [1, 290630308n], [2, 39332535n], [3, 720401n], [4, 242n]];
  for (const [k, f] of factors) if (integerBits > k && (remainder & (1n << (frac + BigInt(k)))) !== 0n) result = srdhm(result, f);
  if (integerBits > 5 && a < -(1n << BigInt(36 - integerBits))) result = 0n;
  return a === 0n ? MAX : result;
}
/** gemmlowp's one_over_one_plus_x_for_x_in_0_1 (Q0.31). */
export function oneOverOnePlusX(a: bigint): bigint {
  const sum = a + MAX;
  const half = (sum + (sum >= 0n ? 1n : -1n)) / 2n;
  let x = wrap(1515870810n + srdhm(half, -1010580540n));
  for (let i = 0; i < 3; i++) x = wrap(x + mulPot(srdhm(x, wrap((1n << 29n) - srdhm(half, x))), 2));
  return mulPot(x, 1);
}
/** gemmlowp's logistic on a raw value with `integerBits` integer bits. */
export function logisticRef(a: bigint, integerBits: number): bigint {
  if (a === 0n) return 1n << 30n;
  const pos = oneOverOnePlusX(expNeg(a > 0n ? -a : a, integerBits));
  return a > 0n ? pos : MAX - pos;
}
function clz(x: bigint): number {
  let u = BigInt.asUintN(32, x);
  let n = 0;
  while (n < 32 && (u & (1n << 31n)) === 0n) {
    u <<= 1n;
    n++;
  }
  return n;
}
/** frexp of a positive number: [fraction in [0.5, 1), exponent]. */
export function frexpRef(x: number): [number, number] {
  let e = 0;
  while (x >= 1) {
    x /= 2;
    e++;
  }
  while (x < 0.5) {
    x *= 2;
    e--;
  }
  return [x, e];
}
const clampS8 = (v: bigint): number => Number(v < -128n ? -128n : v > 127n ? 127n : v);

/** TFLite Micro's int8 softmax of one row (int8 or, with outputBits 16, int16 out); 'abort' where its TFLITE_CHECK fails. */
export function softmaxRef(row: ArrayLike<number>, inputScale: number, beta: number, outputBits: 8 | 16 = 8): number[] | 'abort' {
  const real = Math.min(Math.fround(beta) * Math.fround(inputScale) * 2 ** 26, 2 ** 31 - 1);
  const [q, frexpExponent] = frexpRef(real);
  let shift = frexpExponent;
  let mult = Math.sign(q * 2 ** 31) * Math.round(Math.abs(q * 2 ** 31));
  if (mult === 2 ** 31) {
    mult /= 2;
    shift++;
  }
  const diffMin = -Math.floor((31 * 2 ** 26) / 2 ** shift);
  const max = Math.max(...Array.from(row));
  const expOf = (diff: number) => expNeg(srdhm(wrap(BigInt(diff) << BigInt(shift)), BigInt(mult)), 5);
  let sum = 0n;
  for (const v of Array.from(row)) if (v - max >= diffMin) sum = wrap(sum + mulPot(expOf(v - max), -12));
  const headroom = clz(sum);
  const reciprocal = oneOverOnePlusX(wrap(BigInt.asUintN(32, sum << BigInt(headroom)) - (1n << 31n)));
  const exponent = 12 - headroom + 31 - outputBits;
  if (exponent < 0 || exponent > 31) return 'abort';
  const min = -(1n << BigInt(outputBits - 1));
  const clamp = (v: bigint) => Number(v < min ? min : v > -min - 1n ? -min - 1n : v);
  return Array.from(row, (v) => (v - max >= diffMin ? clamp(rdbpot(srdhm(reciprocal, expOf(v - max)), exponent) + min) : Number(min)));
}

/** TFLite Micro's int8 logistic of one value. */
export function logisticOneRef(x: number, inputScale: number, inputZeroPoint: number): number {
  const [q, shift] = frexpRef(Math.fround(inputScale) * 2 ** 27);
  const mult = BigInt(Math.round(q * 2 ** 31));
  const radius = Math.floor((15 * 2 ** 27) / 2 ** shift);
  const input = x - inputZeroPoint;
  if (input <= -radius) return -128;
  if (input >= radius) return 127;
  const left = shift > 0 ? shift : 0;
  const q4 = rdbpot(srdhm(wrap(BigInt(input) << BigInt(left)), mult), shift > 0 ? 0 : -shift);
  return clampS8(rdbpot(logisticRef(q4, 4), 23) - 128n);
}

