import type { Model } from '../../engine/ir';
import { createInterpreter } from '../../engine/runtime/interpreter';
import type { RoundingMode } from '../../engine/runtime/requantize';
import type { Sample } from '../data/task';
import { argmaxRow } from '../float/kernels';

/** Quantizes a float input with a model's input parameters (round to nearest, saturate). */
export function quantizeInput(model: Model, x: Float32Array): Int8Array {
  const t = model.tensors[model.inputs[0]];
  if (t.dtype !== 'int8' || !t.quant) throw new Error(`model input "${t.name}" is not an int8 quantized tensor`);
  const s = t.quant.scale[0];
  const zp = t.quant.zeroPoint[0];
  const out = new Int8Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const v = Math.round(x[k] / s) + zp;
    out[k] = v < -128 ? -128 : v > 127 ? 127 : v;
  }
  return out;
}

/** Top-1 accuracy of an int8 classifier on the engine runtime. */
export function evaluateInt8(model: Model, samples: readonly Sample[], rounding: RoundingMode = 'tflm'): number {
  if (samples.length === 0) return 0;
  const interpreter = createInterpreter(model, { rounding });
  const classes = model.tensors[model.outputs[0]].shape.at(-1)!;
  let correct = 0;
  for (const s of samples) {
    const [out] = interpreter.run([quantizeInput(model, s.x)]).outputs;
    if (argmaxRow(out as ArrayLike<number>, 0, classes) === s.y) correct++;
  }
  return correct / samples.length;
}
