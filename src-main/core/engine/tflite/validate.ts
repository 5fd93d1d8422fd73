import { type Model, type Op, type Tensor, DTYPE_BYTES, elementCount } from '../ir';
import { constInt32s } from '../runtime/constants';
import { windowGeometry } from '../runtime/geometry';
import { LOG_SOFTMAX_OUTPUT_SCALE, LOG_SOFTMAX_OUTPUT_ZERO_POINT } from '../runtime/kernels/log-softmax';
import { stridedSliceGeometry } from '../runtime/kernels/strided-copy';
import { ModelFormatError } from './errors';

const KNOWN_TYPES = new Set(['FLOAT32', 'INT32', 'UINT8', 'INT64', 'BOOL', 'INT16', 'INT8']);
/** Largest tensor the engine accepts, in elements (a 64 Mi-element activation is far beyond any MCU). */
const MAX_ELEMENTS = 1 << 26;
/** Largest total of activation bytes. */
const MAX_ACTIVATION_BYTES = 2 ** 30;

/** Ops computing on quantized int8 values (input 0 and output 0 must be int8 with quantization). */
const QUANTIZED_COMPUTE = new Set([
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'MUL', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'MEAN', 'SOFTMAX',
  'LOGISTIC', 'HARD_SWISH', 'RELU', 'RELU6', 'SUB', 'SQUARED_DIFFERENCE', 'MAXIMUM', 'MINIMUM', 'LEAKY_RELU', 'PRELU',
  'BATCH_MATMUL', 'RSQRT', 'LOG_SOFTMAX',
]);

/** Binary int8 ops: both inputs int8, broadcast up to 4-D. */
const BINARY = new Set(['ADD', 'MUL', 'SUB', 'SQUARED_DIFFERENCE', 'MAXIMUM', 'MINIMUM']);

/**
 * Why the runtime cannot run this op with these tensor types (e.g. "float32 input"), or null.
 * Reported together with unsupported op kinds, before structural validation.
 */
export function unsupportedDtypes(op: Op, tensors: Tensor[], typeNames: string[]): string | null {
  for (const id of [...op.inputs, ...op.outputs]) {
    if (id >= 0 && !KNOWN_TYPES.has(typeNames[id])) return `${typeNames[id]} tensor ${id}`;
  }
  if (op.inputs.length === 0 || op.inputs[0] < 0 || op.outputs.length === 0) return null; // structural: validateModel reports it
  const input = tensors[op.inputs[0]].dtype;
  const output = tensors[op.outputs[0]].dtype;
  const fused = (op.options as { activation?: string }).activation;
  if (fused === 'tanh' || fused === 'sign_bit') return `fused ${fused} activation`;
  if (QUANTIZED_COMPUTE.has(op.kind)) {
    if (input !== 'int8') return `${input} input`;
    // TFLite Micro's int8 SOFTMAX also writes int16 probabilities (keyword models end that way).
    if (output !== 'int8' && !(op.kind === 'SOFTMAX' && output === 'int16')) return `${output} output`;
    if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D' || op.kind === 'FULLY_CONNECTED') {
      const filter = op.inputs[1] >= 0 ? tensors[op.inputs[1]]?.dtype : undefined;
      if (filter !== undefined && filter !== 'int8') return `${filter} weights`;
      const bias = op.inputs[2] >= 0 ? tensors[op.inputs[2]]?.dtype : undefined;
      if (bias !== undefined && bias !== 'int32') return `${bias} bias`;
    }
    if ((BINARY.has(op.kind) || op.kind === 'PRELU' || op.kind === 'BATCH_MATMUL') && op.inputs[1] >= 0 && tensors[op.inputs[1]]?.dtype !== 'int8') return 'mixed input types';
    return null;
  }
  switch (op.kind) {
    case 'QUANTIZE':
      // float32 -> int8/uint8 quantizes; between integer types it requantizes (int16 -> int32 included).
      if (input !== 'float32' && input !== 'int8' && input !== 'uint8' && input !== 'int16') return `${input} input`;
      if (output !== 'int8' && output !== 'uint8' && (input === 'float32' || (output !== 'int16' && output !== 'int32'))) return `${output} output`;
      return null;
    case 'SPLIT': {
      // Input 0 is the axis: the data is input 1.
      const data = op.inputs[1] >= 0 ? tensors[op.inputs[1]]?.dtype : undefined;
      return data === undefined || data === output ? null : `${data} input with ${output} output`;
    }
    case 'GATHER': {
      const indices = op.inputs[1] >= 0 ? tensors[op.inputs[1]] : undefined;
      if (indices && indices.dtype !== 'int32' && !(indices.dtype === 'int64' && indices.data)) return `${indices.dtype} indices`;
      return input === output ? null : `${input} input with ${output} output`;
    }
    case 'SVDF': {
      const dtype = (i: number) => (op.inputs[i] >= 0 ? tensors[op.inputs[i]]?.dtype : undefined);
      if (input !== 'int8') return `${input} input (only the integer SVDF is supported)`;
      if (output !== 'int8') return `${output} output`;
      if (dtype(1) !== 'int8') return `${dtype(1)} feature weights`;
      const time = dtype(2);
      if (time !== 'int8' && time !== 'int16') return `${time} time weights`;
      if (dtype(4) !== time) return `${dtype(4)} activation state with ${time} time weights`;
      if (dtype(3) !== undefined && dtype(3) !== 'int32') return `${dtype(3)} bias`;
      return null;
    }
    case 'DEQUANTIZE':
      if (input !== 'int8' && input !== 'uint8') return `${input} input`;
      if (output !== 'float32') return `${output} output`;
      return null;
    default:
      return input === output ? null : `${input} input with ${output} output`;
  }
}

/**
 * Structural validation of a freshly read model: sizes, constant data, quantization, graph order
 * (every input is a constant, a graph input, a variable or produced by an earlier op, which also
 * rules out cycles) and every op's shapes. `charge` accounts work against the reader's budget.
 */
export function validateModel(model: Model, typeNames: string[], charge: (units: number) => void): void {
  const { tensors } = model;
  let activationBytes = 0;
  for (const t of tensors) {
    charge(1 + t.shape.length);
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 1 || d > MAX_ELEMENTS) throw new ModelFormatError(`tensor ${t.id} "${t.name}": absurd shape [${t.shape.join(', ')}]`);
    }
    const n = elementCount(t.shape);
    if (n > MAX_ELEMENTS) throw new ModelFormatError(`tensor ${t.id} "${t.name}": ${n} elements is too large`);
    if (t.data) {
      const expected = n * DTYPE_BYTES[t.dtype];
      if (t.data.byteLength !== expected) throw new ModelFormatError(`tensor ${t.id} "${t.name}": constant data has ${t.data.byteLength} bytes, shape [${t.shape.join(', ')}] needs ${expected}`);
    } else {
      activationBytes += n * DTYPE_BYTES[t.dtype];
    }
    if (t.quant && t.quant.scale.length > 1 && t.quant.scale.length !== t.shape[t.quant.axis]) {
      throw new ModelFormatError(`tensor ${t.id}: ${t.quant.scale.length} scales for dimension ${t.quant.axis}`);
    }
  }
  if (activationBytes > MAX_ACTIVATION_BYTES) throw new ModelFormatError(`activations need ${activationBytes} bytes, which is absurd`);
  if (model.inputs.length === 0) throw new ModelFormatError('model has no inputs');
  if (model.outputs.length === 0) throw new ModelFormatError('model has no outputs');

  const available = new Uint8Array(tensors.length);
  for (const t of tensors) if (t.data || t.isVariable) available[t.id] = 1;
  for (const id of model.inputs) {
    if (!KNOWN_TYPES.has(typeNames[id])) throw new ModelFormatError(`input tensor ${id} has unsupported type ${typeNames[id]}`);
    if (tensors[id].data) throw new ModelFormatError(`input tensor ${id} is a constant`);
    if (available[id] === 2) throw new ModelFormatError(`input tensor ${id} listed twice`);
    available[id] = 2;
  }
  for (const op of model.ops) {
    charge(1 + op.inputs.length + op.outputs.length);
    for (const id of op.inputs) {
      if (id >= 0 && !available[id]) throw new ModelFormatError(`node ${op.index} ${op.kind}: tensor ${id} is used before being produced`);
    }
    for (const id of op.outputs) {
      if (tensors[id].data) throw new ModelFormatError(`node ${op.index} ${op.kind}: writes constant tensor ${id}`);
      if (available[id]) throw new ModelFormatError(`node ${op.index} ${op.kind}: tensor ${id} is already defined`);
      available[id] = 3;
    }
    validateOp(op, tensors, charge);
  }
  for (const id of model.outputs) {
    if (!KNOWN_TYPES.has(typeNames[id])) throw new ModelFormatError(`output tensor ${id} has unsupported type ${typeNames[id]}`);
    if (!available[id]) throw new ModelFormatError(`output tensor ${id} is never produced`);
  }
}

function validateOp(op: Op, tensors: Tensor[], charge: (units: number) => void): void {
  const fail = (msg: string): never => {
    throw new ModelFormatError(`node ${op.index} ${op.kind}: ${msg}`);
  };
  const arity = (min: number, max: number) => {
    if (op.inputs.length < min || op.inputs.length > max) fail(`expects ${min === max ? min : `${min}-${max}`} inputs, has ${op.inputs.length}`);
    if (op.outputs.length !== 1) fail(`expects 1 output, has ${op.outputs.length}`);
  };
  const req = (i: number): Tensor => {
    const id = op.inputs[i];
    if (id === undefined || id < 0) return fail(`input ${i} is missing`);
    return tensors[id];
  };
  const opt = (i: number): Tensor | null => (op.inputs[i] !== undefined && op.inputs[i] >= 0 ? tensors[op.inputs[i]] : null);
  const constInts = (i: number, what: string): number[] => {
    const v = constInt32s(req(i));
    if (!v) return fail(`${what} (input ${i}) must be a constant int32 tensor`);
    charge(v.length);
    return v;
  };
  const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  const expectShape = (actual: readonly number[], expected: readonly number[]) => {
    if (!sameShape(actual, expected)) fail(`output shape [${actual.join(', ')}], expected [${expected.join(', ')}]`);
  };
  const quantized = (t: Tensor, what: string) => {
    if (t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'int16') {
      if (!t.quant) fail(`${what} tensor ${t.id} has no quantization`);
    }
  };
  const perTensor = (t: Tensor, what: string) => {
    quantized(t, what);
    if (t.quant && t.quant.scale.length !== 1) fail(`${what} tensor ${t.id} must be quantized per tensor`);
  };
  const positive = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1 || v > 4096) fail(`invalid ${what} ${v}`);
  };

  const isQuantOp = QUANTIZED_COMPUTE.has(op.kind);
  switch (op.kind) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      arity(2, 3);
      const input = req(0), filter = req(1), bias = opt(2), out = tensors[op.outputs[0]];
      const o = op.options;
      positive(o.strideH, 'stride'); positive(o.strideW, 'stride'); positive(o.dilationH, 'dilation'); positive(o.dilationW, 'dilation');
      if (input.shape.length !== 4 || filter.shape.length !== 4) fail('input and filter must be 4-D');
      if (!filter.data) fail('filter must be constant');
      const [n, inH, inW, inC] = input.shape;
      const [fo, kH, kW, fc] = filter.shape;
      let outC: number;
      if (op.kind === 'CONV_2D') {
        if (fc !== inC) fail(`filter has ${fc} input channels, input has ${inC} (grouped convolution is not supported)`);
        outC = fo;
        if (filter.quant && filter.quant.scale.length > 1 && filter.quant.axis !== 0) fail('per-channel filter must be quantized along axis 0');
      } else {
        if (fo !== 1) fail(`depthwise filter must have shape [1, H, W, C], has [${filter.shape.join(', ')}]`);
        outC = fc;
        if (outC % inC !== 0) fail(`output channels ${outC} not a multiple of input channels ${inC}`);
        op.options.depthMultiplier = outC / inC;
        if (filter.quant && filter.quant.scale.length > 1 && filter.quant.axis !== 3) fail('per-channel filter must be quantized along axis 3');
      }
      if (bias) {
        if (!bias.data || bias.shape.length !== 1 || bias.shape[0] !== outC) fail(`bias must be a constant of shape [${outC}]`);
      }
      const g = windowGeometry(inH, inW, kH, kW, o);
      if (g.outH < 1 || g.outW < 1) fail('filter larger than the input');
      expectShape(out.shape, [n, g.outH, g.outW, outC]);
      perTensor(input, 'input'); perTensor(out, 'output'); quantized(filter, 'filter');
      break;
    }
    case 'FULLY_CONNECTED': {
      arity(2, 3);
      const input = req(0), weights = req(1), bias = opt(2), out = tensors[op.outputs[0]];
      if (weights.shape.length !== 2 || !weights.data) fail('weights must be a constant 2-D tensor');
      const [units, depth] = weights.shape;
      const n = elementCount(input.shape);
      if (n % depth !== 0) fail(`input of ${n} elements is not a multiple of the weights' depth ${depth}`);
      if (bias && (!bias.data || elementCount(bias.shape) !== units)) fail(`bias must be a constant of ${units} elements`);
      if (weights.quant && weights.quant.scale.length > 1 && weights.quant.axis !== 0) fail('per-channel weights must be quantized along axis 0');
      if (out.shape[out.shape.length - 1] !== units || elementCount(out.shape) !== (n / depth) * units) {
        fail(`output shape [${out.shape.join(', ')}] does not hold ${n / depth} rows of ${units}`);
      }
      perTensor(input, 'input'); perTensor(out, 'output'); quantized(weights, 'weights');
      break;
    }
    case 'ADD':
    case 'MUL':
    case 'SUB':
    case 'SQUARED_DIFFERENCE':
    case 'MAXIMUM':
    case 'MINIMUM':
    case 'PRELU': {
      arity(2, 2);
      const a = req(0), b = req(1), out = tensors[op.outputs[0]];
      const shape = broadcastShape(a.shape, b.shape);
      if (!shape) return fail(`shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not broadcast`);
      if (shape.length > 4) fail('broadcasting beyond 4 dimensions is not supported');
      expectShape(out.shape, shape);
      perTensor(a, 'input'); perTensor(b, 'input'); perTensor(out, 'output');
      // TFLite compares raw values: the three tensors must mean the same thing.
      if (op.kind === 'MAXIMUM' || op.kind === 'MINIMUM') { sameQuant(a, out, fail); sameQuant(b, out, fail); }
      break;
    }
    case 'BATCH_MATMUL': {
      arity(2, 2);
      const lhs = req(0), rhs = req(1), out = tensors[op.outputs[0]];
      if (lhs.shape.length < 2 || rhs.shape.length < 2 || lhs.shape.length > 5 || rhs.shape.length > 5) fail('operands must have 2 to 5 dimensions');
      const [rows, depth] = matrixDims(lhs.shape, op.options.adjX);
      const [rDepth, cols] = matrixDims(rhs.shape, op.options.adjY);
      if (depth !== rDepth) fail(`inner dimensions ${depth} and ${rDepth} differ`);
      const batch = broadcastShape(lhs.shape.slice(0, -2), rhs.shape.slice(0, -2));
      if (!batch) return fail(`batch dimensions [${lhs.shape.slice(0, -2).join(', ')}] and [${rhs.shape.slice(0, -2).join(', ')}] do not broadcast`);
      expectShape(out.shape, [...batch, rows, cols]);
      perTensor(lhs, 'lhs'); perTensor(rhs, 'rhs'); perTensor(out, 'output');
      break;
    }
    case 'LEAKY_RELU': {
      arity(1, 1);
      const input = req(0), out = tensors[op.outputs[0]];
      expectShape(out.shape, input.shape);
      perTensor(input, 'input'); perTensor(out, 'output');
      if (!Number.isFinite(op.options.alpha)) fail(`invalid alpha ${op.options.alpha}`);
      break;
    }
    case 'STRIDED_SLICE': {
      arity(4, 4);
      const input = req(0), out = tensors[op.outputs[0]];
      const rank = input.shape.length;
      const begin = constInts(1, 'begin'), end = constInts(2, 'end'), strides = constInts(3, 'strides');
      if (rank > 5 || begin.length !== rank || end.length !== rank || strides.length !== rank) fail(`begin, end and strides must have ${rank} values (rank up to 5)`);
      if (strides.some((x) => x === 0)) fail('a stride is 0');
      expectShape(out.shape, stridedSliceGeometry(input.shape, begin, end, strides, op.options).outShape);
      sameQuant(input, out, fail);
      break;
    }
    case 'SPLIT':
    case 'SPLIT_V': {
      const dataAt = op.kind === 'SPLIT' ? 1 : 0;
      if (op.inputs.length !== (op.kind === 'SPLIT' ? 2 : 3)) fail(`expects ${op.kind === 'SPLIT' ? 2 : 3} inputs, has ${op.inputs.length}`);
      const input = req(dataAt);
      const axisValues = constInts(op.kind === 'SPLIT' ? 0 : 2, 'axis');
      if (axisValues.length !== 1) fail('axis must be one value');
      const axis = axisValues[0] < 0 ? axisValues[0] + input.shape.length : axisValues[0];
      if (axis < 0 || axis >= input.shape.length) fail(`axis ${axisValues[0]} out of range`);
      const n = op.options.numSplits;
      if (op.outputs.length !== n || n < 1) fail(`num_splits ${n} but ${op.outputs.length} outputs`);
      const sizes = op.kind === 'SPLIT' ? new Array<number>(n).fill(input.shape[axis] / n) : splitSizes(constInts(1, 'size_splits'), input.shape[axis], fail);
      if (sizes.length !== n || sizes.some((x) => !Number.isInteger(x) || x < 1)) fail(`dimension ${axis} of size ${input.shape[axis]} does not split into ${n}`);
      op.outputs.forEach((id, k) => {
        const out = tensors[id];
        if (!sameShape(out.shape, input.shape.map((d, i) => (i === axis ? sizes[k] : d)))) fail(`output ${k} shape [${out.shape.join(', ')}] does not fit`);
        sameQuant(input, out, fail);
      });
      break;
    }
    case 'PACK': {
      if (op.inputs.length < 1 || op.outputs.length !== 1 || op.inputs.length !== op.options.count) fail(`values_count ${op.options.count} but ${op.inputs.length} inputs`);
      const first = req(0), out = tensors[op.outputs[0]];
      const rank = first.shape.length;
      const axis = op.options.axis < 0 ? op.options.axis + rank + 1 : op.options.axis;
      if (axis < 0 || axis > rank) fail(`axis ${op.options.axis} out of range`);
      op.options.axis = axis;
      op.inputs.forEach((_, i) => {
        if (!sameShape(req(i).shape, first.shape)) fail(`input ${i} shape differs from input 0`);
        sameQuant(req(i), out, fail);
      });
      expectShape(out.shape, [...first.shape.slice(0, axis), op.inputs.length, ...first.shape.slice(axis)]);
      break;
    }
    case 'UNPACK': {
      if (op.inputs.length !== 1) fail(`expects 1 input, has ${op.inputs.length}`);
      const input = req(0);
      const rank = input.shape.length;
      const axis = op.options.axis < 0 ? op.options.axis + rank : op.options.axis;
      if (axis < 0 || axis >= rank) fail(`axis ${op.options.axis} out of range`);
      op.options.axis = axis;
      if (op.outputs.length !== input.shape[axis] || op.options.count !== input.shape[axis]) fail(`num ${op.options.count} and ${op.outputs.length} outputs for dimension ${axis} of size ${input.shape[axis]}`);
      for (const id of op.outputs) {
        expectShape(tensors[id].shape, input.shape.filter((_, i) => i !== axis));
        sameQuant(input, tensors[id], fail);
      }
      break;
    }
    case 'GATHER': {
      arity(2, 2);
      const input = req(0), indices = req(1), out = tensors[op.outputs[0]];
      const rank = input.shape.length;
      const axis = op.options.axis < 0 ? op.options.axis + rank : op.options.axis;
      if (axis < 0 || axis >= rank) fail(`axis ${op.options.axis} out of range`);
      op.options.axis = axis;
      const values = constInt32s(indices);
      if (values) {
        charge(values.length);
        const bad = values.findIndex((v) => v < 0 || v >= input.shape[axis]);
        if (bad >= 0) fail(`index ${values[bad]} is outside [0, ${input.shape[axis]})`);
      }
      expectShape(out.shape, [...input.shape.slice(0, axis), ...indices.shape, ...input.shape.slice(axis + 1)]);
      sameQuant(input, out, fail);
      break;
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      arity(1, 1);
      const input = req(0), out = tensors[op.outputs[0]];
      const o = op.options;
      positive(o.strideH, 'stride'); positive(o.strideW, 'stride'); positive(o.filterH, 'filter size'); positive(o.filterW, 'filter size');
      if (input.shape.length !== 4) fail('input must be 4-D');
      const [n, inH, inW, c] = input.shape;
      const g = windowGeometry(inH, inW, o.filterH, o.filterW, o);
      expectShape(out.shape, [n, g.outH, g.outW, c]);
      perTensor(input, 'input'); perTensor(out, 'output');
      break;
    }
    case 'MEAN': {
      arity(2, 2);
      const input = req(0), out = tensors[op.outputs[0]];
      const axes = normalizeAxes(constInts(1, 'axes'), input.shape.length);
      if (!axes) return fail('axes out of range');
      expectShape(out.shape, reducedShape(input.shape, axes, op.options.keepDims));
      perTensor(input, 'input'); perTensor(out, 'output');
      break;
    }
    case 'PAD': {
      arity(2, 2);
      const input = req(0), out = tensors[op.outputs[0]];
      const pads = constInts(1, 'paddings');
      if (pads.length !== 2 * input.shape.length) fail(`paddings must have shape [${input.shape.length}, 2]`);
      if (pads.some((p) => p < 0 || p > MAX_ELEMENTS)) fail('negative or absurd padding');
      if (input.shape.length > 4) fail('padding beyond 4 dimensions is not supported');
      expectShape(out.shape, input.shape.map((d, i) => d + pads[2 * i] + pads[2 * i + 1]));
      if (input.dtype === 'int8' || input.dtype === 'uint8') { perTensor(input, 'input'); perTensor(out, 'output'); }
      break;
    }
    case 'RESHAPE':
    case 'SQUEEZE': {
      arity(1, 2);
      const input = req(0), out = tensors[op.outputs[0]];
      if (elementCount(input.shape) !== elementCount(out.shape)) fail(`reshapes ${elementCount(input.shape)} elements into ${elementCount(out.shape)}`);
      sameQuant(input, out, fail);
      break;
    }
    case 'SOFTMAX':
    case 'LOGISTIC':
    case 'HARD_SWISH':
    case 'RELU':
    case 'RELU6':
    case 'RSQRT':
    case 'LOG_SOFTMAX': {
      arity(1, 1);
      const input = req(0), out = tensors[op.outputs[0]];
      expectShape(out.shape, input.shape);
      perTensor(input, 'input'); perTensor(out, 'output');
      if (op.kind === 'SOFTMAX' && !(op.options.beta > 0 && Number.isFinite(op.options.beta))) fail(`invalid beta ${op.options.beta}`);
      // TFLite's LogSoftmaxPrepare: the int8 output is fixed at scale 16/256, zero point 127.
      if (op.kind === 'LOG_SOFTMAX' && out.quant && (out.quant.zeroPoint[0] !== LOG_SOFTMAX_OUTPUT_ZERO_POINT || out.quant.scale[0] !== LOG_SOFTMAX_OUTPUT_SCALE)) {
        fail(`the output must have scale 16/256 and zero point 127 (TFLite's int8 LOG_SOFTMAX), got scale ${out.quant.scale[0]} and zero point ${out.quant.zeroPoint[0]}`);
      }
      break;
    }
    case 'CONCATENATION': {
      if (op.inputs.length < 1 || op.outputs.length !== 1) fail('expects at least 1 input and 1 output');
      const out = tensors[op.outputs[0]];
      const rank = out.shape.length;
      const axis = op.options.axis < 0 ? op.options.axis + rank : op.options.axis;
      if (axis < 0 || axis >= rank) fail(`axis ${op.options.axis} out of range`);
      op.options.axis = axis;
      let total = 0;
      op.inputs.forEach((_, i) => {
        const t = req(i);
        if (t.shape.length !== rank || t.shape.some((d, k) => k !== axis && d !== out.shape[k])) fail(`input ${i} shape [${t.shape.join(', ')}] does not fit the output`);
        total += t.shape[axis];
        sameQuant(t, out, fail);
      });
      if (total !== out.shape[axis]) fail(`inputs sum to ${total} along axis ${axis}, output has ${out.shape[axis]}`);
      break;
    }
    case 'RESIZE_NEAREST_NEIGHBOR': {
      arity(2, 2);
      const input = req(0), out = tensors[op.outputs[0]];
      const size = constInts(1, 'size');
      if (input.shape.length !== 4 || size.length !== 2) fail('needs a 4-D input and a size of 2 values');
      if (size.some((s) => s < 1 || s > MAX_ELEMENTS)) fail('absurd output size');
      expectShape(out.shape, [input.shape[0], size[0], size[1], input.shape[3]]);
      sameQuant(input, out, fail);
      break;
    }
    case 'TRANSPOSE': {
      arity(2, 2);
      const input = req(0), out = tensors[op.outputs[0]];
      const perm = constInts(1, 'permutation');
      const rank = input.shape.length;
      if (rank > 6 || perm.length !== rank || [...perm].sort((x, y) => x - y).some((p, i) => p !== i)) fail(`[${perm.join(', ')}] is not a permutation of ${rank} axes`);
      expectShape(out.shape, perm.map((p) => input.shape[p]));
      sameQuant(input, out, fail);
      break;
    }
    case 'QUANTIZE':
    case 'DEQUANTIZE': {
      arity(1, 1);
      const input = req(0), out = tensors[op.outputs[0]];
      expectShape(out.shape, input.shape);
      perTensor(input, 'input'); perTensor(out, 'output');
      if (out.dtype === 'int32' && !out.quant) fail(`output tensor ${out.id} has no quantization`);
      break;
    }
    case 'SVDF': {
      // TFLite Micro's PrepareSvdf: input [batch, input_size], feature weights [filters, input_size],
      // time weights [filters, memory], bias [units], a variable state [batch, memory * filters].
      arity(5, 5);
      const input = req(0), features = req(1), time = req(2), bias = opt(3), state = req(4), out = tensors[op.outputs[0]];
      const rank = op.options.rank;
      if (input.shape.length !== 2) fail('input must be 2-D [batch, input_size]');
      if (!features.data || features.shape.length !== 2 || features.shape[1] !== input.shape[1]) fail(`feature weights must be a constant [filters, ${input.shape[1]}]`);
      const [batch] = input.shape;
      const filters = features.shape[0];
      if (!Number.isInteger(rank) || rank < 1 || filters % rank !== 0) fail(`rank ${rank} does not divide ${filters} filters`);
      const units = filters / rank;
      if (!time.data || time.shape.length !== 2 || time.shape[0] !== filters) fail(`time weights must be a constant [${filters}, memory]`);
      const memory = time.shape[1];
      if (bias && (!bias.data || bias.shape.length !== 1 || bias.shape[0] !== units)) fail(`bias must be a constant of shape [${units}]`);
      if (!state.isVariable || state.data) fail(`activation state tensor ${state.id} must be a variable without initial data`);
      if (state.shape.length !== 2 || state.shape[0] !== batch || state.shape[1] !== memory * filters) fail(`activation state shape [${state.shape.join(', ')}], expected [${batch}, ${memory * filters}]`);
      expectShape(out.shape, [batch, units]);
      perTensor(input, 'input'); perTensor(features, 'feature weights'); perTensor(time, 'time weights'); perTensor(state, 'state'); perTensor(out, 'output');
      break;
    }
  }
  if (isQuantOp) charge(1);
}

/** [rows, columns] of the matrices in a batch-matmul operand, after its optional transpose. */
function matrixDims(shape: readonly number[], adjoint: boolean): [number, number] {
  const r = shape[shape.length - 2], c = shape[shape.length - 1];
  return adjoint ? [c, r] : [r, c];
}

/** SPLIT_V's sizes with the one -1 entry (if any) taking what is left of the dimension. */
function splitSizes(sizes: number[], dim: number, fail: (msg: string) => never): number[] {
  const unknown = sizes.filter((x) => x === -1).length;
  if (unknown > 1) fail('more than one size_splits entry is -1');
  const known = sizes.filter((x) => x !== -1).reduce((a, b) => a + b, 0);
  const out = sizes.map((x) => (x === -1 ? dim - known : x));
  if (out.reduce((a, b) => a + b, 0) !== dim) fail(`size_splits sum to ${known}, dimension is ${dim}`);
  return out;
}

/** Both sides of a data-movement op must share quantization (TFLite requires it for int8). */
function sameQuant(a: Tensor, b: Tensor, fail: (msg: string) => never): void {
  if (a.dtype !== 'int8' && a.dtype !== 'uint8') return;
  const qa = a.quant, qb = b.quant;
  if (!qa && !qb) return;
  if (!qa || !qb || qa.scale.length !== 1 || qb.scale.length !== 1 || Math.fround(qa.scale[0]) !== Math.fround(qb.scale[0]) || qa.zeroPoint[0] !== qb.zeroPoint[0]) {
    fail(`tensors ${a.id} and ${b.id} must share one quantization`);
  }
}

/** NumPy-style broadcast of two shapes, or null when they are incompatible. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(Math.max(da, db));
  }
  return out;
}

/** Sorted, de-duplicated, non-negative axes, or null when one is out of range. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] | null {
  const out = new Set<number>();
  for (const a of axes) {
    const x = a < 0 ? a + rank : a;
    if (x < 0 || x >= rank) return null;
    out.add(x);
  }
  return [...out].sort((x, y) => x - y);
}

/** Shape after reducing `axes`. */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}
