import { multiplyByQuantizedMultiplier, roundingDivideByPOT } from '../fixed-point';

/** RELU/RELU6 on int8 (TFLite's QuantizedReluX): rescale from input to output scale, then clamp. */
export interface ReluParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  actMin: number;
  actMax: number;
}

export function relu(input: Int8Array, output: Int8Array, p: ReluParams): void {
  for (let i = 0; i < input.length; i++) {
    let x = p.outputZeroPoint + multiplyByQuantizedMultiplier(input[i] - p.inputZeroPoint, p.multiplier, p.shift);
    x = x < p.actMin ? p.actMin : x > p.actMax ? p.actMax : x;
    output[i] = x;
  }
}

/** Any int8 -> int8 function tabulated over the 256 inputs (TFLite's LOGISTIC kernel for int8). */
export function lookup(input: Int8Array, output: Int8Array, table: Int8Array): void {
  for (let i = 0; i < input.length; i++) output[i] = table[input[i] + 128];
}

/** HARD_SWISH int8 parameters (TFLite's HardSwishParams). */
export interface HardSwishParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  reluishMultiplierFixedpointInt16: number;
  reluishMultiplierExponent: number;
  outputMultiplierFixedpointInt16: number;
  outputMultiplierExponent: number;
}

const INT16_MIN = -32768;
const INT16_MAX = 32767;

/** gemmlowp::SaturatingRoundingDoublingHighMul for int16. */
function srdhm16(a: number, b: number): number {
  if (a === INT16_MIN && b === INT16_MIN) return INT16_MAX;
  const ab = a * b;
  const nudge = ab >= 0 ? 1 << 14 : 1 - (1 << 14);
  return (Math.trunc((ab + nudge) / 32768) << 16) >> 16;
}

/** TFLite's SaturatingDoublingHighMul for int16 (no rounding: truncating division). */
function sdhm16(a: number, b: number): number {
  if (a === INT16_MIN && b === INT16_MIN) return INT16_MAX;
  return (Math.trunc((a * b) / 32768) << 16) >> 16;
}

function saturatingLeftShift16(v: number, amount: number): number {
  const r = v * 2 ** amount;
  return r < INT16_MIN ? INT16_MIN : r > INT16_MAX ? INT16_MAX : r;
}

/** TFLite's reference int8 HARD_SWISH (x * relu6(x + 3) / 6 in 16-bit fixed point). */
export function hardSwish(input: Int8Array, output: Int8Array, p: HardSwishParams): void {
  for (let i = 0; i < input.length; i++) {
    const inputValue = input[i] - p.inputZeroPoint;
    const hires = ((inputValue * 128) << 16) >> 16;
    const preshiftOutput = srdhm16(hires, p.outputMultiplierFixedpointInt16);
    let reluish = hires;
    if (p.reluishMultiplierExponent > 0) reluish = saturatingLeftShift16(reluish, p.reluishMultiplierExponent - 1);
    reluish = srdhm16(reluish, p.reluishMultiplierFixedpointInt16);
    if (p.reluishMultiplierExponent > 0) reluish = saturatingLeftShift16(reluish, 1);
    if (p.reluishMultiplierExponent < 0) reluish = roundingDivideByPOT(reluish, -p.reluishMultiplierExponent);
    reluish = ((reluish + (1 << 15)) >> 1) << 16 >> 16;
    const preshiftValue = sdhm16(reluish, preshiftOutput);
    let out = roundingDivideByPOT(preshiftValue, -p.outputMultiplierExponent);
    out = ((out + p.outputZeroPoint) << 16) >> 16;
    output[i] = out < -128 ? -128 : out > 127 ? 127 : out;
  }
}
