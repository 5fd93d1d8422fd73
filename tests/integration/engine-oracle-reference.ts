import { type Model, type Op, type Tensor, elementCount } from '../../src-main/core/engine/ir';
import { quantizeMultiplier } from '../../src-main/core/engine/runtime/fixed-point';
import { logisticOneRef, softmaxRef } from '../support/tflm-probability-reference';

/**
 * A deliberately plain, scalar transcription of TFLite Micro's reference int8 kernels
 * (reference_integer_ops::ConvPerChannel, DepthwiseConvPerChannel, FullyConnected, Mean) with
 * double rounding done in BigInt, plus the fixed-point SOFTMAX and LOGISTIC of
 * tests/support/tflm-probability-reference.ts. It shares nothing with the runtime's kernels except
 * QuantizeMultiplier, so "our tflm kernels equal this" is an independent check.
 */

function srdhm(a: bigint, b: bigint): bigint {
  if (a === -(2n ** 31n) && b === -(2n ** 31n)) return 2n ** 31n - 1n;
  const ab = a * b;
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return (ab + nudge) / (1n << 31n);
}
function rdbp(x: bigint, e: bigint): bigint {
  const mask = (1n << e) - 1n;
  const rem = x & mask;
  const threshold = (mask >> 1n) + (x < 0n ? 1n : 0n);
  return (x >> e) + (rem > threshold ? 1n : 0n);
}
/** TFLite Micro's MultiplyByQuantizedMultiplier (double rounding). */
export function mbqmDouble(acc: number, multiplier: number, shift: number): number {
  const left = BigInt(shift > 0 ? shift : 0);
  const right = BigInt(shift > 0 ? 0 : -shift);
  const x = BigInt.asIntN(32, BigInt(acc) << left);
  return Number(rdbp(srdhm(x, BigInt(multiplier)), right));
}

const zp = (t: Tensor) => t.quant?.zeroPoint[0] ?? 0;
const sc = (t: Tensor) => t.quant?.scale[0] ?? 1;
const int8 = (t: Tensor) => new Int8Array(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
const int32 = (t: Tensor | undefined) => {
  if (!t) return null;
  const v = new DataView(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
  return Array.from({ length: elementCount(t.shape) }, (_, i) => v.getInt32(4 * i, true));
};
function clampRange(activation: string, out: Tensor): [number, number] {
  const q = (f: number) => zp(out) + Math.sign(f / sc(out)) * Math.round(Math.abs(Math.fround(f / sc(out))));
  if (activation === 'relu') return [Math.max(-128, q(0)), 127];
  if (activation === 'relu6') return [Math.max(-128, q(0)), Math.min(127, q(6))];
  if (activation === 'relu_n1_to_1') return [Math.max(-128, q(-1)), Math.min(127, q(1))];
  return [-128, 127];
}
function samePadding(inSize: number, k: number, stride: number, dilation: number, padding: string): [number, number] {
  const eff = (k - 1) * dilation + 1;
  const out = padding === 'same' ? Math.ceil(inSize / stride) : Math.ceil((inSize - eff + 1) / stride);
  const total = Math.max(0, (out - 1) * stride + eff - inSize);
  return [out, Math.floor(total / 2)];
}

/** Runs one CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, spatial MEAN, SOFTMAX or LOGISTIC op the TFLite Micro way. */
export function referenceTflm(model: Model, op: Op, input: ArrayLike<number>): Int8Array {
  const T = model.tensors;
  const inT = T[op.inputs[0]], out = T[op.outputs[0]];
  const result = new Int8Array(elementCount(out.shape));
  if (op.kind === 'CONV_2D' || op.kind === 'DEPTHWISE_CONV_2D') {
    const f = T[op.inputs[1]], w = int8(f), bias = int32(op.inputs[2] >= 0 ? T[op.inputs[2]] : undefined);
    const [, H, W, C] = inT.shape;
    const [, KH, KW] = f.shape;
    const OC = out.shape[3];
    const o = op.options;
    const [OH, padT] = samePadding(H, KH, o.strideH, o.dilationH, o.padding);
    const [OW, padL] = samePadding(W, KW, o.strideW, o.dilationW, o.padding);
    const [lo, hi] = clampRange(o.activation, out);
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let oc = 0; oc < OC; oc++) {
          let acc = 0;
          for (let ky = 0; ky < KH; ky++)
            for (let kx = 0; kx < KW; kx++) {
              const iy = oy * o.strideH - padT + ky * o.dilationH, ix = ox * o.strideW - padL + kx * o.dilationW;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              if (op.kind === 'CONV_2D') {
                for (let ic = 0; ic < C; ic++) acc += (input[(iy * W + ix) * C + ic] - zp(inT)) * w[((oc * KH + ky) * KW + kx) * C + ic];
              } else {
                const ic = Math.floor(oc / (OC / C));
                acc += (input[(iy * W + ix) * C + ic] - zp(inT)) * w[(ky * KW + kx) * OC + oc];
              }
            }
          if (bias) acc += bias[oc];
          const fs = f.quant!.scale.length === 1 ? f.quant!.scale[0] : f.quant!.scale[oc];
          const m = quantizeMultiplier((sc(inT) * fs) / sc(out));
          result[(oy * OW + ox) * OC + oc] = Math.min(hi, Math.max(lo, mbqmDouble(acc, m.multiplier, m.shift) + zp(out)));
        }
    return result;
  }
  if (op.kind === 'FULLY_CONNECTED') {
    const f = T[op.inputs[1]], w = int8(f), bias = int32(op.inputs[2] >= 0 ? T[op.inputs[2]] : undefined);
    const [units, depth] = f.shape;
    const [lo, hi] = clampRange(op.options.activation, out);
    for (let r = 0; r < elementCount(inT.shape) / depth; r++)
      for (let u = 0; u < units; u++) {
        let acc = 0;
        for (let d = 0; d < depth; d++) acc += (input[r * depth + d] - zp(inT)) * w[u * depth + d];
        if (bias) acc += bias[u];
        const fs = f.quant!.scale.length === 1 ? f.quant!.scale[0] : f.quant!.scale[u];
        const m = quantizeMultiplier((sc(inT) * fs) / sc(out));
        result[r * units + u] = Math.min(hi, Math.max(lo, mbqmDouble(acc, m.multiplier, m.shift) + zp(out)));
      }
    return result;
  }
  if (op.kind === 'MEAN') {
    const [, H, W, C] = inT.shape;
    const n = H * W;
    const m = quantizeMultiplier(sc(inT) / sc(out));
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += input[i * C + c] - zp(inT);
      acc = mbqmDouble(acc, m.multiplier, m.shift);
      acc = acc > 0 ? Math.trunc((acc + Math.floor(n / 2)) / n) : Math.trunc((acc - Math.floor(n / 2)) / n);
      result[c] = Math.min(127, Math.max(-128, acc + zp(out)));
    }
    return result;
  }
  if (op.kind === 'SOFTMAX') {
    const depth = inT.shape[inT.shape.length - 1];
    for (let r = 0; r < result.length / depth; r++) {
      const row = softmaxRef(Array.from(input).slice(r * depth, (r + 1) * depth), sc(inT), op.options.beta);
      if (row === 'abort') throw new Error(`SOFTMAX at node ${op.index}: TFLite Micro aborts on row ${r}`);
      result.set(row, r * depth);
    }
    return result;
  }
  if (op.kind === 'LOGISTIC') {
    for (let i = 0; i < result.length; i++) result[i] = logisticOneRef(input[i], sc(inT), zp(inT));
    return result;
  }
  throw new Error(`no TFLite Micro reference for ${op.kind}`);
}
