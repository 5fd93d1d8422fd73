import type { Tensor } from '../engine/ir';
import type { TensorView } from '../engine/runtime/prepare';
import type { Prediction } from './telemetry-model';

/**
 * Reads a classifier's answer from its first output: the most likely class of the first row (the
 * last axis holds the classes) and its probability. Quantized outputs are dequantized; an output
 * that already is a distribution (a softmax: values in [0, 1] summing to about 1) is taken as it
 * is, anything else (logits) goes through a softmax.
 */
export function readPrediction(tensor: Tensor, output: TensorView): Prediction {
  const classes = tensor.shape.length > 0 ? tensor.shape[tensor.shape.length - 1] : output.length;
  if (classes < 1 || output.length < classes) throw new Error(`output ${tensor.name} has no classes to predict from`);
  const scale = tensor.quant?.scale[0] ?? 1;
  const zeroPoint = tensor.quant?.zeroPoint[0] ?? 0;
  const real = Array.from({ length: classes }, (_, i) => (output instanceof Float32Array ? output[i] : scale * (Number(output[i]) - zeroPoint)));
  const sum = real.reduce((a, b) => a + b, 0);
  const isDistribution = real.every((p) => p >= 0 && p <= 1 + 1e-6) && Math.abs(sum - 1) < 0.05;
  let probabilities = real;
  if (!isDistribution) {
    const max = Math.max(...real);
    const exp = real.map((x) => Math.exp(x - max));
    const total = exp.reduce((a, b) => a + b, 0);
    probabilities = exp.map((e) => e / total);
  }
  let best = 0;
  for (let i = 1; i < classes; i++) if (probabilities[i] > probabilities[best]) best = i;
  return { prediction: best, confidence: Math.min(1, Math.max(0, probabilities[best])) };
}
