import { conv2dBackward, denseBackward, depthwiseBackward, globalAvgPoolBackward, softmaxCrossEntropy } from '../float/kernels';
import type { TrainGraph } from './graph';
import { convGeometryOf, globalPoolPlane } from './op-geometry';
import type { BackwardPlan } from './plan';
import type { ForwardTrace } from './trace';

/** Real-valued gradients of one layer's updated parameters (weights in the layer's own layout). */
export interface LayerGradients {
  weight: Float32Array | null;
  bias: Float32Array | null;
}

/** Zeroed gradient buffers for every update of a plan, keyed by op index. */
export function gradientBuffers(graph: TrainGraph, plan: BackwardPlan): Map<number, LayerGradients> {
  const out = new Map<number, LayerGradients>();
  for (const u of plan.updates) {
    const wLen = graph.model.tensors[u.layer.weight].data!.byteLength;
    out.set(u.layer.opIndex, {
      weight: u.weightChannels > 0 ? new Float32Array(wLen) : null,
      bias: u.bias ? new Float32Array(u.layer.outChannels) : null,
    });
  }
  return out;
}

/**
 * Backward of the softmax cross-entropy through the ops of the plan, in real values. Accumulates
 * into `grads` only what the plan updates (weights for the first k input channels); propagates
 * input gradients only where an updated parameter lies further upstream. Returns the loss.
 */
export function backward(
  graph: TrainGraph,
  plan: BackwardPlan,
  weights: Map<number, Float32Array>,
  trace: ForwardTrace,
  label: number,
  grads: Map<number, LayerGradients>,
): number {
  const { model } = graph;
  const classes = trace.logits.length;
  if (!(Number.isInteger(label) && label >= 0 && label < classes)) throw new Error(`label ${label} is outside [0, ${classes})`);
  const dLogits = new Float32Array(classes);
  const loss = softmaxCrossEntropy(trace.logits, [label], classes, dLogits);
  const tensorGrad = new Map<number, Float32Array>([[graph.logits, dLogits]]);
  const addGrad = (t: number, g: Float32Array) => {
    if (!plan.gradTensors.has(t)) return;
    const prev = tensorGrad.get(t);
    if (!prev) tensorGrad.set(t, g);
    else for (let k = 0; k < g.length; k++) prev[k] += g[k];
  };
  const opByIndex = new Map(graph.ops.map((o) => [o.index, o]));
  for (const index of plan.backwardOps) {
    const op = opByIndex.get(index)!;
    let g = tensorGrad.get(op.outputs[0]);
    if (!g) continue;
    tensorGrad.delete(op.outputs[0]);
    const act = 'activation' in op.options ? op.options.activation : 'none';
    if (act !== 'none') {
      const mask = trace.mask(op.outputs[0]);
      const masked = new Float32Array(g.length);
      for (let k = 0; k < g.length; k++) if (mask[k]) masked[k] = g[k];
      g = masked;
    }
    const input = op.inputs[0];
    const wantDx = plan.gradTensors.has(input);
    const lg = grads.get(op.index);
    switch (op.kind) {
      case 'CONV_2D': {
        const k = lg?.weight ? plan.updates.find((u) => u.layer.opIndex === op.index)!.weightChannels : 0;
        const x = k > 0 ? trace.activation(input) : new Float32Array(0);
        const dx = conv2dBackward(convGeometryOf(model, op), x, wantDx ? weights.get(op.inputs[1])! : new Float32Array(0), g, k > 0 ? lg!.weight : null, lg?.bias ?? null, wantDx, k);
        if (dx) addGrad(input, dx);
        break;
      }
      case 'DEPTHWISE_CONV_2D': {
        const dx = depthwiseBackward(convGeometryOf(model, op), new Float32Array(0), wantDx ? weights.get(op.inputs[1])! : new Float32Array(0), g, null, lg?.bias ?? null, wantDx);
        if (dx) addGrad(input, dx);
        break;
      }
      case 'FULLY_CONNECTED': {
        const [outF, inF] = model.tensors[op.inputs[1]].shape;
        const k = lg?.weight ? plan.updates.find((u) => u.layer.opIndex === op.index)!.weightChannels : 0;
        const x = k > 0 ? trace.activation(input) : new Float32Array(0);
        const dx = denseBackward(1, inF, outF, x, wantDx ? weights.get(op.inputs[1])! : new Float32Array(0), g, k > 0 ? lg!.weight : null, lg?.bias ?? null, wantDx, k);
        if (dx) addGrad(input, dx);
        break;
      }
      case 'ADD':
        addGrad(op.inputs[0], g.slice());
        addGrad(op.inputs[1], g.slice());
        break;
      case 'AVERAGE_POOL_2D':
      case 'MEAN': {
        if (!wantDx) break;
        const { hw, c } = globalPoolPlane(model, op);
        addGrad(input, globalAvgPoolBackward(1, hw, c, g));
        break;
      }
      case 'RESHAPE':
      case 'SQUEEZE':
        if (wantDx) addGrad(input, g);
        break;
      default:
        throw new Error(`backward through ${op.kind} (node ${op.index}) is not supported`);
    }
  }
  return loss;
}
