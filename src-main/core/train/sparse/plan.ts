import { elementCount } from '../../engine/ir';
import type { TrainGraph, TrainableLayer } from './graph';
import type { SparseScheme } from './scheme';
import { validateScheme } from './scheme';

/** What one layer updates under a scheme. */
export interface LayerUpdate {
  layer: TrainableLayer;
  bias: boolean;
  /** Input channels whose weights are updated (the first k); 0 for none. */
  weightChannels: number;
}

/**
 * Everything the backward pass of a scheme needs, derived once: it drives both the trainer (what
 * to keep during the forward, where to stop the backward) and the memory estimator.
 */
export interface BackwardPlan {
  updates: LayerUpdate[];
  /** Ops whose output gradient is needed (descending execution order = backward order). */
  backwardOps: number[];
  /** Tensors whose gradient must be computed. */
  gradTensors: Set<number>;
  /** int8 activations kept for weight gradients: the first `channels` channels of each tensor. */
  savedActivations: { tensor: number; channels: number; elements: number }[];
  /** Output tensors whose 1-bit clamp masks are kept (fused ReLU/ReLU6 on the backward path). */
  masks: { tensor: number; elements: number }[];
  updatedBiasElements: number;
  updatedWeightElements: number;
}

/** Resolves a scheme on a graph into the concrete per-layer updates and the backward plan. */
export function planBackward(graph: TrainGraph, scheme: SparseScheme): BackwardPlan {
  validateScheme(scheme);
  const { model, layers } = graph;
  if (scheme.biasLastN > layers.length) throw new Error(`scheme updates the biases of the last ${scheme.biasLastN} layers, but the model has ${layers.length}`);
  const byOp = new Map(layers.map((l) => [l.opIndex, l]));
  const updates = new Map<number, LayerUpdate>();
  const updateOf = (l: TrainableLayer) => {
    let u = updates.get(l.opIndex);
    if (!u) updates.set(l.opIndex, (u = { layer: l, bias: false, weightChannels: 0 }));
    return u;
  };
  layers.slice(layers.length - scheme.biasLastN).forEach((l) => (updateOf(l).bias = true));
  for (const w of scheme.weights) {
    const l = byOp.get(w.op);
    if (!l) throw new Error(`scheme lists op ${w.op}, which is not a trainable layer (${layers.map((x) => x.opIndex).join(', ')})`);
    if (l.kind === 'DEPTHWISE_CONV_2D') throw new Error(`scheme lists depthwise op ${w.op}: only CONV_2D and FULLY_CONNECTED weights are updated`);
    if (w.ratio > 0) updateOf(l).weightChannels = Math.max(1, Math.ceil(w.ratio * l.inChannels));
  }
  if (scheme.classifier) {
    const c = updateOf(layers[layers.length - 1]);
    c.bias = true;
    c.weightChannels = c.layer.inChannels;
  }
  const updateList = [...updates.values()].filter((u) => u.bias || u.weightChannels > 0).sort((a, b) => a.layer.opIndex - b.layer.opIndex);

  // A tensor needs a gradient when some updated parameter lies upstream of it.
  const downstreamOfUpdate = new Set<number>();
  for (const op of graph.ops) {
    const updated = updateList.some((u) => u.layer.opIndex === op.index);
    const fed = op.inputs.some((t) => t >= 0 && downstreamOfUpdate.has(t));
    if (updated || fed) for (const t of op.outputs) downstreamOfUpdate.add(t);
  }
  const gradTensors = new Set<number>();
  const backwardOps: number[] = [];
  for (const op of [...graph.ops].reverse()) {
    if (!downstreamOfUpdate.has(op.outputs[0])) continue;
    backwardOps.push(op.index);
    gradTensors.add(op.outputs[0]);
  }
  for (const index of backwardOps) {
    const reason = graph.unsupported.get(index);
    if (reason) throw new Error(`this scheme needs a backward pass through node ${index} (${graph.ops.find((o) => o.index === index)!.kind}), but ${reason}`);
  }
  const savedActivations = updateList
    .filter((u) => u.weightChannels > 0)
    .map((u) => {
      const shape = model.tensors[u.layer.input].shape;
      const spatial = elementCount(shape) / shape[shape.length - 1];
      return { tensor: u.layer.input, channels: u.weightChannels, elements: spatial * u.weightChannels };
    });
  const masks: BackwardPlan['masks'] = [];
  for (const index of backwardOps) {
    const op = graph.ops.find((o) => o.index === index)!;
    const act = 'activation' in op.options ? op.options.activation : 'none';
    if (act !== 'none') masks.push({ tensor: op.outputs[0], elements: elementCount(model.tensors[op.outputs[0]].shape) });
  }
  let updatedBiasElements = 0;
  let updatedWeightElements = 0;
  for (const u of updateList) {
    if (u.bias) updatedBiasElements += u.layer.outChannels;
    if (u.weightChannels > 0) {
      const w = model.tensors[u.layer.weight].shape;
      const perIn = elementCount(w) / u.layer.inChannels;
      updatedWeightElements += perIn * u.weightChannels;
    }
  }
  return { updates: updateList, backwardOps, gradTensors, savedActivations, masks, updatedBiasElements, updatedWeightElements };
}
