import type { Model } from '../../engine/ir';
import type { Rng } from '../data/rng';
import type { LayerGradients } from './backward';
import type { LayerUpdate } from './plan';
import { biasScales, int32View, int8View, weightScales } from './real-params';

/** How an update is applied to the int8/int32 parameters. */
export interface UpdateRule {
  lr: number;
  /**
   * Quantization-aware scaling: the gradient w.r.t. an int8 weight is s_W * dL/dW; QAS divides
   * it by s_W^2 (per output channel), and the int32 bias gradient (s_W s_x dL/db) by
   * (s_W s_x)^2, which makes the int8 update match float SGD. Off, the update is lr times the raw
   * quantized-graph gradient.
   */
  qas: boolean;
  /** Rounding of the int8 weight update: stochastic (unbiased, seeded) or to nearest. */
  weightRounding: 'stochastic' | 'nearest';
}

/** Counters of one application of updates. */
export interface UpdateStats {
  weightsChanged: number;
  biasesChanged: number;
  weightsSaturated: number;
}

/**
 * Applies averaged real-valued gradients to a layer's int8 weights (first k input channels) and
 * int32 bias in place, as the device does: per-channel scales and requantization stay fixed.
 */
export function applyUpdate(model: Model, update: LayerUpdate, grads: LayerGradients, scale: number, rule: UpdateRule, rng: Rng, stats: UpdateStats): void {
  const layer = update.layer;
  if (grads.bias) {
    const b = int32View(model.tensors[layer.bias]);
    const sb = biasScales(model, layer);
    for (let c = 0; c < b.length; c++) {
      const g = grads.bias[c] * scale;
      // Quantized-graph gradient s_b * g; QAS divides it by s_b^2.
      const step = rule.qas ? (rule.lr * g) / sb[c] : rule.lr * sb[c] * g;
      const next = Math.max(-2147483648, Math.min(2147483647, b[c] - Math.round(step)));
      if (next !== b[c]) stats.biasesChanged++;
      b[c] = next;
    }
  }
  if (grads.weight && update.weightChannels > 0) {
    const w = int8View(model.tensors[layer.weight]);
    const sw = weightScales(model, layer);
    const inC = layer.inChannels;
    const k = update.weightChannels;
    const perOut = w.length / layer.outChannels;
    for (let idx = 0; idx < w.length; idx++) {
      if (idx % inC >= k) continue;
      const g = grads.weight[idx] * scale;
      if (g === 0) continue;
      const o = Math.floor(idx / perOut);
      const step = rule.qas ? (rule.lr * g) / sw[o] : rule.lr * sw[o] * g;
      const target = w[idx] - step;
      const rounded = rule.weightRounding === 'stochastic' ? Math.floor(target + rng.next()) : Math.round(target);
      const next = rounded > 127 ? 127 : rounded < -127 ? -127 : rounded;
      if (next !== rounded) stats.weightsSaturated++;
      if (next !== w[idx]) stats.weightsChanged++;
      w[idx] = next;
    }
  }
}
