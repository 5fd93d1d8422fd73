import type { Model, Op } from '../../engine/ir';

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
  /** The tensor holding the logits (the int8 input of a final SOFTMAX / DEQUANTIZE, if any). */
  logits: number;
  /** Ops up to and including the one producing the logits. */
  ops: Op[];
  producer: Map<number, Op>;
  /**
   * Ops the backward pass cannot go through, with the reason. They are fine as long as no scheme
   * asks for an update upstream of them (e.g. a QUANTIZE of a float input, or a TRANSPOSE in front).
   */
  unsupported: Map<number, string>;
}

/** Analyses a single-input classifier model for training. */
export function analyseGraph(model: Model): TrainGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`training needs a model with one input and one output (got ${model.inputs.length} and ${model.outputs.length})`);
  }
  let ops = model.ops;
  let logits = model.outputs[0];
  // Softmax and a float output conversion after the classifier do not change the argmax; training
  // works on their int8 input.
  for (;;) {
    const last = ops[ops.length - 1];
    if (!last || (last.kind !== 'SOFTMAX' && last.kind !== 'DEQUANTIZE') || last.outputs[0] !== logits) break;
    logits = last.inputs[0];
    ops = ops.slice(0, -1);
  }
  const producer = new Map<number, Op>();
  for (const op of ops) for (const t of op.outputs) producer.set(t, op);
  const layers: TrainableLayer[] = [];
  const unsupported = new Map<number, string>();
  for (const op of ops) {
    const reason = unsupportedReason(model, op);
    if (reason) {
      unsupported.set(op.index, reason);
      continue;
    }
    if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D' || op.kind === 'FULLY_CONNECTED') {
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
        inChannels: op.kind === 'FULLY_CONNECTED' ? w.shape[1] : w.shape[3],
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
  return { model, layers, logits, ops, producer, unsupported };
}

function unsupportedReason(model: Model, op: Op): string | null {
  if (!BACKWARD_OPS.has(op.kind)) return `${op.kind} has no backward`;
  const input = model.tensors[op.inputs[0]];
  if (input.dtype !== 'int8') return `it reads ${input.dtype} activations`;
  if (op.kind === 'DEPTHWISE_CONV_2D' && op.options.depthMultiplier !== 1) return 'depth multiplier is not 1';
  if ((op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') && (op.options.dilationH !== 1 || op.options.dilationW !== 1)) return 'dilated convolution';
  if ((op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D' || op.kind === 'FULLY_CONNECTED') && !(op.inputs[2] >= 0)) return 'it has no bias';
  if (op.kind === 'AVERAGE_POOL_2D' || op.kind === 'MEAN') {
    const x = input.shape;
    if (x.length !== 4) return 'input is not NHWC';
    if (op.kind === 'AVERAGE_POOL_2D' && !(op.options.filterH === x[1] && op.options.filterW === x[2] && op.options.padding === 'valid')) return 'only global pooling is supported';
  }
  return null;
}
