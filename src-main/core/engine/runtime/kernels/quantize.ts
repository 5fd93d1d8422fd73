import { multiplyByQuantizedMultiplier } from '../fixed-point';

/** QUANTIZE float32 -> int8/uint8 (TFLite's AffineQuantize: round(x / scale) in double, plus zero point, clamp). */
export interface QuantizeParams {
  scale: number;
  zeroPoint: number;
  min: number;
  max: number;
}

export function quantizeFloat(input: Float32Array, output: Int8Array | Uint8Array, p: QuantizeParams): void {
  for (let i = 0; i < input.length; i++) {
    const v = input[i] / p.scale;
    const q = (v < 0 ? -Math.round(-v) : Math.round(v)) + p.zeroPoint;
    output[i] = q < p.min ? p.min : q > p.max ? p.max : q;
  }
}

/**
 * QUANTIZE between integer types (TFLite's Requantize, int8/uint8/int16 in, int8/uint8/int16/int32
 * out): rescale input_scale/output_scale with double rounding, clamp to the output type.
 */
export interface RequantizeParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  min: number;
  max: number;
}

/** Integer tensors QUANTIZE reads and writes (int8/uint8/int16 in, also int32 out). */
export type IntegerArray = Int8Array | Uint8Array | Int16Array | Int32Array;

export function requantize(input: IntegerArray, output: IntegerArray, p: RequantizeParams): void {
  for (let i = 0; i < input.length; i++) {
    const q = multiplyByQuantizedMultiplier(input[i] - p.inputZeroPoint, p.multiplier, p.shift) + p.outputZeroPoint;
    output[i] = q < p.min ? p.min : q > p.max ? p.max : q;
  }
}

/** DEQUANTIZE int8/uint8 -> float32: scale * (q - zero point), rounded to float32. */
export interface DequantizeParams {
  scale: number;
  zeroPoint: number;
}

export function dequantize(input: Int8Array | Uint8Array, output: Float32Array, p: DequantizeParams): void {
  for (let i = 0; i < input.length; i++) output[i] = p.scale * (input[i] - p.zeroPoint);
}
