import { type Model, elementCount } from '../ir';
import { allocateView } from './tensor-memory';
import type { TensorView } from './prepare';

/**
 * The oracle's deterministic input recipe, so our runs and TFLite's see the same inputs: one
 * mulberry32(seed) stream, one draw per element, inputs in the model's input order; int8 takes
 * `(r & 255) - 128`, uint8 `r & 255`, int16 `(r & 0xffff) - 32768`, int32 `r | 0`, float32
 * `(r >>> 8) / 2^24 * 2 - 1` (uniform in [-1, 1)).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fills `view` from the stream as the oracle's fillDeterministic does for its dtype. */
export function fillDeterministic(view: TensorView, rnd: () => number): void {
  for (let i = 0; i < view.length; i++) {
    const r = rnd();
    if (view instanceof Int8Array) view[i] = (r & 255) - 128;
    else if (view instanceof Uint8Array) view[i] = r & 255;
    else if (view instanceof Int16Array) view[i] = (r & 0xffff) - 32768;
    else if (view instanceof Int32Array) view[i] = r | 0;
    else if (view instanceof Float32Array) view[i] = ((r >>> 8) / 16777216) * 2 - 1;
    else throw new Error('seeded inputs do not support int64 tensors');
  }
}

/** Seeded inputs for every model input, in order (the CLI's and the tests' recipe). */
export function seededInputs(model: Model, seed: number): TensorView[] {
  const rnd = mulberry32(seed);
  return model.inputs.map((id) => {
    const view = allocateView(model.tensors[id]);
    fillDeterministic(view, rnd);
    return view;
  });
}

/** Inputs from raw little-endian bytes (one buffer per model input), checked against each input's size. */
export function inputsFromBytes(model: Model, buffers: readonly Uint8Array[]): TensorView[] {
  if (buffers.length !== model.inputs.length) throw new Error(`model has ${model.inputs.length} inputs, got ${buffers.length} input files`);
  return model.inputs.map((id, k) => {
    const t = model.tensors[id];
    const view = allocateView(t);
    if (buffers[k].byteLength !== view.byteLength) {
      throw new Error(`input ${k} (${t.name}): got ${buffers[k].byteLength} bytes, needs ${view.byteLength} (${t.dtype}[${t.shape.join(', ')}], ${elementCount(t.shape)} elements)`);
    }
    new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(buffers[k]);
    return view;
  });
}
