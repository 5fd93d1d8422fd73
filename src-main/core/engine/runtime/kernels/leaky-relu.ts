import { multiplyByQuantizedMultiplier } from '../fixed-point';

/**
 * TFLite's int8 LEAKY_RELU (reference_ops::QuantizeLeakyRelu): x - zero point rescaled by
 * input/output scale where it is >= 0, by input * alpha / output scale below, plus the output zero point.
 */
export interface LeakyReluParams {
  inputZeroPoint: number;
  outputZeroPoint: number;
  identityMultiplier: number;
  identityShift: number;
  alphaMultiplier: number;
  alphaShift: number;
}

export function leakyRelu(input: Int8Array, output: Int8Array, p: LeakyReluParams): void {
  for (let i = 0; i < input.length; i++) {
    const x = input[i] - p.inputZeroPoint;
    const v = p.outputZeroPoint + (x >= 0 ? multiplyByQuantizedMultiplier(x, p.identityMultiplier, p.identityShift) : multiplyByQuantizedMultiplier(x, p.alphaMultiplier, p.alphaShift));
    output[i] = v < -128 ? -128 : v > 127 ? 127 : v;
  }
}
