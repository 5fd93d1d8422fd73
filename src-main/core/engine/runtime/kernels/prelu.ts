import { multiplyByQuantizedMultiplier } from '../fixed-point';
import { type Broadcast4D, broadcastBinary } from './elementwise';

/**
 * TFLite's int8 PRELU (reference_ops::BroadcastPrelu4DSlow): x - zero point rescaled by input/output
 * scale where it is >= 0, else (x - zero point) * (alpha - alpha zero point) rescaled by
 * input * alpha / output scale; plus the output zero point, clamped to int8.
 */
export interface PreluParams {
  broadcast: Broadcast4D;
  inputOffset: number;
  alphaOffset: number;
  outputOffset: number;
  multiplier1: number;
  shift1: number;
  multiplier2: number;
  shift2: number;
}

export function prelu(input: Int8Array, alpha: Int8Array, output: Int8Array, p: PreluParams): void {
  broadcastBinary(input, alpha, output, p.broadcast, (x, a) => {
    const v = p.inputOffset + x;
    const r = p.outputOffset + (v >= 0 ? multiplyByQuantizedMultiplier(v, p.multiplier1, p.shift1) : multiplyByQuantizedMultiplier(v * (p.alphaOffset + a), p.multiplier2, p.shift2));
    return r < -128 ? -128 : r > 127 ? 127 : r;
  });
}
