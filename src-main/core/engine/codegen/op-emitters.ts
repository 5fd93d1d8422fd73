import { DTYPE_BYTES, elementCount, type Model } from '../ir';
import type { ScheduleStep } from '../planner/schedule';
import { relu, hardSwish } from '../runtime/kernels/activations';
import { nearestIndex } from '../runtime/kernels/data-movement';
import { depthwiseInPlaceScratch, depthwisePlaneBytes } from '../runtime/kernels/depthwise-in-place';
import { dequantize, requantize } from '../runtime/kernels/quantize';
import type { Broadcast4D } from '../runtime/kernels/elementwise';
import { leakyRelu } from '../runtime/kernels/leaky-relu';
import { rsqrt } from '../runtime/kernels/rsqrt';
import type { PreparedOp } from '../runtime/prepare';
import type { CArrayType } from './c-literals';

/**
 * Per-op C emission. Each step is first prepared by the TS runtime (prepareOp: TFLite's Prepare),
 * so multipliers, shifts, activation ranges, tables and geometry are the runtime's own numbers; this
 * module only turns them into one straight-line kernel call with the constants baked in.
 */

/** What an emitter needs from the generator. */
export interface EmitContext {
  model: Model;
  /** C expression of the tensor's arena address, as `int8_t *` / `uint8_t *` / `float *`. */
  s8(tensor: number): string;
  u8(tensor: number): string;
  f32(tensor: number): string;
  /** C expression of the current step's scratch (`int8_t *`) and its size; throws when the plan gave none. */
  scratch(bytes: number): string;
  /** Elements of the buffer holding a tensor (the whole tensor, or its region in a patch buffer). */
  elements(tensor: number): number;
  /**
   * Pixels from one row of a window op's output to the next, when the output is written into a
   * wider buffer (a patch tile into the whole stage output); default: the op's output width.
   */
  outputRowPixels?(tensor: number): number;
  /** Declares a const array in Flash and returns its identifier (identical arrays are shared). */
  constArray(type: CArrayType, hint: string, values: ArrayLike<number>): string;
}

function block(lines: string[]): string {
  return `  {\n${lines.map((l) => `    ${l}`).join('\n')}\n  }\n`;
}

/** A tf_view of a buffer holding an h x w x c tensor whose rows are `rowPixels` pixels apart. */
function view(h: number, w: number, c: number, rowPixels = w): string {
  return `{${h}, ${w}, ${c}, 0, 0, ${h}, ${rowPixels}}`;
}

/** Per-image statements wrapped in a batch loop when N > 1 (`b` is the image index). */
function perBatch(n: number, body: (b: string) => string): string[] {
  if (n === 1) return [body('0')];
  return ['int32_t b;', `for (b = 0; b < ${n}; b++) {`, `  ${body('b')}`, '}'];
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => i - 128);

/** Runs an int8 -> int8 elementwise kernel of the runtime over all 256 inputs. */
function tabulate(f: (input: Int8Array, output: Int8Array) => void): Int8Array {
  const out = new Int8Array(256);
  f(Int8Array.from(ALL_BYTES), out);
  return out;
}

/**
 * Per output channel: bias + input_offset * (sum of the channel's weights), in int32 as the kernel
 * accumulates. Windows without padding then need only the plain int8 dot product (TinyEngine's trick);
 * the kernel takes back the padding taps at the border. It replaces the bias array of convolutions.
 */
function foldedBias(filter: Int8Array, bias: Int32Array | null, inputOffset: number, channels: number): Int32Array {
  const per = filter.length / channels;
  const out = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = c * per; i < (c + 1) * per; i++) sum += filter[i];
    out[c] = ((bias ? bias[c] : 0) + Math.imul(inputOffset, sum)) | 0;
  }
  return out;
}

/** True when a tensor is int16 (probabilities of an int8 -> int16 SOFTMAX). */
function wide(ctx: EmitContext, tensor: number): boolean {
  return ctx.model.tensors[tensor].dtype === 'int16';
}

function s16(ctx: EmitContext, tensor: number): string {
  return `(int16_t *)(void *)${ctx.u8(tensor)}`;
}

const INT_TYPES: Partial<Record<string, string>> = { int8: 'TF_INT8', uint8: 'TF_UINT8', int16: 'TF_INT16', int32: 'TF_INT32' };

/** The C runtime's tf_int_type of an integer tensor. */
function intType(ctx: EmitContext, tensor: number): string {
  const t = ctx.model.tensors[tensor];
  const type = INT_TYPES[t.dtype];
  if (!type) throw new Error(`tensor ${tensor} (${t.dtype}) is not an integer tensor`);
  return type;
}

/** The broadcast geometry of a binary op as a `bc` constant. */
function broadcastConst(g: Broadcast4D): string {
  return `static const tf_broadcast bc = {{${g.dims.join(', ')}}, {${g.strideA.join(', ')}}, {${g.strideB.join(', ')}}};`;
}

function rounding(single: boolean): string {
  return single ? 'TF_ROUND_TFLITE' : 'TF_ROUND_TFLM';
}

/** C statements of one schedule step, from the runtime's prepared op. */
export function emitStep(ctx: EmitContext, step: ScheduleStep, prepared: PreparedOp): string {
  const { op, kernel: k } = prepared;
  const id = `op${op.index}`;
  const inId = prepared.inputs[0];
  const outId = prepared.outputs[0];
  const bias = (b: Int32Array | null) => (b ? ctx.constArray('int32_t', `${id}_bias`, b) : 'NULL');
  if (k.kind === 'requantize' && (ctx.model.tensors[inId].dtype !== 'int8' || ctx.model.tensors[outId].dtype !== 'int8')) {
    // Wider integer types (int16 in, int16/int32 out) cannot be a 256-entry table.
    const p = k.params;
    return block([
      `static const tf_requant_params p = {${p.inputZeroPoint}, ${p.outputZeroPoint}, ${p.multiplier}, ${p.shift}};`,
      `tf_requantize(&p, ${ctx.u8(inId)}, ${intType(ctx, inId)}, ${ctx.u8(outId)}, ${intType(ctx, outId)}, ${ctx.elements(outId)});`,
    ]);
  }
  switch (k.kind) {
    case 'conv2d':
    case 'depthwise': {
      const p = k.params;
      const depthwise = k.kind === 'depthwise';
      const f = ctx.constArray('int8_t', `${id}_filter`, p.filter);
      const m = ctx.constArray('int32_t', `${id}_mult`, p.multiplier);
      const s = ctx.constArray('int32_t', `${id}_shift`, p.shift);
      const dm = depthwise ? k.params.depthMultiplier : 1;
      const folded = depthwise ? 'NULL' : ctx.constArray('int32_t', `${id}_folded_bias`, foldedBias(p.filter, p.bias, p.inputOffset, p.outC));
      const head = [
        `static const tf_conv_params p = {${p.kH}, ${p.kW}, ${p.strideH}, ${p.strideW}, ${p.dilationH}, ${p.dilationW}, ${p.padTop}, ${p.padLeft}, ${dm}, ${p.inputOffset}, ${p.outputOffset}, ${p.actMin}, ${p.actMax}, ${f}, ${depthwise ? bias(p.bias) : 'NULL'}, ${m}, ${s}, ${rounding(p.singleRounding)}, ${folded}};`,
        `static const tf_view iv = ${view(p.inH, p.inW, p.inC)};`,
        `static const tf_view ov = ${view(p.outH, p.outW, p.outC, ctx.outputRowPixels?.(outId))};`,
        `static const tf_region r = {0, ${p.outH}, 0, ${p.outW}};`,
      ];
      if (depthwise && step.inPlace) {
        if (p.batches !== 1) throw new Error(`${op.kind} at node ${op.index}: in-place depthwise needs batch 1`);
        // The C kernel takes the TS runtime's choice of ring or whole plane, so both run the same method.
        const { planeH, planeW, ringRows } = depthwiseInPlaceScratch(p);
        const plane = ctx.scratch(depthwisePlaneBytes(p));
        return block([...head, `tf_dwconv_inplace_s8(&p, ${ctx.s8(inId)}, &iv, &ov, &r, ${planeH}, ${planeW}, ${ringRows}, ${plane});`]);
      }
      const noPad = p.padTop === 0 && p.padLeft === 0 && (p.outH - 1) * p.strideH + 1 <= p.inH && (p.outW - 1) * p.strideW + 1 <= p.inW;
      let fn = 'tf_conv_s8';
      if (depthwise) fn = 'tf_dwconv_s8';
      else if (p.kH === 1 && p.kW === 1 && noPad) fn = 'tf_conv1x1_s8';
      else if (p.kH === 3 && p.kW === 3 && p.dilationH === 1 && p.dilationW === 1) fn = 'tf_conv3x3_s8';
      const inBytes = p.inH * p.inW * p.inC;
      const outBytes = p.outH * p.outW * p.outC;
      return block([...head, ...perBatch(p.batches, (b) => `${fn}(&p, ${ctx.s8(inId)} + ${b} * ${inBytes}, &iv, ${ctx.s8(outId)} + ${b} * ${outBytes}, &ov, &r);`)]);
    }
    case 'fullyConnected': {
      const p = k.params;
      const f = ctx.constArray('int8_t', `${id}_filter`, p.weights);
      const m = ctx.constArray('int32_t', `${id}_mult`, p.multiplier);
      const s = ctx.constArray('int32_t', `${id}_shift`, p.shift);
      return block([
        `static const tf_fc_params p = {${p.depth}, ${p.units}, ${p.rows}, ${p.inputOffset}, 0, ${p.outputOffset}, ${p.actMin}, ${p.actMax}, ${f}, ${bias(p.bias)}, ${m}, ${s}, 1, ${rounding(p.singleRounding)}};`,
        `tf_fully_connected_s8(&p, ${ctx.s8(inId)}, ${ctx.s8(outId)});`,
      ]);
    }
    case 'averagePool':
    case 'maxPool': {
      const p = k.params;
      const fn = k.kind === 'maxPool' ? 'tf_maxpool_s8' : 'tf_avgpool_s8';
      return block([
        `static const tf_pool_params p = {${p.filterH}, ${p.filterW}, ${p.strideH}, ${p.strideW}, ${p.padTop}, ${p.padLeft}, ${p.actMin}, ${p.actMax}};`,
        `static const tf_view iv = ${view(p.inH, p.inW, p.channels)};`,
        `static const tf_view ov = ${view(p.outH, p.outW, p.channels, ctx.outputRowPixels?.(outId))};`,
        `static const tf_region r = {0, ${p.outH}, 0, ${p.outW}};`,
        ...perBatch(p.batches, (b) => `${fn}(&p, ${ctx.s8(inId)} + ${b} * ${p.inH * p.inW * p.channels}, &iv, ${ctx.s8(outId)} + ${b} * ${p.outH * p.outW * p.channels}, &ov, &r);`),
      ]);
    }
    case 'sub': {
      const p = k.params;
      const g = p.broadcast;
      const params = `static const tf_add_params p = {${p.input1Offset}, ${p.input2Offset}, ${p.outputOffset}, ${p.leftShift}, ${p.input1Multiplier}, ${p.input1Shift}, ${p.input2Multiplier}, ${p.input2Shift}, ${p.outputMultiplier}, ${p.outputShift}, ${p.actMin}, ${p.actMax}};`;
      const args = `${ctx.s8(prepared.inputs[0])}, ${ctx.s8(prepared.inputs[1])}, ${ctx.s8(outId)}`;
      if (g.elementwise) return block([params, `tf_sub_s8(&p, ${args}, ${ctx.elements(outId)});`]);
      return block([params, broadcastConst(g), `tf_sub_bcast_s8(&p, ${args}, &bc);`]);
    }
    case 'squaredDifference': {
      const p = k.params;
      return block([
        `static const tf_sqdiff_params p = {${p.input1Offset}, ${p.input2Offset}, ${p.outputOffset}, ${p.input1Multiplier}, ${p.input1Shift}, ${p.input2Multiplier}, ${p.input2Shift}, ${p.outputMultiplier}, ${p.outputShift}};`,
        broadcastConst(p.broadcast),
        `tf_squared_difference_bcast_s8(&p, ${ctx.s8(prepared.inputs[0])}, ${ctx.s8(prepared.inputs[1])}, ${ctx.s8(outId)}, &bc);`,
      ]);
    }
    case 'maximum':
    case 'minimum':
      return block([broadcastConst(k.params), `tf_${k.kind}_bcast_s8(${ctx.s8(prepared.inputs[0])}, ${ctx.s8(prepared.inputs[1])}, ${ctx.s8(outId)}, &bc);`]);
    case 'prelu': {
      const p = k.params;
      const alphaId = prepared.inputs[1];
      const alphaData = ctx.model.tensors[alphaId].data;
      const alpha = alphaData ? ctx.constArray('int8_t', `${id}_alpha`, new Int8Array(alphaData.buffer, alphaData.byteOffset, alphaData.byteLength)) : ctx.s8(alphaId);
      return block([
        `static const tf_prelu_params p = {${p.inputOffset}, ${p.alphaOffset}, ${p.outputOffset}, ${p.multiplier1}, ${p.shift1}, ${p.multiplier2}, ${p.shift2}};`,
        broadcastConst(p.broadcast),
        `tf_prelu_bcast_s8(&p, ${ctx.s8(inId)}, ${alpha}, ${ctx.s8(outId)}, &bc);`,
      ]);
    }
    case 'stridedCopy': {
      const data = prepared.inputs[k.data];
      const bytes = DTYPE_BYTES[ctx.model.tensors[data].dtype];
      return block(
        k.params.flatMap((p, j) => [
          `{`,
          `  static const int32_t dims[${Math.max(1, p.dims.length)}] = {${p.dims.join(', ') || '1'}};`,
          `  static const int32_t strides[${Math.max(1, p.strides.length)}] = {${p.strides.join(', ') || '0'}};`,
          `  tf_strided_copy(${ctx.u8(data)}, ${p.start}, dims, strides, ${p.dims.length}, ${bytes}, ${ctx.u8(prepared.outputs[j])});`,
          `}`,
        ]),
      );
    }
    case 'rsqrt': {
      // The table covers the inputs TFLite accepts (at or above the zero point); below, C aborts as TFLite errors.
      const min = k.params.inputZeroPoint;
      const table = Int8Array.from(ALL_BYTES, (x) => {
        if (x < min) return 0;
        const out = new Int8Array(1);
        rsqrt(Int8Array.of(x), out, k.params);
        return out[0];
      });
      return `  tf_lut_from_s8(${ctx.constArray('int8_t', `${id}_table`, table)}, ${min}, ${ctx.s8(inId)}, ${ctx.s8(outId)}, ${ctx.elements(outId)});\n`;
    }
    case 'batchMatMul': {
      const p = k.params;
      const operand = (at: number) => {
        const data = ctx.model.tensors[prepared.inputs[at]].data;
        return data ? ctx.constArray('int8_t', `${id}_${at ? 'rhs' : 'lhs'}`, new Int8Array(data.buffer, data.byteOffset, data.byteLength)) : ctx.s8(prepared.inputs[at]);
      };
      const lo = ctx.constArray('int32_t', `${id}_lhs_offsets`, p.lhsOffsets);
      const ro = ctx.constArray('int32_t', `${id}_rhs_offsets`, p.rhsOffsets);
      return block([
        `static const tf_batch_matmul_params p = {${p.lhsOffsets.length}, ${p.rows}, ${p.cols}, ${p.depth}, ${p.adjX ? 1 : 0}, ${p.adjY ? 1 : 0}, ${p.lhsZeroPoint}, ${p.rhsZeroPoint}, ${p.outputZeroPoint}, ${p.multiplier}, ${p.shift}, ${rounding(p.singleRounding)}, ${lo}, ${ro}};`,
        `tf_batch_matmul_s8(&p, ${operand(0)}, ${operand(1)}, ${ctx.s8(outId)});`,
      ]);
    }
    case 'gather': {
      const p = k.params;
      const indices = k.indices ? ctx.constArray('int32_t', `${id}_indices`, k.indices) : `(const int32_t *)(const void *)${ctx.u8(prepared.inputs[1])}`;
      const count = k.indices ? k.indices.length : ctx.elements(prepared.inputs[1]);
      const bytes = DTYPE_BYTES[ctx.model.tensors[inId].dtype];
      return `  tf_gather(${ctx.u8(inId)}, ${indices}, ${count}, ${p.outer}, ${p.axisSize}, ${p.inner * bytes}, ${ctx.u8(outId)});\n`;
    }
    case 'add':
    case 'mul': {
      const p = k.params;
      const g = p.broadcast;
      const args = `${ctx.s8(prepared.inputs[0])}, ${ctx.s8(prepared.inputs[1])}, ${ctx.s8(outId)}`;
      const params =
        k.kind === 'add'
          ? `static const tf_add_params p = {${k.params.input1Offset}, ${k.params.input2Offset}, ${k.params.outputOffset}, ${k.params.leftShift}, ${k.params.input1Multiplier}, ${k.params.input1Shift}, ${k.params.input2Multiplier}, ${k.params.input2Shift}, ${k.params.outputMultiplier}, ${k.params.outputShift}, ${k.params.actMin}, ${k.params.actMax}};`
          : `static const tf_mul_params p = {${k.params.input1Offset}, ${k.params.input2Offset}, ${k.params.outputOffset}, ${k.params.outputMultiplier}, ${k.params.outputShift}, ${k.params.actMin}, ${k.params.actMax}};`;
      if (g.elementwise) return block([params, `tf_${k.kind}_s8(&p, ${args}, ${ctx.elements(outId)});`]);
      return block([
        params,
        broadcastConst(g),
        `tf_${k.kind}_bcast_s8(&p, ${args}, &bc);`,
      ]);
    }
    case 'mean': {
      const p = k.params;
      if (p.path !== 'generic') {
        const [batches, h, w, c] = p.inShape;
        return block([
          `static const tf_mean_params p = {${p.path === 'spatial-tflm' ? 1 : 0}, ${p.inputZeroPoint}, ${p.outputZeroPoint}, ${p.multiplier}, ${p.shift}, ${p.bias}};`,
          `tf_mean_spatial_s8(&p, ${ctx.s8(inId)}, ${ctx.s8(outId)}, ${batches}, ${h * w}, ${c});`,
        ]);
      }
      const axes = [...p.axes].sort((a, b) => a - b);
      if (axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) throw new Error(`MEAN at node ${op.index}: non-contiguous axes [${axes}] are not supported by the C generator`);
      const outer = elementCount(p.inShape.slice(0, axes[0]));
      const count = elementCount(p.inShape.slice(axes[0], axes[axes.length - 1] + 1));
      const inner = elementCount(p.inShape.slice(axes[axes.length - 1] + 1));
      return `  tf_mean_generic_s8(${ctx.s8(inId)}, ${ctx.s8(outId)}, ${outer}, ${count}, ${inner});\n`;
    }
    case 'softmax': {
      const p = k.params;
      const table = ctx.constArray('float', `${id}_exp`, p.table);
      const [fn, out] = wide(ctx, outId) ? ['tf_softmax_s8_s16', s16(ctx, outId)] : ['tf_softmax_s8', ctx.s8(outId)];
      return `  ${fn}(${table}, ${p.outputScale}f, ${p.outputZeroPoint}, ${ctx.s8(inId)}, ${out}, ${p.rows}, ${p.depth});\n`;
    }
    case 'softmaxTflm': {
      const p = k.params;
      const [fn, out] = wide(ctx, outId) ? ['tf_softmax_tflm_s8_s16', s16(ctx, outId)] : ['tf_softmax_tflm_s8', ctx.s8(outId)];
      return block([
        `static const tf_softmax_tflm_params p = {${p.inputMultiplier}, ${p.inputLeftShift}, ${p.diffMin}};`,
        `${fn}(&p, ${ctx.s8(inId)}, ${out}, ${p.rows}, ${p.depth});`,
      ]);
    }
    case 'logSoftmax': {
      const p = k.params;
      return block([
        `static const tf_log_softmax_params p = {${p.inputMultiplier}, ${p.inputLeftShift}, ${p.reverseMultiplier}, ${p.reverseShift}, ${p.diffMin}};`,
        `tf_log_softmax_s8(&p, ${ctx.s8(inId)}, ${ctx.s8(outId)}, ${p.rows}, ${p.depth});`,
      ]);
    }
    case 'svdf': {
      const p = k.params;
      const stateId = prepared.inputs[4];
      const stateType = ctx.model.tensors[stateId].dtype === 'int16' ? 'TF_INT16' : 'TF_INT8';
      const wf = ctx.constArray('int8_t', `${id}_weights_feature`, p.weightsFeature);
      const wt = ctx.constArray(p.weightsTime instanceof Int16Array ? 'int16_t' : 'int8_t', `${id}_weights_time`, p.weightsTime);
      const scratch = ctx.scratch(4 * p.batches * (p.filters + p.units));
      return block([
        `static const tf_svdf_params p = {${p.batches}, ${p.inputSize}, ${p.filters}, ${p.units}, ${p.rank}, ${p.memory}, ${p.inputZeroPoint}, ${p.stateZeroPoint}, ${p.outputZeroPoint}, ` +
          `${p.featureMultiplier}, ${p.featureShift}, ${p.outputMultiplier}, ${p.outputShift}, ${stateType}, ${wf}, ${wt}, ${bias(p.bias)}};`,
        `tf_svdf(&p, ${ctx.s8(inId)}, (void *)${ctx.u8(stateId)}, ${ctx.s8(outId)}, (int32_t *)(void *)${scratch});`,
      ]);
    }
    case 'logisticTflm': {
      const p = k.params;
      return block([
        `static const tf_logistic_params p = {${p.inputZeroPoint}, ${p.inputRangeRadius}, ${p.inputMultiplier}, ${p.inputLeftShift}};`,
        `tf_logistic_s8(&p, ${ctx.s8(inId)}, ${ctx.s8(outId)}, ${ctx.elements(outId)});`,
      ]);
    }
    case 'relu':
    case 'hardSwish':
    case 'leakyRelu':
    case 'lookup':
    case 'requantize': {
      const table =
        k.kind === 'lookup'
          ? k.table
          : k.kind === 'relu'
            ? tabulate((i, o) => relu(i, o, k.params))
            : k.kind === 'hardSwish'
              ? tabulate((i, o) => hardSwish(i, o, k.params))
              : k.kind === 'leakyRelu'
                ? tabulate((i, o) => leakyRelu(i, o, k.params))
                : tabulate((i, o) => requantize(i, o, k.params));
      if (ctx.model.tensors[inId].dtype !== 'int8' || ctx.model.tensors[outId].dtype !== 'int8') {
        throw new Error(`${op.kind} at node ${op.index}: only int8 -> int8 is supported by the C generator`);
      }
      const t = ctx.constArray('int8_t', `${id}_table`, table);
      return `  tf_lut_s8(${t}, ${ctx.s8(inId)}, ${ctx.s8(outId)}, ${ctx.elements(outId)});\n`;
    }
    case 'dequantize': {
      if (ctx.model.tensors[inId].dtype !== 'int8') throw new Error(`DEQUANTIZE at node ${op.index}: only int8 input is supported by the C generator`);
      const out = new Float32Array(256);
      dequantize(Int8Array.from(ALL_BYTES), out, k.params);
      const t = ctx.constArray('float', `${id}_table`, out);
      return `  tf_lut_s8_f32(${t}, ${ctx.s8(inId)}, ${ctx.f32(outId)}, ${ctx.elements(outId)});\n`;
    }
    case 'quantize': {
      const p = k.params;
      if (ctx.model.tensors[outId].dtype !== 'int8') throw new Error(`QUANTIZE at node ${op.index}: only float32 -> int8 is supported by the C generator`);
      return `  tf_quantize_f32_s8(${p.scale.toPrecision(17)}, ${p.zeroPoint}, ${ctx.f32(inId)}, ${ctx.s8(outId)}, ${ctx.elements(outId)});\n`;
    }
    case 'pad': {
      const p = k.params;
      const t = ctx.model.tensors[inId];
      const bytes = DTYPE_BYTES[t.dtype];
      const value = new Uint8Array(bytes);
      if (t.dtype === 'float32') new DataView(value.buffer).setFloat32(0, p.value, true);
      else for (let i = 0; i < bytes; i++) value[i] = (p.value >> (8 * i)) & 0xff;
      return block([
        `static const int32_t dims[4] = {${p.inShape.join(', ')}};`,
        `static const int32_t before[4] = {${p.before.join(', ')}};`,
        `static const int32_t after[4] = {${p.after.join(', ')}};`,
        `static const uint8_t value[${bytes}] = {${Array.from(value).join(', ')}};`,
        `tf_pad(${ctx.u8(inId)}, dims, before, after, ${ctx.u8(outId)}, ${bytes}, value);`,
      ]);
    }
    case 'transpose': {
      const p = k.params;
      const rank = p.inShape.length;
      if (rank > 6) throw new Error(`TRANSPOSE at node ${op.index}: rank ${rank} is not supported by the C generator`);
      const strides = new Array<number>(rank);
      for (let i = rank - 1, s = 1; i >= 0; i--) {
        strides[i] = s;
        s *= p.inShape[i];
      }
      return block([
        `static const int32_t dims[${rank}] = {${p.perm.map((d) => p.inShape[d]).join(', ')}};`,
        `static const int32_t strides[${rank}] = {${p.perm.map((d) => strides[d]).join(', ')}};`,
        `tf_transpose(${ctx.u8(inId)}, dims, strides, ${rank}, ${DTYPE_BYTES[ctx.model.tensors[inId].dtype]}, ${ctx.u8(outId)});`,
      ]);
    }
    case 'concatenation': {
      const p = k.params;
      const bytes = DTYPE_BYTES[ctx.model.tensors[outId].dtype];
      const ptrs = prepared.inputs.map((t) => {
        const data = ctx.model.tensors[t].data;
        return data ? `(const uint8_t *)${ctx.constArray('uint8_t', `${id}_const${t}`, data)}` : ctx.u8(t);
      });
      return block([
        `const uint8_t *const ins[${ptrs.length}] = {${ptrs.join(', ')}};`,
        `static const int32_t inner[${p.chunk.length}] = {${p.chunk.map((c) => c * bytes).join(', ')}};`,
        `tf_concat(ins, inner, ${ptrs.length}, ${p.outer}, ${ctx.u8(outId)});`,
      ]);
    }
    case 'resizeNearest': {
      const p = k.params;
      const ys = Array.from({ length: p.outH }, (_, y) => nearestIndex(y, p.inH, p.outH, p.alignCorners, p.halfPixelCenters));
      const xs = Array.from({ length: p.outW }, (_, x) => nearestIndex(x, p.inW, p.outW, p.alignCorners, p.halfPixelCenters));
      const sy = ctx.constArray('int32_t', `${id}_src_y`, ys);
      const sx = ctx.constArray('int32_t', `${id}_src_x`, xs);
      const chBytes = p.channels * DTYPE_BYTES[ctx.model.tensors[inId].dtype];
      return `  tf_resize_nearest(${ctx.u8(inId)}, ${p.inW}, ${chBytes}, ${sy}, ${sx}, ${p.outH}, ${p.outW}, ${p.batches}, ${p.inH}, ${ctx.u8(outId)});\n`;
    }
    case 'copy':
      return `  tf_copy(${ctx.u8(inId)}, ${ctx.u8(outId)}, ${ctx.elements(outId) * DTYPE_BYTES[ctx.model.tensors[outId].dtype]});\n`;
  }
}
