import { elementCount, tensorBytes, type Model, type Op, type OpKind } from '../ir';
import { FLASH_BYTES_PER_OP, REQUANT_BYTES_PER_CHANNEL, RUNTIME_FLASH_BYTES } from './footprint';

/** Cost of one op. */
export interface OpCost {
  opIndex: number;
  kind: OpKind;
  /** Multiply-accumulates (conv, depthwise, fully connected, batch matmul and SVDF; 0 for the rest). */
  macs: number;
  /** Elements of the op's weights and biases. */
  params: number;
  outputShape: number[];
}

/** Flash needed by a compiled model, by part. */
export interface FlashEstimate {
  /** int8 (or float) weights and other constant operands. */
  weightBytes: number;
  /** int32 biases. */
  biasBytes: number;
  /** Per output channel multiplier + shift of conv, depthwise and FC. */
  requantBytes: number;
  /** Constant shapes, paddings, permutations and axes. */
  metadataBytes: number;
  /** Generated calls, one per op. */
  opCallBytes: number;
  /** The kernel library (see footprint.ts). */
  runtimeBytes: number;
  totalBytes: number;
}

/** Whole-model cost. */
export interface ModelCost {
  macs: number;
  params: number;
  perOp: OpCost[];
  flash: FlashEstimate;
}

/** Constant inputs that describe shapes rather than hold parameters. */
function isMetadataInput(op: Op, position: number): boolean {
  if (op.kind === 'SPLIT') return position === 0; // the axis comes first
  return position >= 1 && (op.kind === 'RESHAPE' || op.kind === 'PAD' || op.kind === 'TRANSPOSE' || op.kind === 'MEAN' || op.kind === 'STRIDED_SLICE' || op.kind === 'SPLIT_V');
}

/** Multiply-accumulates of one op on its full tensors. */
export function opMacs(model: Model, op: Op): number {
  const out = model.tensors[op.outputs[0]];
  switch (op.kind) {
    case 'CONV_2D': {
      const f = model.tensors[op.inputs[1]].shape; // OHWI
      return elementCount(out.shape) * f[1] * f[2] * f[3];
    }
    case 'DEPTHWISE_CONV_2D': {
      const f = model.tensors[op.inputs[1]].shape; // 1HWO
      return elementCount(out.shape) * f[1] * f[2];
    }
    case 'FULLY_CONNECTED': {
      const f = model.tensors[op.inputs[1]].shape; // [units, in]
      return elementCount(out.shape) * f[1];
    }
    case 'BATCH_MATMUL': {
      // Each output element is one dot product over the inner dimension.
      const lhs = model.tensors[op.inputs[0]].shape;
      const adjX = op.options.adjX;
      return elementCount(out.shape) * lhs[lhs.length - (adjX ? 2 : 1)];
    }
    case 'SVDF': {
      // Feature matmul (filters x input) and time matmul (filters x memory) per batch row.
      const [filters, inputSize] = model.tensors[op.inputs[1]].shape;
      const memory = model.tensors[op.inputs[2]].shape[1];
      return model.tensors[op.inputs[0]].shape[0] * filters * (inputSize + memory);
    }
    default:
      return 0;
  }
}

/** MACs, parameters and the Flash estimate of a model. */
export function modelCost(model: Model): ModelCost {
  const seen = new Set<number>();
  const paramIds = new Set<number>();
  const flash = { weightBytes: 0, biasBytes: 0, requantBytes: 0, metadataBytes: 0 };
  const perOp: OpCost[] = model.ops.map((op) => {
    let params = 0;
    op.inputs.forEach((id, position) => {
      const t = model.tensors[id];
      if (id < 0 || !t?.data) return;
      const metadata = isMetadataInput(op, position);
      if (!metadata) {
        params += elementCount(t.shape);
        paramIds.add(id);
      }
      if (seen.has(id)) return;
      seen.add(id);
      const bytes = tensorBytes(t);
      if (metadata) flash.metadataBytes += bytes;
      else if (position === 2 && t.dtype === 'int32') flash.biasBytes += bytes;
      else flash.weightBytes += bytes;
    });
    if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D' || op.kind === 'FULLY_CONNECTED') {
      const out = model.tensors[op.outputs[0]];
      flash.requantBytes += out.shape[out.shape.length - 1] * REQUANT_BYTES_PER_CHANNEL;
    }
    return { opIndex: op.index, kind: op.kind, macs: opMacs(model, op), params, outputShape: [...model.tensors[op.outputs[0]].shape] };
  });
  const opCallBytes = model.ops.length * FLASH_BYTES_PER_OP;
  const totalBytes = flash.weightBytes + flash.biasBytes + flash.requantBytes + flash.metadataBytes + opCallBytes + RUNTIME_FLASH_BYTES;
  return {
    macs: perOp.reduce((s, c) => s + c.macs, 0),
    params: [...paramIds].reduce((s, id) => s + elementCount(model.tensors[id].shape), 0),
    perOp,
    flash: { ...flash, opCallBytes, runtimeBytes: RUNTIME_FLASH_BYTES, totalBytes },
  };
}
