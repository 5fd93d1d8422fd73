import type { Activation, OpKind, OpOptionsByKind, Padding } from '../ir';
import { ModelFormatError, UnsupportedOpError } from './errors';
import type { FlatBufferReader } from './flatbuffer';
import { activation, padding } from './schema';

/**
 * Reads the builtin options table of one op into the IR's options. Absent tables and fields take
 * TFLite's schema defaults (e.g. stride 0, which validation then rejects for convolutions).
 */
/** The node index in a `node N` location. */
function nodeIndex(where: string): number {
  return Number(/node (\d+)/.exec(where)?.[1] ?? -1);
}

export function readOptions<K extends OpKind>(fb: FlatBufferReader, kind: K, table: number, where: string): OpOptionsByKind[K] {
  const i32 = (slot: number, fallback: number) => (table ? fb.scalarI32(table, slot, fallback) : fallback);
  const u8 = (slot: number, fallback: number) => (table ? fb.scalarU8(table, slot, fallback) : fallback);
  const act = (slot: number): Activation => {
    const a = activation(u8(slot, 0));
    if (a === null) throw new ModelFormatError(`${where}: invalid fused activation code ${u8(slot, 0)}`);
    return a;
  };
  const pad = (slot: number): Padding => {
    const p = padding(u8(slot, 0));
    if (p === null) throw new ModelFormatError(`${where}: invalid padding code ${u8(slot, 0)}`);
    return p;
  };
  const ints = (slot: number, what: string) => (table ? fb.int32s(table, slot, `${where} ${what}`) : null);

  const options = ((): OpOptionsByKind[OpKind] => {
    switch (kind) {
      case 'CONV_2D':
        return { padding: pad(0), strideW: i32(1, 0), strideH: i32(2, 0), activation: act(3), dilationW: i32(4, 1), dilationH: i32(5, 1) };
      case 'DEPTHWISE_CONV_2D':
        return {
          padding: pad(0), strideW: i32(1, 0), strideH: i32(2, 0), depthMultiplier: i32(3, 0), activation: act(4),
          dilationW: i32(5, 1), dilationH: i32(6, 1),
        };
      case 'FULLY_CONNECTED': {
        const weightsFormat = u8(1, 0);
        if (weightsFormat !== 0) throw new ModelFormatError(`${where}: shuffled FULLY_CONNECTED weights (format ${weightsFormat}) are not supported`);
        return { activation: act(0), keepNumDims: u8(2, 0) !== 0 };
      }
      case 'ADD':
      case 'MUL':
        return { activation: act(0) };
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D':
        return { padding: pad(0), strideW: i32(1, 0), strideH: i32(2, 0), filterW: i32(3, 0), filterH: i32(4, 0), activation: act(5) };
      case 'MEAN':
        return { keepDims: u8(0, 0) !== 0 };
      case 'RESHAPE': {
        const newShape = ints(0, 'new_shape');
        return newShape ? { newShape } : {};
      }
      case 'SQUEEZE':
        return { squeezeDims: ints(0, 'squeeze_dims') ?? [] };
      case 'SOFTMAX':
        return { beta: table ? fb.scalarF32(table, 0, 0) : 0 };
      case 'CONCATENATION':
        return { axis: i32(0, 0), activation: act(1) };
      case 'RESIZE_NEAREST_NEIGHBOR':
        return { alignCorners: u8(0, 0) !== 0, halfPixelCenters: u8(1, 0) !== 0 };
      case 'SUB':
        return { activation: act(0) };
      case 'LEAKY_RELU':
        return { alpha: table ? fb.scalarF32(table, 0, 0) : 0 };
      case 'STRIDED_SLICE': {
        // StridedSliceOptions: begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask, offset.
        const ellipsis = i32(2, 0), newAxis = i32(3, 0), offset = u8(5, 0);
        if (ellipsis || newAxis || offset) throw new UnsupportedOpError([{ node: nodeIndex(where), op: kind, detail: `${ellipsis ? 'ellipsis_mask' : newAxis ? 'new_axis_mask' : 'offset'} is not supported` }]);
        return { beginMask: i32(0, 0), endMask: i32(1, 0), shrinkAxisMask: i32(4, 0) };
      }
      case 'SPLIT':
      case 'SPLIT_V':
        return { numSplits: i32(0, 0) };
      case 'PACK':
      case 'UNPACK':
        // PackOptions: values_count, axis; UnpackOptions: num, axis.
        return { count: i32(0, 0), axis: i32(1, 0) };
      case 'GATHER': {
        const batchDims = i32(1, 0);
        if (batchDims !== 0) throw new UnsupportedOpError([{ node: nodeIndex(where), op: kind, detail: `batch_dims ${batchDims} is not supported` }]);
        return { axis: i32(0, 0) };
      }
      case 'BATCH_MATMUL':
        // BatchMatMulOptions: adj_x, adj_y, asymmetric_quantize_inputs (hybrid models only).
        return { adjX: u8(0, 0) !== 0, adjY: u8(1, 0) !== 0 };
      case 'MAXIMUM':
      case 'MINIMUM':
      case 'SQUARED_DIFFERENCE':
      case 'PRELU':
      case 'RSQRT':
      case 'LOG_SOFTMAX':
        return {};
      case 'SVDF':
        // SVDFOptions: rank, fused_activation_function, asymmetric_quantize_inputs (hybrid models only).
        return { rank: i32(0, 0), activation: act(1) };
      case 'PAD':
      case 'LOGISTIC':
      case 'HARD_SWISH':
      case 'RELU':
      case 'RELU6':
      case 'TRANSPOSE':
      case 'QUANTIZE':
      case 'DEQUANTIZE':
        return {};
    }
  })();
  return options as OpOptionsByKind[K];
}
