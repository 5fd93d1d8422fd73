import type { Tensor } from '../ir';
import { quantizeMultiplier, roundHalfAway } from './fixed-point';
import type { HardSwishParams, ReluParams } from './kernels/activations';
import { type LogisticTflmParams, logisticTflmParams, logisticTflmTable } from './kernels/logistic-tflm';
import type { RoundingMode } from './requantize';

type ActivationKernel =
  | { kind: 'relu'; params: ReluParams }
  | { kind: 'lookup'; table: Int8Array }
  | { kind: 'logisticTflm'; params: LogisticTflmParams; table: Int8Array }
  | { kind: 'hardSwish'; params: HardSwishParams };

const f32 = Math.fround;

/**
 * TFLite Micro's int8 SOFTMAX and LOGISTIC write probabilities with scale 1/256 and zero point -128:
 * its SOFTMAX prepare rejects anything else, its LOGISTIC checks the zero point and silently assumes
 * the scale. Both are rejected here, so a model that would compute wrong values on a device fails early.
 */
export function requireTflmProbabilityOutput(what: string, output: Tensor): void {
  const scale = output.quant?.scale[0];
  const zeroPoint = output.quant?.zeroPoint[0];
  // Its int8 -> int16 SOFTMAX checks only the zero point: the output is 2^16 * p - 32768 whatever the scale says.
  if (output.dtype === 'int16') {
    if (zeroPoint !== -32768) throw new Error(`${what}: TFLite Micro's int8 -> int16 kernel needs zero point -32768, got ${zeroPoint}`);
    return;
  }
  if (output.dtype !== 'int8' || Math.fround(scale ?? 0) !== 1 / 256 || zeroPoint !== -128) {
    throw new Error(`${what}: TFLite Micro's int8 kernel needs an int8 output with scale 1/256 and zero point -128, got ${output.dtype} scale ${scale} zero point ${zeroPoint} (use the tflite rounding mode to run it as TFLite does)`);
  }
}

/**
 * TFLite's Prepare of the int8 activation ops (activations.cc), float32 arithmetic where TFLite uses
 * float. In `tflm` mode LOGISTIC is TFLite Micro's fixed-point kernel instead of TFLite's float table.
 */
export function prepareActivation(kind: 'LOGISTIC' | 'HARD_SWISH' | 'RELU' | 'RELU6', input: Tensor, output: Tensor, rounding: RoundingMode, what: string): ActivationKernel {
  const inScale = f32(input.quant!.scale[0]), inZp = input.quant!.zeroPoint[0];
  const outScale = f32(output.quant!.scale[0]), outZp = output.quant!.zeroPoint[0];
  switch (kind) {
    case 'RELU':
    case 'RELU6': {
      const m = quantizeMultiplier(f32(inScale / outScale));
      const actMin = Math.max(-128, outZp + roundHalfAway(f32(0 / outScale)));
      const actMax = kind === 'RELU' ? 127 : Math.min(127, outZp + roundHalfAway(f32(6 / outScale)));
      return { kind: 'relu', params: { inputZeroPoint: inZp, outputZeroPoint: outZp, multiplier: m.multiplier, shift: m.shift, actMin, actMax } };
    }
    case 'LOGISTIC': {
      if (rounding === 'tflm') {
        requireTflmProbabilityOutput(what, output);
        const params = logisticTflmParams(inScale, inZp);
        return { kind: 'logisticTflm', params, table: logisticTflmTable(params) };
      }
      // TFLite's int8 LOGISTIC is a 256-entry table of the float sigmoid (PopulateLookupTable).
      const table = new Int8Array(256);
      const inverseScale = f32(1 / outScale);
      for (let v = -128; v <= 127; v++) {
        const x = f32(inScale * (v - inZp));
        const y = f32(f32(1) / f32(1 + f32(Math.exp(-x))));
        const qv = roundHalfAway(f32(y * inverseScale)) + outZp;
        table[v + 128] = Math.max(-128, Math.min(127, qv));
      }
      return { kind: 'lookup', table };
    }
    case 'HARD_SWISH': {
      const hiresInputScale = f32(f32(1 / 128) * inScale);
      const reluishScale = f32(3 / 32768);
      const out = quantizeMultiplier(f32(hiresInputScale / outScale));
      const reluish = quantizeMultiplier(f32(hiresInputScale / reluishScale));
      if (out.shift > 0) throw new Error('HARD_SWISH: output multiplier exponent must be <= 0 (TFLite requires it)');
      return {
        kind: 'hardSwish',
        params: {
          inputZeroPoint: inZp, outputZeroPoint: outZp,
          outputMultiplierFixedpointInt16: downscaleInt32ToInt16Multiplier(out.multiplier), outputMultiplierExponent: out.shift,
          reluishMultiplierFixedpointInt16: downscaleInt32ToInt16Multiplier(reluish.multiplier), reluishMultiplierExponent: reluish.shift,
        },
      };
    }
  }
}

/** TFLite's DownScaleInt32ToInt16Multiplier. */
function downscaleInt32ToInt16Multiplier(m: number): number {
  if (m >= 2147483647 - 32768) return 32767;
  return (m + 32768) >> 16;
}
