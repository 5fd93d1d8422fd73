import { type Model, type Op, type OpOf, type Tensor, elementCount } from '../ir';
import { normalizeAxes } from '../tflite/validate';
import { constInt32s } from './constants';
import { multiplyByQuantizedMultiplier, quantizeMultiplier } from './fixed-point';
import { windowGeometry } from './geometry';
import { prepareActivation, requireTflmProbabilityOutput } from './prepare-activations';
import { type RoundingMode, activationRange, channelMultipliers, dtypeRange } from './requantize';
import { type HardSwishParams, type ReluParams, hardSwish, lookup, relu } from './kernels/activations';
import type { LogisticTflmParams } from './kernels/logistic-tflm';
import { type ConvParams, conv2d, convPatch } from './kernels/conv';
import { type ConcatParams, type ElementArray, type PadParams, type ResizeNearestParams, type TransposeParams, concatenation, pad, resizeNearest, transpose } from './kernels/data-movement';
import { type DepthwiseParams, depthwiseAccumulators, depthwiseConv2d } from './kernels/depthwise';
import { depthwiseConv2dInPlace, depthwisePlaneBytes } from './kernels/depthwise-in-place';
import { type AddParams, type Broadcast4D, type MulParams, add, addInputTables, broadcast4D, mul } from './kernels/elementwise';
import { type FullyConnectedParams, fullyConnected } from './kernels/fully-connected';
import { type MeanParams, mean } from './kernels/mean';
import { type PoolParams, averagePool, maxPool } from './kernels/pooling';
import { type DequantizeParams, type IntegerArray, type QuantizeParams, type RequantizeParams, dequantize, quantizeFloat, requantize } from './kernels/quantize';
import { type SoftmaxParams, softmax, softmaxTable } from './kernels/softmax';
import { type SoftmaxTflmParams, softmaxTflm, softmaxTflmParams } from './kernels/softmax-tflm';
import { type SvdfParams, svdf } from './kernels/svdf';
import { type BatchMatMulParams, batchMatMul } from './kernels/batch-matmul';
import { type GatherParams, gather } from './kernels/gather';
import { type LogSoftmaxParams, logSoftmax, logSoftmaxParams } from './kernels/log-softmax';
import { type RsqrtParams, rsqrt } from './kernels/rsqrt';
import { type LeakyReluParams, leakyRelu } from './kernels/leaky-relu';
import { maximum, minimum } from './kernels/maximum-minimum';
import { type PreluParams, prelu } from './kernels/prelu';
import { type SquaredDifferenceParams, squaredDifference } from './kernels/squared-difference';
import { type StridedCopyParams, stridedCopy, stridedSliceGeometry } from './kernels/strided-copy';
import { sub } from './kernels/sub';

/** A typed view of one tensor's elements. */
export type TensorView = ElementArray;

/** The kernel an op runs, with its precomputed parameters (multipliers, geometry, tables). */
export type PreparedKernel =
  | { kind: 'conv2d'; params: ConvParams }
  | { kind: 'depthwise'; params: DepthwiseParams }
  | { kind: 'fullyConnected'; params: FullyConnectedParams }
  | { kind: 'averagePool' | 'maxPool'; params: PoolParams }
  | { kind: 'add'; params: AddParams }
  | { kind: 'mul'; params: MulParams }
  | { kind: 'mean'; params: MeanParams }
  | { kind: 'softmax'; params: SoftmaxParams }
  | { kind: 'softmaxTflm'; params: SoftmaxTflmParams }
  | { kind: 'relu'; params: ReluParams }
  | { kind: 'lookup'; table: Int8Array }
  /** TFLite Micro's LOGISTIC: `table` is its output for every int8 input, `params` what the C kernel computes it from. */
  | { kind: 'logisticTflm'; params: LogisticTflmParams; table: Int8Array }
  | { kind: 'hardSwish'; params: HardSwishParams }
  | { kind: 'pad'; params: PadParams }
  | { kind: 'transpose'; params: TransposeParams }
  | { kind: 'concatenation'; params: ConcatParams }
  | { kind: 'resizeNearest'; params: ResizeNearestParams }
  | { kind: 'copy' }
  | { kind: 'quantize'; params: QuantizeParams }
  | { kind: 'requantize'; params: RequantizeParams }
  | { kind: 'dequantize'; params: DequantizeParams }
  | { kind: 'svdf'; params: SvdfParams }
  | { kind: 'sub'; params: AddParams }
  | { kind: 'squaredDifference'; params: SquaredDifferenceParams }
  | { kind: 'maximum' | 'minimum'; params: Broadcast4D }
  | { kind: 'leakyRelu'; params: LeakyReluParams }
  | { kind: 'prelu'; params: PreluParams }
  /** STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK: one strided read of the data input per output. */
  | { kind: 'stridedCopy'; data: number; params: StridedCopyParams[] }
  /** GATHER; `indices` holds constant indices (null: they are an activation). */
  | { kind: 'gather'; params: GatherParams; indices: Int32Array | null }
  | { kind: 'batchMatMul'; params: BatchMatMulParams }
  | { kind: 'rsqrt'; params: RsqrtParams }
  | { kind: 'logSoftmax'; params: LogSoftmaxParams };

/** An op ready to run: which tensors it reads and writes, and its kernel. */
export interface PreparedOp {
  op: Op;
  /** Tensor ids read (a fused PAD's consumer reads the PAD's input); -1 for an omitted optional input. */
  inputs: number[];
  outputs: number[];
  kernel: PreparedKernel;
}

/** A PAD folded into the conv/depthwise that consumes it: the consumer reads `input` with extra H/W padding. */
export interface FusedPad {
  input: number;
  padTop: number;
  padLeft: number;
}

const q = (t: Tensor) => ({ scale: t.quant?.scale[0] ?? 1, zeroPoint: t.quant?.zeroPoint[0] ?? 0 });

/** Copies a constant's little-endian bytes into an aligned typed array. */
function int32Data(t: Tensor): Int32Array {
  const out = new Int32Array(elementCount(t.shape));
  const view = new DataView(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true);
  return out;
}

function int16Data(t: Tensor): Int16Array {
  const out = new Int16Array(elementCount(t.shape));
  const view = new DataView(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true);
  return out;
}

function int8Data(t: Tensor): Int8Array {
  return new Int8Array(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
}

/**
 * Precomputes everything an op's kernel needs (TFLite's Prepare): multipliers, activation ranges,
 * geometry, lookup tables and working arrays. `fusedPad` runs a CONV_2D/DEPTHWISE_CONV_2D on the
 * input of the PAD before it, with the PAD's H/W padding added to its own.
 */
export function prepareOp(model: Model, op: Op, rounding: RoundingMode, fusedPad?: FusedPad): PreparedOp {
  const T = model.tensors;
  const inputs = [...op.inputs];
  if (fusedPad) {
    if (op.kind !== 'CONV_2D' && op.kind !== 'DEPTHWISE_CONV_2D') throw new Error(`node ${op.index}: a PAD can only be fused into a convolution, not ${op.kind}`);
    inputs[0] = fusedPad.input;
  }
  const out = T[op.outputs[0]];
  const kernel = ((): PreparedKernel => {
    switch (op.kind) {
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D':
        return prepareConv(model, op, rounding, fusedPad);
      case 'FULLY_CONNECTED': {
        const input = T[op.inputs[0]], weights = T[op.inputs[1]];
        const [units, depth] = weights.shape;
        const [actMin, actMax] = activationRange(op.options.activation, out.dtype, out.quant);
        const { multiplier, shift } = channelMultipliers(q(input).scale, weights.quant?.scale ?? [1], q(out).scale, units);
        return {
          kind: 'fullyConnected',
          params: {
            rows: elementCount(input.shape) / depth, depth, units, inputOffset: -q(input).zeroPoint, outputOffset: q(out).zeroPoint, actMin, actMax,
            weights: int8Data(weights), bias: op.inputs[2] >= 0 && op.inputs[2] !== undefined ? int32Data(T[op.inputs[2]]) : null,
            multiplier, shift, singleRounding: rounding === 'tflite', row: new Int32Array(depth),
          },
        };
      }
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D': {
        const input = T[op.inputs[0]];
        const [batches, inH, inW, channels] = input.shape;
        const o = op.options;
        const g = windowGeometry(inH, inW, o.filterH, o.filterW, o);
        const [actMin, actMax] = activationRange(o.activation, out.dtype, out.quant);
        return {
          kind: op.kind === 'AVERAGE_POOL_2D' ? 'averagePool' : 'maxPool',
          params: {
            batches, inH, inW, channels, outH: g.outH, outW: g.outW, filterH: o.filterH, filterW: o.filterW, strideH: o.strideH, strideW: o.strideW,
            padTop: g.padTop, padLeft: g.padLeft, actMin, actMax, acc: new Int32Array(channels),
          },
        };
      }
      case 'ADD':
        return { kind: 'add', params: prepareAdd(model, op) };
      case 'MUL': {
        const a = T[op.inputs[0]], b = T[op.inputs[1]];
        // mul.cc computes the real multiplier in float: input1_scale * input2_scale / output_scale.
        const real = Math.fround(Math.fround(Math.fround(q(a).scale) * Math.fround(q(b).scale)) / Math.fround(q(out).scale));
        const m = quantizeMultiplier(real);
        const [actMin, actMax] = activationRange(op.options.activation, out.dtype, out.quant);
        return {
          kind: 'mul',
          params: {
            broadcast: broadcast4D(a.shape, b.shape, out.shape), input1Offset: -q(a).zeroPoint, input2Offset: -q(b).zeroPoint,
            outputOffset: q(out).zeroPoint, outputMultiplier: m.multiplier, outputShift: m.shift, actMin, actMax,
          },
        };
      }
      case 'MEAN':
        return { kind: 'mean', params: prepareMean(model, op, rounding) };
      case 'SOFTMAX': {
        const input = T[op.inputs[0]];
        const depth = input.shape[input.shape.length - 1] ?? 1;
        const rows = elementCount(input.shape) / depth;
        const [outMin, outMax] = dtypeRange(out.dtype);
        if (rounding === 'tflm') {
          requireTflmProbabilityOutput(`SOFTMAX at node ${op.index}`, out);
          return { kind: 'softmaxTflm', params: softmaxTflmParams(q(input).scale, op.options.beta, rows, depth, out.dtype === 'int16' ? 16 : 8) };
        }
        return {
          kind: 'softmax',
          params: { rows, depth, table: softmaxTable(q(input).scale, op.options.beta), outputScale: q(out).scale, outputZeroPoint: q(out).zeroPoint, outMin, outMax },
        };
      }
      case 'LOGISTIC':
      case 'HARD_SWISH':
      case 'RELU':
      case 'RELU6':
        return prepareActivation(op.kind, T[op.inputs[0]], out, rounding, `${op.kind} at node ${op.index}`);
      case 'PAD': {
        const input = T[op.inputs[0]];
        const pads = constInt32s(T[op.inputs[1]])!;
        // Leading dimensions up to 4-D are size 1 with no padding.
        const lead = 4 - input.shape.length;
        const four = (f: (i: number) => number, fill: number) => [0, 1, 2, 3].map((i) => (i < lead ? fill : f(i - lead))) as [number, number, number, number];
        return {
          kind: 'pad',
          params: {
            inShape: four((i) => input.shape[i], 1), before: four((i) => pads[2 * i], 0), after: four((i) => pads[2 * i + 1], 0),
            value: input.dtype === 'int8' || input.dtype === 'uint8' ? q(out).zeroPoint : 0,
          },
        };
      }
      case 'TRANSPOSE':
        return { kind: 'transpose', params: { inShape: [...T[op.inputs[0]].shape], perm: constInt32s(T[op.inputs[1]])! } };
      case 'CONCATENATION': {
        const axis = op.options.axis;
        const outer = elementCount(out.shape.slice(0, axis));
        const inner = elementCount(out.shape.slice(axis + 1));
        return { kind: 'concatenation', params: { outer, chunk: op.inputs.map((id) => T[id].shape[axis] * inner) } };
      }
      case 'RESIZE_NEAREST_NEIGHBOR': {
        const [batches, inH, inW, channels] = T[op.inputs[0]].shape;
        return {
          kind: 'resizeNearest',
          params: { batches, inH, inW, channels, outH: out.shape[1], outW: out.shape[2], alignCorners: op.options.alignCorners, halfPixelCenters: op.options.halfPixelCenters },
        };
      }
      case 'RESHAPE':
      case 'SQUEEZE':
        return { kind: 'copy' };
      case 'QUANTIZE': {
        const input = T[op.inputs[0]];
        const [min, max] = dtypeRange(out.dtype);
        if (input.dtype === 'float32') return { kind: 'quantize', params: { scale: q(out).scale, zeroPoint: q(out).zeroPoint, min, max } };
        const m = quantizeMultiplier(q(input).scale / q(out).scale);
        return { kind: 'requantize', params: { inputZeroPoint: q(input).zeroPoint, outputZeroPoint: q(out).zeroPoint, multiplier: m.multiplier, shift: m.shift, min, max } };
      }
      case 'DEQUANTIZE':
        return { kind: 'dequantize', params: { scale: q(T[op.inputs[0]]).scale, zeroPoint: q(T[op.inputs[0]]).zeroPoint } };
      case 'SVDF':
        return { kind: 'svdf', params: prepareSvdf(model, op) };
      case 'SUB':
        return { kind: 'sub', params: prepareAdd(model, op) };
      case 'SQUARED_DIFFERENCE':
        return { kind: 'squaredDifference', params: prepareSquaredDifference(model, op) };
      case 'MAXIMUM':
      case 'MINIMUM':
        return { kind: op.kind === 'MAXIMUM' ? 'maximum' : 'minimum', params: broadcast4D(T[op.inputs[0]].shape, T[op.inputs[1]].shape, out.shape) };
      case 'LEAKY_RELU': {
        // activations.cc LeakyReluPrepare: both real multipliers are float32 arithmetic.
        const f = Math.fround;
        const inScale = f(q(T[op.inputs[0]]).scale), outScale = f(q(out).scale);
        const identity = quantizeMultiplier(f(inScale / outScale));
        const alpha = quantizeMultiplier(f(f(inScale * f(op.options.alpha)) / outScale));
        return {
          kind: 'leakyRelu',
          params: { inputZeroPoint: q(T[op.inputs[0]]).zeroPoint, outputZeroPoint: q(out).zeroPoint, identityMultiplier: identity.multiplier, identityShift: identity.shift, alphaMultiplier: alpha.multiplier, alphaShift: alpha.shift },
        };
      }
      case 'PRELU': {
        // prelu.cc Prepare: float32 products, then QuantizeMultiplier.
        const f = Math.fround;
        const input = T[op.inputs[0]], alpha = T[op.inputs[1]];
        const m1 = quantizeMultiplier(f(f(q(input).scale) / f(q(out).scale)));
        const m2 = quantizeMultiplier(f(f(f(q(input).scale) * f(q(alpha).scale)) / f(q(out).scale)));
        return {
          kind: 'prelu',
          params: {
            broadcast: broadcast4D(input.shape, alpha.shape, out.shape), inputOffset: -q(input).zeroPoint, alphaOffset: -q(alpha).zeroPoint, outputOffset: q(out).zeroPoint,
            multiplier1: m1.multiplier, shift1: m1.shift, multiplier2: m2.multiplier, shift2: m2.shift,
          },
        };
      }
      case 'STRIDED_SLICE': {
        const shape = T[op.inputs[0]].shape;
        const strides = constInt32s(T[op.inputs[3]])!;
        const g = stridedSliceGeometry(shape, constInt32s(T[op.inputs[1]])!, constInt32s(T[op.inputs[2]])!, strides, op.options);
        const elementStrides = rowMajorStrides(shape);
        return {
          kind: 'stridedCopy', data: 0,
          params: [{ start: g.start.reduce((sum, st, i) => sum + (g.counts[i] > 0 ? st * elementStrides[i] : 0), 0), dims: g.counts, strides: elementStrides.map((e, i) => e * strides[i]) }],
        };
      }
      case 'SPLIT':
      case 'SPLIT_V':
      case 'UNPACK': {
        const data = op.kind === 'SPLIT' ? 1 : 0;
        const shape = T[op.inputs[data]].shape;
        let axis: number;
        if (op.kind === 'UNPACK') axis = op.options.axis;
        else {
          const a = constInt32s(T[op.inputs[op.kind === 'SPLIT' ? 0 : 2]])![0];
          axis = a < 0 ? a + shape.length : a;
        }
        const elementStrides = rowMajorStrides(shape);
        let offset = 0;
        const params = op.outputs.map((id) => {
          const size = op.kind === 'UNPACK' ? 1 : T[id].shape[axis];
          const p = { start: offset * elementStrides[axis], dims: shape.map((d, i) => (i === axis ? size : d)), strides: elementStrides };
          offset += size;
          return p;
        });
        return { kind: 'stridedCopy', data, params };
      }
      case 'PACK': {
        // Stacking along `axis` is concatenating inputs viewed with a 1 inserted there.
        const inner = elementCount(T[op.inputs[0]].shape.slice(op.options.axis));
        return { kind: 'concatenation', params: { outer: elementCount(out.shape.slice(0, op.options.axis)), chunk: op.inputs.map(() => inner) } };
      }
      case 'BATCH_MATMUL':
        return { kind: 'batchMatMul', params: prepareBatchMatMul(model, op, rounding) };
      case 'LOG_SOFTMAX': {
        // The same reference kernel in TFLite and TFLite Micro: the rounding mode does not change it.
        const input = T[op.inputs[0]];
        const depth = input.shape[input.shape.length - 1] ?? 1;
        return { kind: 'logSoftmax', params: logSoftmaxParams(q(input).scale, elementCount(input.shape) / depth, depth) };
      }
      case 'RSQRT': {
        // SetRsqrtOutputMultiplier: sqrt and product in float32, the reciprocal in double.
        const input = T[op.inputs[0]];
        const f = Math.fround;
        const m = quantizeMultiplier(1 / f(f(Math.sqrt(f(q(input).scale))) * f(q(out).scale)));
        return { kind: 'rsqrt', params: { inputZeroPoint: q(input).zeroPoint, outputZeroPoint: q(out).zeroPoint, multiplier: m.multiplier, shift: m.shift, what: `RSQRT at node ${op.index}` } };
      }
      case 'GATHER': {
        const input = T[op.inputs[0]], axis = op.options.axis;
        const indices = constInt32s(T[op.inputs[1]]);
        return {
          kind: 'gather',
          params: { outer: elementCount(input.shape.slice(0, axis)), axisSize: input.shape[axis], inner: elementCount(input.shape.slice(axis + 1)), what: `GATHER at node ${op.index}` },
          indices: indices ? Int32Array.from(indices) : null,
        };
      }
    }
  })();
  return { op, inputs, outputs: [...op.outputs], kernel };
}

function prepareConv(model: Model, op: OpOf<'CONV_2D'> | OpOf<'DEPTHWISE_CONV_2D'>, rounding: RoundingMode, fusedPad?: FusedPad): PreparedKernel {
  const T = model.tensors;
  const declared = T[op.inputs[0]];
  const input = fusedPad ? T[fusedPad.input] : declared;
  const filter = T[op.inputs[1]], out = T[op.outputs[0]];
  const [batches, inH, inW, inC] = input.shape;
  const kH = filter.shape[1], kW = filter.shape[2];
  const o = op.options;
  const g = windowGeometry(declared.shape[1], declared.shape[2], kH, kW, o);
  const outC = out.shape[3];
  const [actMin, actMax] = activationRange(o.activation, out.dtype, out.quant);
  const { multiplier, shift } = channelMultipliers(q(input).scale, filter.quant?.scale ?? [1], q(out).scale, outC);
  const common = {
    batches, inH, inW, inC, outH: g.outH, outW: g.outW, outC, kH, kW, strideH: o.strideH, strideW: o.strideW, dilationH: o.dilationH, dilationW: o.dilationW,
    padTop: g.padTop + (fusedPad?.padTop ?? 0), padLeft: g.padLeft + (fusedPad?.padLeft ?? 0),
    inputOffset: -q(input).zeroPoint, outputOffset: q(out).zeroPoint, actMin, actMax,
    filter: int8Data(filter), bias: op.inputs[2] !== undefined && op.inputs[2] >= 0 ? int32Data(T[op.inputs[2]]) : null, multiplier, shift,
  };
  if (op.kind === 'CONV_2D') {
    // TFLite runs CONV_2D through ruy (single rounding); TFLite Micro rounds twice.
    return { kind: 'conv2d', params: { ...common, singleRounding: rounding === 'tflite', patch: convPatch(kH, kW, inC) } };
  }
  // TFLite's own depthwise kernels round twice, like TFLite Micro: the same in both modes.
  return { kind: 'depthwise', params: { ...common, depthMultiplier: outC / inC, singleRounding: false, acc: depthwiseAccumulators(outC) } };
}

/** BATCH_MATMUL: batch offsets of both operands (broadcast), and batch_matmul.cc's float32 multiplier. */
function prepareBatchMatMul(model: Model, op: OpOf<'BATCH_MATMUL'>, rounding: RoundingMode): BatchMatMulParams {
  const T = model.tensors;
  const lhs = T[op.inputs[0]], rhs = T[op.inputs[1]], out = T[op.outputs[0]];
  const f = Math.fround;
  const rows = out.shape[out.shape.length - 2], cols = out.shape[out.shape.length - 1];
  const depth = op.options.adjX ? lhs.shape[lhs.shape.length - 2] : lhs.shape[lhs.shape.length - 1];
  const batch = out.shape.slice(0, -2);
  const offsets = (shape: readonly number[]) => {
    const dims = shape.slice(0, -2);
    const lead = batch.length - dims.length;
    const strides = rowMajorStrides(dims).map((st, i) => (dims[i] === 1 ? 0 : st * elementCount(shape.slice(-2))));
    const result = new Int32Array(elementCount(batch));
    const idx = new Array<number>(batch.length).fill(0);
    for (let b = 0; b < result.length; b++) {
      result[b] = idx.reduce((sum, v, i) => (i < lead ? sum : sum + v * strides[i - lead]), 0);
      for (let d = batch.length - 1; d >= 0 && ++idx[d] === batch[d]; d--) idx[d] = 0;
    }
    return result;
  };
  const m = quantizeMultiplier(f(f(f(q(lhs).scale) * f(q(rhs).scale)) / f(q(out).scale)));
  return {
    lhsOffsets: offsets(lhs.shape), rhsOffsets: offsets(rhs.shape), rows, cols, depth, adjX: op.options.adjX, adjY: op.options.adjY,
    lhsZeroPoint: q(lhs).zeroPoint, rhsZeroPoint: q(rhs).zeroPoint, outputZeroPoint: q(out).zeroPoint,
    multiplier: m.multiplier, shift: m.shift, singleRounding: rounding === 'tflite',
  };
}

/** Element strides of a row-major shape. */
function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** TFLite's int8 SQUARED_DIFFERENCE preparation: left shift 7, inputs rescaled to twice the larger scale. */
function prepareSquaredDifference(model: Model, op: OpOf<'SQUARED_DIFFERENCE'>): SquaredDifferenceParams {
  const T = model.tensors;
  const a = T[op.inputs[0]], b = T[op.inputs[1]], out = T[op.outputs[0]];
  const leftShift = 7;
  const twiceMax = 2 * Math.max(q(a).scale, q(b).scale);
  const m1 = quantizeMultiplier(q(a).scale / twiceMax);
  const m2 = quantizeMultiplier(q(b).scale / twiceMax);
  const mo = quantizeMultiplier((twiceMax * twiceMax) / ((1 << (2 * leftShift)) * q(out).scale));
  const scaled1 = new Int32Array(256), scaled2 = new Int32Array(256);
  for (let x = -128; x <= 127; x++) {
    scaled1[x + 128] = multiplyByQuantizedMultiplier((x - q(a).zeroPoint) * (1 << leftShift), m1.multiplier, m1.shift);
    scaled2[x + 128] = multiplyByQuantizedMultiplier((x - q(b).zeroPoint) * (1 << leftShift), m2.multiplier, m2.shift);
  }
  return {
    broadcast: broadcast4D(a.shape, b.shape, out.shape), scaled1, scaled2, outputMultiplier: mo.multiplier, outputShift: mo.shift, outputOffset: q(out).zeroPoint,
    input1Offset: -q(a).zeroPoint, input1Multiplier: m1.multiplier, input1Shift: m1.shift, input2Offset: -q(b).zeroPoint, input2Multiplier: m2.multiplier, input2Shift: m2.shift,
  };
}

/** TFLite's int8 ADD (and SUB) preparation (add.cc, sub.cc): left shift 20, inputs rescaled to twice the larger input scale. */
function prepareAdd(model: Model, op: OpOf<'ADD'> | OpOf<'SUB'>): AddParams {
  const T = model.tensors;
  const a = T[op.inputs[0]], b = T[op.inputs[1]], out = T[op.outputs[0]];
  const leftShift = 20;
  const twiceMax = 2 * Math.max(q(a).scale, q(b).scale);
  const m1 = quantizeMultiplier(q(a).scale / twiceMax);
  const m2 = quantizeMultiplier(q(b).scale / twiceMax);
  const mo = quantizeMultiplier(twiceMax / ((1 << leftShift) * q(out).scale));
  const [actMin, actMax] = activationRange(op.options.activation, out.dtype, out.quant);
  const params = {
    broadcast: broadcast4D(a.shape, b.shape, out.shape), leftShift,
    input1Offset: -q(a).zeroPoint, input1Multiplier: m1.multiplier, input1Shift: m1.shift,
    input2Offset: -q(b).zeroPoint, input2Multiplier: m2.multiplier, input2Shift: m2.shift,
    outputOffset: q(out).zeroPoint, outputMultiplier: mo.multiplier, outputShift: mo.shift, actMin, actMax,
  };
  return { ...params, ...addInputTables(params) };
}

/** TFLite Micro's PrepareSvdf for an int8 input (the effective scales are float32 products, then doubles). */
function prepareSvdf(model: Model, op: OpOf<'SVDF'>): SvdfParams {
  const T = model.tensors;
  const input = T[op.inputs[0]], features = T[op.inputs[1]], time = T[op.inputs[2]], state = T[op.inputs[4]], out = T[op.outputs[0]];
  const f = Math.fround;
  const [batches, inputSize] = input.shape;
  const [filters, memory] = time.shape;
  const rank = op.options.rank;
  const units = filters / rank;
  const s1 = quantizeMultiplier(f(f(f(q(input).scale) * f(q(features).scale)) / f(q(state).scale)));
  const s2 = quantizeMultiplier(f(f(f(q(state).scale) * f(q(time).scale)) / f(q(out).scale)));
  const [stateMin, stateMax] = dtypeRange(state.dtype);
  const biasId = op.inputs[3];
  return {
    batches, inputSize, filters, units, rank, memory,
    inputZeroPoint: q(input).zeroPoint, stateZeroPoint: q(state).zeroPoint, outputZeroPoint: q(out).zeroPoint,
    featureMultiplier: s1.multiplier, featureShift: s1.shift, outputMultiplier: s2.multiplier, outputShift: s2.shift,
    stateMin, stateMax, weightsFeature: int8Data(features),
    weightsTime: time.dtype === 'int16' ? int16Data(time) : int8Data(time),
    bias: biasId !== undefined && biasId >= 0 ? int32Data(T[biasId]) : null,
    filterSums: new Int32Array(batches * filters), unitSums: new Int32Array(batches * units),
  };
}

function prepareMean(model: Model, op: OpOf<'MEAN'>, rounding: RoundingMode): MeanParams {
  const T = model.tensors;
  const input = T[op.inputs[0]], out = T[op.outputs[0]];
  const axes = normalizeAxes(constInt32s(T[op.inputs[1]])!, input.shape.length)!;
  const spatial = op.options.keepDims && input.shape.length === 4 && axes.length === 2 && axes[0] === 1 && axes[1] === 2;
  const f = Math.fround;
  const inScale = f(q(input).scale), outScale = f(q(out).scale), inZp = q(input).zeroPoint, outZp = q(out).zeroPoint;
  const count = spatial ? input.shape[1] * input.shape[2] : 1;
  const tflite = spatial && rounding === 'tflite';
  // optimized_integer_ops::Mean works in float32: real_scale = input_scale / (count * output_scale).
  const m = quantizeMultiplier(tflite ? f(inScale / f(count * outScale)) : q(input).scale / q(out).scale);
  let temp = f(f(inZp * inScale) / outScale);
  temp = temp > 0 ? f(temp + 0.5) : f(temp - 0.5);
  return {
    inShape: [...input.shape], axes, inputZeroPoint: inZp, outputZeroPoint: outZp, scale: f(inScale / outScale),
    path: spatial ? (tflite ? 'spatial-tflite' : 'spatial-tflm') : inScale === outScale && inZp === outZp ? 'generic' : 'generic-rescale',
    multiplier: m.multiplier, shift: m.shift, bias: outZp - Math.trunc(temp), sums: new Int32Array(elementCount(out.shape)),
  };
}

/** Runs a prepared op on views of its tensors (inputs in `prepared.inputs` order, -1 entries as undefined). */
export function runPrepared(p: PreparedOp, inputs: (TensorView | undefined)[], outputs: TensorView[]): void {
  const k = p.kernel;
  const i0 = inputs[0] as Int8Array;
  const o0 = outputs[0] as Int8Array;
  switch (k.kind) {
    case 'conv2d': return conv2d(i0, o0, k.params);
    case 'depthwise': return depthwiseConv2d(i0, o0, k.params);
    case 'fullyConnected': return fullyConnected(i0, o0, k.params);
    case 'averagePool': return averagePool(i0, o0, k.params);
    case 'maxPool': return maxPool(i0, o0, k.params);
    case 'add': return add(i0, inputs[1] as Int8Array, o0, k.params);
    case 'mul': return mul(i0, inputs[1] as Int8Array, o0, k.params);
    case 'mean': return mean(i0, o0, k.params);
    case 'softmax': return softmax(i0, outputs[0] as Int8Array | Int16Array, k.params);
    case 'softmaxTflm': return softmaxTflm(i0, outputs[0] as Int8Array | Int16Array, k.params);
    case 'relu': return relu(i0, o0, k.params);
    case 'lookup':
    case 'logisticTflm':
      return lookup(i0, o0, k.table);
    case 'hardSwish': return hardSwish(i0, o0, k.params);
    case 'pad': return pad(inputs[0]!, outputs[0], k.params);
    case 'transpose': return transpose(inputs[0]!, outputs[0], k.params);
    case 'concatenation': return concatenation(inputs as TensorView[], outputs[0], k.params);
    case 'resizeNearest': return resizeNearest(inputs[0]!, outputs[0], k.params);
    case 'copy': {
      // An alias (output placed on its input's bytes) needs no copy.
      const from = inputs[0] as Int8Array, to = outputs[0] as Int8Array;
      if (from.buffer !== to.buffer || from.byteOffset !== to.byteOffset) to.set(from);
      return;
    }
    case 'quantize': return quantizeFloat(inputs[0] as Float32Array, o0, k.params);
    case 'requantize': return requantize(inputs[0] as IntegerArray, outputs[0] as IntegerArray, k.params);
    case 'dequantize': return dequantize(i0, outputs[0] as Float32Array, k.params);
    case 'svdf': return svdf(i0, inputs[4] as Int8Array | Int16Array, o0, k.params);
    case 'sub': return sub(i0, inputs[1] as Int8Array, o0, k.params);
    case 'squaredDifference': return squaredDifference(i0, inputs[1] as Int8Array, o0, k.params);
    case 'maximum': return maximum(i0, inputs[1] as Int8Array, o0, k.params);
    case 'minimum': return minimum(i0, inputs[1] as Int8Array, o0, k.params);
    case 'leakyRelu': return leakyRelu(i0, o0, k.params);
    case 'prelu': return prelu(i0, inputs[1] as Int8Array, o0, k.params);
    case 'stridedCopy':
      for (let j = 0; j < k.params.length; j++) stridedCopy(inputs[k.data]!, outputs[j], k.params[j]);
      return;
    case 'rsqrt': return rsqrt(i0, o0, k.params);
    case 'logSoftmax': return logSoftmax(i0, o0, k.params);
    case 'batchMatMul': return batchMatMul(i0, inputs[1] as Int8Array, o0, k.params);
    case 'gather': return gather(inputs[0]!, k.indices ?? (inputs[1] as Int32Array), outputs[0], k.params);
  }
}

/** Runs a prepared depthwise op in place over `buffer` (input and output share it) with its plane scratch. */
export function runDepthwiseInPlace(p: PreparedOp, buffer: Int8Array, plane: Int8Array): void {
  if (p.kernel.kind !== 'depthwise') throw new Error(`node ${p.op.index}: only DEPTHWISE_CONV_2D runs in place, not ${p.op.kind}`);
  depthwiseConv2dInPlace(buffer, plane, p.kernel.params);
}

/** Bytes of plane scratch an in-place depthwise needs. */
export function inPlacePlaneBytes(p: PreparedOp): number {
  if (p.kernel.kind !== 'depthwise') return 0;
  return depthwisePlaneBytes(p.kernel.params);
}
