import type { Activation, DType, Model, Op, Tensor } from '../ir';
import { type FieldSpec, FlatBufferBuilder } from './flatbuffer-builder';
import { BUILTIN_OPERATOR_NAMES, F } from './schema';

export interface WriteTfliteOptions {
  /**
   * Store constant data after the flatbuffer (Buffer.offset/size), as TFLite does for models
   * above 2 GB, instead of inside it (Buffer.data).
   */
  externalBuffers?: boolean;
}

const TENSOR_TYPE: Record<DType, number> = { float32: 0, int32: 2, uint8: 3, int64: 4, bool: 6, int16: 7, int8: 9 };
const ACTIVATION: Record<Activation, number> = { none: 0, relu: 1, relu_n1_to_1: 2, relu6: 3, tanh: 4, sign_bit: 5 };
const padding = (p: 'same' | 'valid') => (p === 'same' ? 0 : 1);

/** BuiltinOptions union member and fields of an op's options (null: TFLite needs none). */
function optionsOf(op: Op): { type: number; fields: FieldSpec[]; newShape?: number[] } | null {
  const u8 = (slot: number, value: number): FieldSpec => ({ slot, type: 'u8', value });
  const i32 = (slot: number, value: number): FieldSpec => ({ slot, type: 'i32', value });
  switch (op.kind) {
    case 'CONV_2D': {
      const o = op.options;
      return { type: 1, fields: [u8(0, padding(o.padding)), i32(1, o.strideW), i32(2, o.strideH), u8(3, ACTIVATION[o.activation]), i32(4, o.dilationW), i32(5, o.dilationH)] };
    }
    case 'DEPTHWISE_CONV_2D': {
      const o = op.options;
      return { type: 2, fields: [u8(0, padding(o.padding)), i32(1, o.strideW), i32(2, o.strideH), i32(3, o.depthMultiplier), u8(4, ACTIVATION[o.activation]), i32(5, o.dilationW), i32(6, o.dilationH)] };
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const o = op.options;
      return { type: 5, fields: [u8(0, padding(o.padding)), i32(1, o.strideW), i32(2, o.strideH), i32(3, o.filterW), i32(4, o.filterH), u8(5, ACTIVATION[o.activation])] };
    }
    case 'GATHER':
      return { type: 23, fields: [i32(0, op.options.axis), i32(1, 0)] };
    case 'SUB':
      return { type: 28, fields: [u8(0, ACTIVATION[op.options.activation])] };
    case 'STRIDED_SLICE': {
      const o = op.options;
      return { type: 32, fields: [i32(0, o.beginMask), i32(1, o.endMask), i32(2, 0), i32(3, 0), i32(4, o.shrinkAxisMask)] };
    }
    case 'SPLIT':
      return { type: 35, fields: [i32(0, op.options.numSplits)] };
    case 'MAXIMUM':
    case 'MINIMUM':
      return { type: 39, fields: [] };
    case 'PACK':
      return { type: 59, fields: [i32(0, op.options.count), i32(1, op.options.axis)] };
    case 'UNPACK':
      return { type: 64, fields: [i32(0, op.options.count), i32(1, op.options.axis)] };
    case 'LEAKY_RELU':
      return { type: 75, fields: [{ slot: 0, type: 'f32', value: op.options.alpha }] };
    case 'SQUARED_DIFFERENCE':
      return { type: 76, fields: [] };
    case 'SPLIT_V':
      return { type: 79, fields: [i32(0, op.options.numSplits)] };
    case 'BATCH_MATMUL':
      return { type: 101, fields: [u8(0, op.options.adjX ? 1 : 0), u8(1, op.options.adjY ? 1 : 0)] };
    case 'SVDF':
      return { type: 6, fields: [i32(0, op.options.rank), u8(1, ACTIVATION[op.options.activation])] };
    case 'FULLY_CONNECTED':
      return { type: 8, fields: [u8(0, ACTIVATION[op.options.activation]), u8(1, 0), u8(2, op.options.keepNumDims ? 1 : 0)] };
    case 'SOFTMAX':
      return { type: 9, fields: [{ slot: 0, type: 'f32', value: op.options.beta }] };
    case 'CONCATENATION':
      return { type: 10, fields: [i32(0, op.options.axis), u8(1, ACTIVATION[op.options.activation])] };
    case 'ADD':
      return { type: 11, fields: [u8(0, ACTIVATION[op.options.activation])] };
    case 'RESHAPE':
      return op.options.newShape ? { type: 17, fields: [{ slot: 0, type: 'ref' }], newShape: op.options.newShape } : null;
    case 'MUL':
      return { type: 21, fields: [u8(0, ACTIVATION[op.options.activation])] };
    case 'MEAN':
      return { type: 27, fields: [u8(0, op.options.keepDims ? 1 : 0)] };
    case 'SQUEEZE':
      return { type: 30, fields: [{ slot: 0, type: 'ref' }], newShape: op.options.squeezeDims };
    case 'RESIZE_NEAREST_NEIGHBOR':
      return { type: 74, fields: [u8(0, op.options.alignCorners ? 1 : 0), u8(1, op.options.halfPixelCenters ? 1 : 0)] };
    default:
      return null;
  }
}

/**
 * Writes a model as a TFLite flatbuffer (schema version 3, one subgraph): the engine's export
 * format, and how tests build models of their own for the reader and the TFLite oracle.
 */
export function writeTflite(model: Model, options: WriteTfliteOptions = {}): Uint8Array {
  const b = new FlatBufferBuilder();
  const header = b.bytes(new Uint8Array([0, 0, 0, 0, 0x54, 0x46, 0x4c, 0x33])); // root offset, "TFL3"

  const kinds = [...new Set(model.ops.map((o) => o.kind))];
  const constants = model.tensors.filter((t) => t.data);
  const bufferIndex = new Map<number, number>(constants.map((t, i) => [t.id, i + 1]));

  const root = b.table([
    { slot: F.model.version, type: 'u32', value: 3 },
    { slot: F.model.operatorCodes, type: 'ref' },
    { slot: F.model.subgraphs, type: 'ref' },
    ...(model.description ? [{ slot: F.model.description, type: 'ref' } as FieldSpec] : []),
    { slot: F.model.buffers, type: 'ref' },
  ]);
  b.link(header, root.pos);

  const codes = b.vectorRefs(kinds.length);
  b.link(root.at.get(F.model.operatorCodes)!, codes.pos);
  kinds.forEach((kind, i) => {
    const code = BUILTIN_OPERATOR_NAMES.indexOf(kind);
    const t = b.table([
      { slot: F.operatorCode.deprecatedBuiltinCode, type: 'u8', value: Math.min(code, 127) },
      { slot: F.operatorCode.version, type: 'i32', value: 1 },
      { slot: F.operatorCode.builtinCode, type: 'i32', value: code },
    ]);
    b.link(codes.slots[i], t.pos);
  });

  const subgraphs = b.vectorRefs(1);
  b.link(root.at.get(F.model.subgraphs)!, subgraphs.pos);
  const sg = b.table([0, 1, 2, 3, 4].map((slot) => ({ slot, type: 'ref' }) as FieldSpec));
  b.link(subgraphs.slots[0], sg.pos);

  const tensors = b.vectorRefs(model.tensors.length);
  b.link(sg.at.get(F.subgraph.tensors)!, tensors.pos);
  model.tensors.forEach((t, i) => b.link(tensors.slots[i], writeTensor(b, t, bufferIndex.get(t.id) ?? 0)));
  b.link(sg.at.get(F.subgraph.inputs)!, b.vectorI32(model.inputs));
  b.link(sg.at.get(F.subgraph.outputs)!, b.vectorI32(model.outputs));
  const operators = b.vectorRefs(model.ops.length);
  b.link(sg.at.get(F.subgraph.operators)!, operators.pos);
  model.ops.forEach((op, i) => {
    const opts = optionsOf(op);
    const t = b.table([
      { slot: F.operator.opcodeIndex, type: 'u32', value: kinds.indexOf(op.kind) },
      { slot: F.operator.inputs, type: 'ref' },
      { slot: F.operator.outputs, type: 'ref' },
      ...(opts ? [{ slot: F.operator.builtinOptionsType, type: 'u8', value: opts.type } as FieldSpec, { slot: F.operator.builtinOptions, type: 'ref' } as FieldSpec] : []),
    ]);
    b.link(operators.slots[i], t.pos);
    b.link(t.at.get(F.operator.inputs)!, b.vectorI32(op.inputs));
    b.link(t.at.get(F.operator.outputs)!, b.vectorI32(op.outputs));
    if (opts) {
      const o = b.table(opts.fields);
      b.link(t.at.get(F.operator.builtinOptions)!, o.pos);
      if (opts.newShape) b.link(o.at.get(0)!, b.vectorI32(opts.newShape));
    }
  });
  b.link(sg.at.get(F.subgraph.name)!, b.string(model.name));
  if (model.description) b.link(root.at.get(F.model.description)!, b.string(model.description));

  const buffers = b.vectorRefs(constants.length + 1);
  b.link(root.at.get(F.model.buffers)!, buffers.pos);
  b.link(buffers.slots[0], b.table([]).pos);
  const external: { offsetField: number; data: Uint8Array }[] = [];
  constants.forEach((t, i) => {
    if (options.externalBuffers) {
      const buf = b.table([{ slot: F.buffer.offset, type: 'u64', value: 0 }, { slot: F.buffer.size, type: 'u64', value: t.data!.byteLength }]);
      external.push({ offsetField: buf.at.get(F.buffer.offset)!, data: t.data! });
      b.link(buffers.slots[i + 1], buf.pos);
    } else {
      const buf = b.table([{ slot: F.buffer.data, type: 'ref' }]);
      b.link(buffers.slots[i + 1], buf.pos);
      b.link(buf.at.get(F.buffer.data)!, b.vectorBytes(t.data!));
    }
  });
  return appendExternal(b, external);
}

function writeTensor(b: FlatBufferBuilder, t: Tensor, buffer: number): number {
  const table = b.table([
    { slot: F.tensor.shape, type: 'ref' },
    { slot: F.tensor.type, type: 'u8', value: TENSOR_TYPE[t.dtype] },
    { slot: F.tensor.buffer, type: 'u32', value: buffer },
    { slot: F.tensor.name, type: 'ref' },
    ...(t.quant ? [{ slot: F.tensor.quantization, type: 'ref' } as FieldSpec] : []),
    ...(t.isVariable ? [{ slot: F.tensor.isVariable, type: 'u8', value: 1 } as FieldSpec] : []),
  ]);
  b.link(table.at.get(F.tensor.shape)!, b.vectorI32(t.shape));
  b.link(table.at.get(F.tensor.name)!, b.string(t.name));
  if (t.quant) {
    const q = b.table([
      { slot: F.quantization.scale, type: 'ref' },
      { slot: F.quantization.zeroPoint, type: 'ref' },
      { slot: F.quantization.quantizedDimension, type: 'i32', value: t.quant.axis },
    ]);
    b.link(table.at.get(F.tensor.quantization)!, q.pos);
    b.link(q.at.get(F.quantization.scale)!, b.vectorF32(t.quant.scale));
    b.link(q.at.get(F.quantization.zeroPoint)!, b.vectorI64(t.quant.zeroPoint));
  }
  return table.pos;
}

/** Appends buffers stored outside the flatbuffer and fills in their offsets (from the start of the file). */
function appendExternal(b: FlatBufferBuilder, external: { offsetField: number; data: Uint8Array }[]): Uint8Array {
  if (external.length === 0) return b.finish();
  const positions = external.map((e) => {
    b.align(16);
    return b.bytes(e.data);
  });
  const out = b.finish();
  const view = new DataView(out.buffer);
  external.forEach((e, i) => view.setBigUint64(e.offsetField, BigInt(positions[i]), true));
  return out;
}
