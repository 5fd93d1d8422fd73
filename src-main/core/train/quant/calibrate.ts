import type { Sample } from '../data/task';
import type { FoldedNet } from '../float/bn-fold';
import { foldedForward } from '../float/folded-forward';
import { stack } from '../float/trainer';

/** Observed real-valued range of the input and of every op's output. */
export interface CalibrationRanges {
  input: [number, number];
  ops: [number, number][];
}

/** Runs the float graph over calibration samples and records min/max of every activation. */
export function calibrate(net: FoldedNet, samples: readonly Sample[], batchSize = 64): CalibrationRanges {
  if (samples.length === 0) throw new Error('calibration needs at least one sample');
  const input: [number, number] = [Infinity, -Infinity];
  const ops: [number, number][] = net.ops.map(() => [Infinity, -Infinity]);
  const widen = (range: [number, number], values: Float32Array) => {
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (v < range[0]) range[0] = v;
      if (v > range[1]) range[1] = v;
    }
  };
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const { x } = stack(chunk);
    widen(input, x);
    foldedForward(net, x, chunk.length).forEach((out, k) => widen(ops[k], out));
  }
  return { input, ops };
}

/**
 * Asymmetric int8 parameters for a real range (TFLite's convention: the range is widened to hold
 * 0 exactly, so that zero padding and ReLU's floor are exact).
 */
export function asymmetricQParams(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, min);
  let hi = Math.max(0, max);
  if (hi - lo < 1e-8) hi = lo + 1e-8;
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}
