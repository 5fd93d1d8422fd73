import { multiplyByQuantizedMultiplier } from '../fixed-point';
import { type Broadcast4D, broadcastBinary } from './elementwise';

/**
 * TFLite's int8 SQUARED_DIFFERENCE (squared_difference.cc): both inputs shifted left by 7 and
 * rescaled to twice the larger input scale, the difference squared in int32 (at most 255^2 * 2^14),
 * rescaled by (2 * max scale)^2 / (2^14 * output scale), plus the output zero point.
 */
export interface SquaredDifferenceParams {
  broadcast: Broadcast4D;
  input1Offset: number;
  input1Multiplier: number;
  input1Shift: number;
  input2Offset: number;
  input2Multiplier: number;
  input2Shift: number;
  /** Each input's rescaled value for every int8 value (index x + 128), from the fields above. */
  scaled1: Int32Array;
  scaled2: Int32Array;
  outputMultiplier: number;
  outputShift: number;
  outputOffset: number;
}

export function squaredDifference(a: Int8Array, b: Int8Array, output: Int8Array, p: SquaredDifferenceParams): void {
  const { scaled1, scaled2, outputMultiplier, outputShift, outputOffset } = p;
  broadcastBinary(a, b, output, p.broadcast, (x1, x2) => {
    const d = scaled1[x1 + 128] - scaled2[x2 + 128];
    const x = multiplyByQuantizedMultiplier(Math.imul(d, d), outputMultiplier, outputShift) + outputOffset;
    return x < -128 ? -128 : x > 127 ? 127 : x;
  });
}
