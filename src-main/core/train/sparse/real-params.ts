import type { Model, Tensor } from '../../engine/ir';
import { activationRange } from '../../engine/runtime/requantize';
import type { TrainableLayer } from './graph';

/** Live int8 weights / int32 biases of a model's constant tensors, viewing the tensors' bytes. */
export function int8View(t: Tensor): Int8Array {
  if (!t.data || t.dtype !== 'int8') throw new Error(`tensor ${t.id} (${t.name}) is not a constant int8 tensor`);
  return new Int8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

export function int32View(t: Tensor): Int32Array {
  if (!t.data || t.dtype !== 'int32') throw new Error(`tensor ${t.id} (${t.name}) is not a constant int32 tensor`);
  if (t.data.byteOffset % 4 !== 0) throw new Error(`tensor ${t.id} (${t.name}) bytes are not 4-aligned`);
  return new Int32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
}

/** Scale of output channel `c` of a weight layer (per-channel, or the single per-tensor scale). */
export function weightScales(model: Model, layer: TrainableLayer): Float64Array {
  const q = model.tensors[layer.weight].quant;
  if (!q) throw new Error(`weights of node ${layer.opIndex} are not quantized`);
  return Float64Array.from({ length: layer.outChannels }, (_, c) => (q.scale.length === 1 ? q.scale[0] : q.scale[c]));
}

/** Scale of each int32 bias entry: s_x * s_W[c] (taken from the bias tensor when it carries it). */
export function biasScales(model: Model, layer: TrainableLayer): Float64Array {
  const bq = model.tensors[layer.bias].quant;
  const sx = model.tensors[layer.input].quant!.scale[0];
  const sw = weightScales(model, layer);
  return Float64Array.from({ length: layer.outChannels }, (_, c) => (bq && bq.scale.length > 0 ? (bq.scale.length === 1 ? bq.scale[0] : bq.scale[c]) : sx * sw[c]));
}

/** Real-valued weights of a layer in its own layout (OHWI, [1,kh,kw,C] or [out,in]). */
export function realWeights(model: Model, layer: TrainableLayer): Float32Array {
  const q = int8View(model.tensors[layer.weight]);
  const s = weightScales(model, layer);
  const out = new Float32Array(q.length);
  if (layer.kind === 'DEPTHWISE_CONV_2D') {
    const C = layer.outChannels;
    for (let k = 0; k < q.length; k++) out[k] = q[k] * s[k % C];
  } else {
    const per = q.length / layer.outChannels;
    for (let k = 0; k < q.length; k++) out[k] = q[k] * s[Math.floor(k / per)];
  }
  return out;
}

/** Real-valued bias of a layer. */
export function realBias(model: Model, layer: TrainableLayer): Float32Array {
  const q = int32View(model.tensors[layer.bias]);
  const s = biasScales(model, layer);
  return Float32Array.from(q, (v, c) => v * s[c]);
}

/** Dequantizes an int8 activation tensor's values. */
export function dequantize(model: Model, tensor: number, q: Int8Array): Float32Array {
  const quant = model.tensors[tensor].quant;
  if (!quant) throw new Error(`tensor ${tensor} has no quantization`);
  const s = quant.scale[0];
  const zp = quant.zeroPoint[0];
  return Float32Array.from(q, (v) => s * (v - zp));
}

/** The int8 clamp [min, max] of an op's fused activation on its output tensor. */
export function clampRange(model: Model, output: number, activation: Parameters<typeof activationRange>[0]): [number, number] {
  const t = model.tensors[output];
  return activationRange(activation, t.dtype, t.quant);
}
