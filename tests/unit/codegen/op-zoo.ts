import type { DType, Model, Op, OpKind, OpOptionsByKind } from '../../../src-main/core/engine/ir';
import { IrBuilder, buildTinyMobilenet } from '../../support/ir-builder';

/**
 * Small in-project int8 models for the code generator's proofs: between them they use every op the
 * generator supports (general, 1x1, 3x3 and dilated convolutions, depthwise with PAD fusion, in place
 * and with depth multiplier 2, pools, ADD, MUL, MEAN on both paths, LOGISTIC, HARD_SWISH, RELU,
 * RELU6, int8 and float QUANTIZE, DEQUANTIZE, CONCATENATION, RESIZE_NEAREST_NEIGHBOR, TRANSPOSE,
 * RESHAPE, SQUEEZE, FULLY_CONNECTED, SOFTMAX).
 */

/** Appends hand-made tensors and ops to a built model (for ops IrBuilder has no helper for). */
class Extender {
  constructor(readonly model: Model) {}

  tensor(shape: number[], quant: { scale: number; zeroPoint: number } | undefined, dtype: DType = 'int8'): number {
    const id = this.model.tensors.length;
    this.model.tensors.push({ id, name: `x${id}`, dtype, shape, quant: quant && { scale: [quant.scale], zeroPoint: [quant.zeroPoint], axis: 0 } });
    return id;
  }

  ints(values: number[]): number {
    const id = this.model.tensors.length;
    const data = new Uint8Array(values.length * 4);
    values.forEach((v, i) => new DataView(data.buffer).setInt32(i * 4, v, true));
    this.model.tensors.push({ id, name: `k${id}`, dtype: 'int32', shape: [values.length], data });
    return id;
  }

  q(id: number): { scale: number; zeroPoint: number } {
    const t = this.model.tensors[id];
    return { scale: t.quant!.scale[0], zeroPoint: t.quant!.zeroPoint[0] };
  }

  op<K extends OpKind>(kind: K, inputs: number[], outputs: number[], options: OpOptionsByKind[K]): void {
    this.model.ops.push({ index: this.model.ops.length, kind, inputs, outputs, options } as Op);
  }
}

/** Every int8 op kind in one graph, 12x12x3 input, two outputs. */
export function buildOpZoo(seed = 7): Model {
  const b = new IrBuilder('op-zoo', seed);
  const x = b.input([1, 12, 12, 3]);
  const c1 = b.conv(x, { outChannels: 8, kernel: 3, stride: 2 });
  const padded = b.pad(c1, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const d1 = b.depthwise(padded, { padding: 'valid' });
  const d2 = b.depthwise(d1, { multiplier: 2, activation: 'none' });
  const c2 = b.conv(d2, { outChannels: 8, kernel: 1, activation: 'none' });
  const sum = b.add(c2, d1, 'relu');
  const c3 = b.conv(sum, { outChannels: 8, kernel: 5, dilation: 2, padding: 'same' });
  const c4 = b.conv(c3, { outChannels: 8, kernel: 2, stride: 2, padding: 'valid', activation: 'none' });
  const mp = b.maxPool(c3, 2);
  const ap = b.avgPool(c3, 3, 2, 'same');
  const m = b.build([]);
  const e = new Extender(m);

  const prod = e.tensor([1, 3, 3, 8], { scale: e.q(mp).scale * e.q(ap).scale * 20, zeroPoint: 5 });
  e.op('MUL', [mp, ap], [prod], { activation: 'none' });
  const sig = e.tensor([1, 3, 3, 8], { scale: 1 / 256, zeroPoint: -128 });
  e.op('LOGISTIC', [prod], [sig], {});
  const hs = e.tensor([1, 3, 3, 8], { scale: e.q(c4).scale * 0.7, zeroPoint: -20 });
  e.op('HARD_SWISH', [c4], [hs], {});
  const hsq = e.tensor([1, 3, 3, 8], { scale: 1 / 256, zeroPoint: -128 });
  e.op('QUANTIZE', [hs], [hsq], {});
  const cat = e.tensor([1, 3, 3, 16], { scale: 1 / 256, zeroPoint: -128 });
  e.op('CONCATENATION', [sig, hsq], [cat], { axis: 3, activation: 'none' });
  const big = e.tensor([1, 5, 7, 16], e.q(cat));
  e.op('RESIZE_NEAREST_NEIGHBOR', [cat, e.ints([5, 7])], [big], { alignCorners: false, halfPixelCenters: true });
  const nchw = e.tensor([1, 16, 5, 7], e.q(cat));
  e.op('TRANSPOSE', [big, e.ints([0, 3, 1, 2])], [nchw], {});
  const rowMean = e.tensor([1, 16, 5], e.q(cat));
  e.op('MEAN', [nchw, e.ints([3])], [rowMean], { keepDims: false });
  const gap = e.tensor([1, 1, 1, 16], { scale: 1 / 300, zeroPoint: -100 });
  e.op('MEAN', [big, e.ints([1, 2])], [gap], { keepDims: true });
  const r6 = e.tensor([1, 1, 1, 16], { scale: 1 / 300, zeroPoint: -128 });
  e.op('RELU6', [gap], [r6], {});
  const sq = e.tensor([1, 16], e.q(r6));
  e.op('SQUEEZE', [r6], [sq], { squeezeDims: [1, 2] });
  const relu = e.tensor([1, 16], { scale: 1 / 200, zeroPoint: -128 });
  e.op('RELU', [sq], [relu], {});
  m.outputs = [relu, rowMean];
  return m;
}

/** Float input and output around an int8 body (QUANTIZE float->int8, DEQUANTIZE), like mcunet_vww1. */
export function buildFloatWrapped(seed = 3): Model {
  const b = new IrBuilder('float-wrapped', seed);
  const x = b.input([1, 6, 6, 2], { scale: 1 / 128, zeroPoint: 3 });
  const y = b.conv(x, { outChannels: 4, kernel: 3 });
  const flat = b.reshape(y, [1, 144]);
  const logits = b.fullyConnected(flat, 5);
  const probs = b.softmax(logits);
  const m = b.build([]);
  const e = new Extender(m);
  // Turn the int8 input into a float input followed by QUANTIZE.
  const fin = e.tensor([1, 6, 6, 2], undefined, 'float32');
  m.ops.unshift({ index: -1, kind: 'QUANTIZE', inputs: [fin], outputs: [x], options: {} });
  m.ops.forEach((op, i) => (op.index = i));
  const fout = e.tensor([1, 5], undefined, 'float32');
  e.op('DEQUANTIZE', [probs], [fout], {});
  m.inputs = [fin];
  m.outputs = [fout];
  return m;
}

/** The project's MobileNetV2-like test model with its feature map exposed. */
export function buildTinyMobilenetModel(): Model {
  return buildTinyMobilenet(1, 32, true);
}
