import type { Activation, DType, Quantization } from '../ir';
import { quantizeMultiplier, roundHalfAway } from './fixed-point';

/**
 * Which runtime's int8 arithmetic the kernels reproduce.
 * - `tflm`: TFLite Micro's reference kernels (and CMSIS-NN) on devices: double rounding
 *   (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT) in every op, and SOFTMAX and
 *   LOGISTIC in gemmlowp fixed point.
 * - `tflite`: the TFLite runtime: CONV_2D and FULLY_CONNECTED go through ruy, which rounds once
 *   ((x*M + 2^(s-1)) >> s), and SOFTMAX and LOGISTIC use float lookup tables; other ops as `tflm`.
 */
export type RoundingMode = 'tflm' | 'tflite';

export const ROUNDING_MODES: readonly RoundingMode[] = ['tflm', 'tflite'];

/** Integer range of a quantized dtype. */
export function dtypeRange(dtype: DType): [number, number] {
  switch (dtype) {
    case 'int8': return [-128, 127];
    case 'uint8': return [0, 255];
    case 'int16': return [-32768, 32767];
    default: return [-2147483648, 2147483647];
  }
}

/**
 * TFLite's CalculateActivationRangeQuantized: the fused activation clamps in the output's integer
 * domain, with the bounds quantized as TFLite does it (float division, round half away from zero).
 */
export function activationRange(activation: Activation, dtype: DType, quant: Quantization | undefined): [number, number] {
  const [qmin, qmax] = dtypeRange(dtype);
  const scale = quant?.scale[0] ?? 1;
  const zp = quant?.zeroPoint[0] ?? 0;
  const q = (f: number) => zp + roundHalfAway(Math.fround(f / scale));
  switch (activation) {
    case 'relu': return [Math.max(qmin, q(0)), qmax];
    case 'relu6': return [Math.max(qmin, q(0)), Math.min(qmax, q(6))];
    case 'relu_n1_to_1': return [Math.max(qmin, q(-1)), Math.min(qmax, q(1))];
    case 'none': return [qmin, qmax];
    default: throw new Error(`fused activation ${activation} is not supported on quantized ops`);
  }
}

/**
 * Per-output-channel multipliers of a convolution (TFLite's PopulateConvolutionQuantizationParams):
 * input_scale * filter_scale[c] / output_scale in double, then QuantizeMultiplier.
 */
export function channelMultipliers(inputScale: number, filterScales: readonly number[], outputScale: number, channels: number): { multiplier: Int32Array; shift: Int32Array } {
  const multiplier = new Int32Array(channels);
  const shift = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const fs = filterScales.length === 1 ? filterScales[0] : filterScales[c];
    const q = quantizeMultiplier((inputScale * fs) / outputScale);
    multiplier[c] = q.multiplier;
    shift[c] = q.shift;
  }
  return { multiplier, shift };
}
