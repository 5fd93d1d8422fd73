import type { Model, Op } from '../../engine/ir';
import { elementCount } from '../../engine/ir';

/** A layer with weights that training can update. */
export interface TrainableLayer {
  /** Position among the trainable layers, in execution order. */
  position: number;
  opIndex: number;
  kind: 'CONV_2D' | 'DEPTHWISE_CONV_2D' | 'FULLY_CONNECTED';
  input: number;
  weight: number;
  bias: number;
  output: number;
  inChannels: number;
  outChannels: number;
  isClassifier: boolean;
}

/** Ops the backward pass can propagate through. */
const BACKWARD_OPS = new Set<Op['kind']>(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'AVERAGE_POOL_2D', 'MEAN', 'RESHAPE', 'SQUEEZE']);

/** The structure of an int8 model as training sees it. */
export interface TrainGraph {
  model: Model;
  layers: TrainableLayer[];
  /** The tensor holding the logits (the input of a final SOFTMAX, if the model has one). */
  logits: number;
  /** Ops up to and including the one producing the logits. */
  ops: Op[];
  producer: Map<number, Op>;
}

/** Analyses a single-input classifier model for training; names the first unsupported op. */
export function analyseGraph(model: Model): TrainGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`training needs a model with one input and one output (got ${model.inputs.length} and ${model.outputs.length})`);
  }
  let ops = model.ops;
  let logits = model.outputs[0];
  const last = ops[ops.length - 1];
  if (last?.kind === 'SOFTMAX') {
    logits = last.inputs[0];
    ops = ops.slice(0, -1);
  }
  const producer = new Map<number, Op>();
  for (const op of ops) for (const t of op.outputs) producer.set(t, op);
  const layers: TrainableLayer[] = [];
  for (const op of ops) {
    if (!BACKWARD_OPS.has(op.kind)) throw new Error(`training cannot backpropagate through ${op.kind} at node ${op.index}`);
    if (model.tensors[op.inputs[0]].dtype !== 'int8') throw new Error(`training needs int8 activations; ${op.kind} at node ${op.index} reads ${model.tensors[op.inputs[0]].dtype}`);
    if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D' || op.kind === 'FULLY_CONNECTED') {
      if (op.kind === 'DEPTHWISE_CONV_2D' && op.options.depthMultiplier !== 1) throw new Error(`training supports depth multiplier 1 only (node ${op.index})`);
      if ((op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') && (op.options.dilationH !== 1 || op.options.dilationW !== 1)) {
        throw new Error(`training does not support dilated convolution (node ${op.index})`);
      }
      if (op.inputs[2] === undefined || op.inputs[2] < 0) throw new Error(`${op.kind} at node ${op.index} has no bias to train`);
      const w = model.tensors[op.inputs[1]];
      const out = model.tensors[op.outputs[0]];
      layers.push({
        position: layers.length,
        opIndex: op.index,
        kind: op.kind,
        input: op.inputs[0],
        weight: op.inputs[1],
        bias: op.inputs[2],
        output: op.outputs[0],
        inChannels: op.kind === 'FULLY_CONNECTED' ? w.shape[1] : op.kind === 'CONV_2D' ? w.shape[3] : w.shape[3],
        outChannels: out.shape[out.shape.length - 1],
        isClassifier: false,
      });
    }
  }
  const classifier = layers[layers.length - 1];
  if (!classifier || classifier.kind !== 'FULLY_CONNECTED' || classifier.output !== logits) {
    throw new Error('training needs a FULLY_CONNECTED classifier producing the logits');
  }
  classifier.isClassifier = true;
  return { model, layers, logits, ops, producer };
}

/** Elements of a tensor without the batch dimension. */
export function elementsOf(model: Model, tensor: number): number {
  return elementCount(model.tensors[tensor].shape);
}
