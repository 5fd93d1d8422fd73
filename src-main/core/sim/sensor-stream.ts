import { mulberry32 } from '../engine/runtime/inputs';
import type { Model } from '../engine/ir';
import type { TensorView } from '../engine/runtime/prepare';
import { allocateView } from '../engine/runtime/tensor-memory';
import { deriveSeed } from './prng';

/** Share of each input element that is the device's own scene (the rest is per-sample noise). */
const SCENE_SHARE = 0.7;

/**
 * What a simulated device's sensor delivers to its model: input tensors of the model's input
 * shapes, in quantized units. Each device has its own scene (a fixed pattern from its seed) seen
 * through its own gain and offset (the per-device distribution shift personalization has to
 * fix), plus fresh noise for every sample. Deterministic: the same seed and sample index give the
 * same bytes, on any thread.
 *
 * @param deviceSeed the device's seed (derived from the group seed and the device's index)
 * @param sample the sample's index in the device's stream (0, 1, 2, ...)
 */
export function sensorInputs(model: Model, deviceSeed: number, sample: number): TensorView[] {
  const scene = mulberry32(deriveSeed(deviceSeed, 0, 10));
  const noise = mulberry32(deriveSeed(deviceSeed, sample, 11));
  const shift = mulberry32(deriveSeed(deviceSeed, 0, 12));
  const gain = 0.8 + 0.4 * (shift() / 2 ** 32);
  const offset = (shift() / 2 ** 32) * 0.2 - 0.1;
  return model.inputs.map((id) => {
    const view = allocateView(model.tensors[id]);
    const [lo, hi] = rangeOf(view);
    for (let i = 0; i < view.length; i++) {
      // Both streams are uniform in [-1, 1); the shifted mix is mapped onto the dtype's range.
      const u = SCENE_SHARE * (scene() / 2 ** 31 - 1) + (1 - SCENE_SHARE) * (noise() / 2 ** 31 - 1);
      const x = Math.max(-1, Math.min(1, gain * u + offset));
      view[i] = view instanceof Float32Array ? x : Math.round(lo + ((x + 1) / 2) * (hi - lo));
    }
    return view;
  });
}

function rangeOf(view: TensorView): [number, number] {
  if (view instanceof Int8Array) return [-128, 127];
  if (view instanceof Uint8Array) return [0, 255];
  if (view instanceof Int16Array) return [-32768, 32767];
  if (view instanceof Float32Array) return [-1, 1];
  throw new Error('sensor inputs support int8, uint8, int16 and float32 model inputs');
}
