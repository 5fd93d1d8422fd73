import { multiplyByQuantizedMultiplier } from '../fixed-point';
import { type AddParams, broadcastBinary } from './elementwise';

/**
 * TFLite's int8 SUB (sub.cc, PrepareGeneralSubOp): ADD's preparation (left shift 20, both inputs
 * rescaled to twice the larger input scale), the second rescaled input subtracted instead of added.
 */
export function sub(a: Int8Array, b: Int8Array, output: Int8Array, p: AddParams): void {
  const { scaled1, scaled2, outputMultiplier, outputShift, outputOffset, actMin, actMax } = p;
  broadcastBinary(a, b, output, p.broadcast, (x1, x2) => {
    const x = multiplyByQuantizedMultiplier((scaled1[x1 + 128] - scaled2[x2 + 128]) | 0, outputMultiplier, outputShift) + outputOffset;
    return x < actMin ? actMin : x > actMax ? actMax : x;
  });
}
