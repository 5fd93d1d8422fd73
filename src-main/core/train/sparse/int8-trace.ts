import type { Model } from '../../engine/ir';
import type { TrainGraph } from './graph';
import type { BackwardPlan } from './plan';
import { clampRange, dequantize } from './real-params';
import type { ForwardTrace } from './trace';

/**
 * Keeps from an int8 forward exactly what the device keeps for the backward pass: the int8 logits,
 * the first k channels of each activation a weight gradient needs (int8), and one bit per output
 * element of each clamped op on the backward path. Everything else is dropped.
 */
export function keepForBackward(graph: TrainGraph, plan: BackwardPlan, tensor: (id: number) => ArrayLike<number>): ForwardTrace {
  const { model } = graph;
  const logits = dequantize(model, graph.logits, Int8Array.from(tensor(graph.logits)));
  const saved = new Map<number, { q: Int8Array; channels: number }>();
  for (const a of plan.savedActivations) {
    const full = tensor(a.tensor);
    const shape = model.tensors[a.tensor].shape;
    const C = shape[shape.length - 1];
    const q = new Int8Array(a.elements);
    const pixels = full.length / C;
    for (let p = 0; p < pixels; p++) for (let c = 0; c < a.channels; c++) q[p * a.channels + c] = full[p * C + c];
    saved.set(a.tensor, { q, channels: a.channels });
  }
  const masks = new Map<number, Uint8Array>();
  const opByOutput = new Map(graph.ops.map((o) => [o.outputs[0], o]));
  for (const m of plan.masks) {
    const op = opByOutput.get(m.tensor)!;
    const act = 'activation' in op.options ? op.options.activation : 'none';
    const [lo, hi] = clampRange(model, m.tensor, act);
    const values = tensor(m.tensor);
    const bits = new Uint8Array(m.elements);
    for (let k = 0; k < m.elements; k++) bits[k] = values[k] > lo && values[k] < hi ? 1 : 0;
    masks.set(m.tensor, bits);
  }
  return {
    logits,
    activation: (t) => {
      const s = saved.get(t);
      if (!s) throw new Error(`the forward pass kept no activation for tensor ${t}`);
      return expandChannels(model, t, s.q, s.channels);
    },
    mask: (t) => {
      const m = masks.get(t);
      if (!m) throw new Error(`the forward pass kept no mask for tensor ${t}`);
      return m;
    },
  };
}

/** Real values of a kept first-k-channel slice in the tensor's full layout (other channels zero). */
function expandChannels(model: Model, tensor: number, q: Int8Array, channels: number): Float32Array {
  const t = model.tensors[tensor];
  const C = t.shape[t.shape.length - 1];
  const s = t.quant!.scale[0];
  const zp = t.quant!.zeroPoint[0];
  const pixels = q.length / channels;
  const out = new Float32Array(pixels * C);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < channels; c++) out[p * C + c] = s * (q[p * channels + c] - zp);
  return out;
}
