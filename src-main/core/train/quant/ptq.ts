import type { Activation, Model, Op, Quantization, Tensor } from '../../engine/ir';
import { roundHalfAway } from '../../engine/runtime/fixed-point';
import type { Sample } from '../data/task';
import type { FoldedNet } from '../float/bn-fold';
import type { CalibrationRanges } from './calibrate';
import { asymmetricQParams, calibrate } from './calibrate';

/** Options of post-training quantization. */
export interface QuantizeOptions {
  name?: string;
  description?: string;
  /**
   * Per-output-channel weight scales on FULLY_CONNECTED too (TFLite supports it in newer
   * versions); default per-tensor, which every TFLite runtime accepts.
   */
  perChannelDense?: boolean;
}

/** Builds the tensor table of an IR model, one id per tensor. */
class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];

  tensor(name: string, dtype: Tensor['dtype'], shape: number[], quant?: Quantization, data?: Uint8Array): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name, dtype, shape, quant, data });
    return id;
  }

  op(op: Omit<Op, 'index'>): void {
    this.ops.push({ ...op, index: this.ops.length } as Op);
  }
}

const perTensor = (scale: number, zeroPoint: number): Quantization => ({ scale: [scale], zeroPoint: [zeroPoint], axis: 0 });

/**
 * Symmetric int8 quantization of a weight tensor with one scale per slice of `axis` (or one scale
 * when `perChannel` is false): s = max|w| / 127, q = round(w / s) in [-127, 127], ties away from
 * zero as TFLite's converter rounds.
 */
export function quantizeWeights(weight: Float32Array, shape: number[], axis: number, perChannel: boolean): { q: Int8Array; scales: number[] } {
  const channels = perChannel ? shape[axis] : 1;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (k: number) => (perChannel ? Math.floor(k / inner) % channels : 0);
  const maxAbs = new Float64Array(channels);
  for (let k = 0; k < weight.length; k++) maxAbs[chanOf(k)] = Math.max(maxAbs[chanOf(k)], Math.abs(weight[k]));
  // An all-zero channel still needs a positive scale for the requantization multiplier.
  const scales = Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1e-6));
  const q = new Int8Array(weight.length);
  for (let k = 0; k < weight.length; k++) q[k] = Math.max(-127, Math.min(127, roundHalfAway(weight[k] / scales[chanOf(k)])));
  return { q, scales };
}

/** int32 bias with scale inputScale * weightScale[c] (TFLite's convention, zero point 0). */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: number[]): Int32Array {
  const out = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = inputScale * (weightScales.length === 1 ? weightScales[0] : weightScales[c]);
    out[c] = Math.max(-2147483648, Math.min(2147483647, roundHalfAway(bias[c] / s)));
  }
  return out;
}

const bytesOf = (a: Int8Array | Int32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/**
 * Post-training int8 quantization of a folded float network into an engine Model with TFLite's
 * conventions: int8 input and output, per-channel symmetric weights (OHWI conv with axis 0,
 * [1,kh,kw,C] depthwise with axis 3), int32 biases, asymmetric activations from the calibration
 * ranges, fused ReLU/ReLU6, global pooling as AVERAGE_POOL_2D + RESHAPE, the classifier as
 * FULLY_CONNECTED producing int8 logits.
 */
export function quantizeNet(net: FoldedNet, calibration: readonly Sample[] | CalibrationRanges, options: QuantizeOptions = {}): Model {
  const ranges = 'ops' in calibration ? calibration : calibrate(net, calibration);
  const g = new GraphBuilder();
  const [H, W, C] = net.inputShape;
  const inQ = asymmetricQParams(ranges.input[0], ranges.input[1]);
  const input = g.tensor('input', 'int8', [1, H, W, C], perTensor(inQ.scale, inQ.zeroPoint));
  const outIds: number[] = [];
  let cur = input;
  net.ops.forEach((op, i) => {
    const curT = g.tensors[cur];
    const inScale = curT.quant!.scale[0];
    const outShape = [1, ...op.outShape];
    const act: Activation = op.kind === 'conv' || op.kind === 'dwconv' || op.kind === 'dense' ? op.act : 'none';
    const calibrated = () => {
      const q = asymmetricQParams(ranges.ops[i][0], ranges.ops[i][1]);
      return perTensor(q.scale, q.zeroPoint);
    };
    let out: number;
    switch (op.kind) {
      case 'conv':
      case 'dwconv': {
        const depthwise = op.kind === 'dwconv';
        const axis = depthwise ? 3 : 0;
        const { q, scales } = quantizeWeights(op.weight, op.weightShape, axis, true);
        const zeros = scales.map(() => 0);
        const w = g.tensor(`op${i}/weights`, 'int8', op.weightShape, { scale: scales, zeroPoint: zeros, axis }, bytesOf(q));
        const b = g.tensor(`op${i}/bias`, 'int32', [op.outShape[2]], { scale: scales.map((s) => s * inScale), zeroPoint: zeros, axis: 0 }, bytesOf(quantizeBias(op.bias, inScale, scales)));
        out = g.tensor(`op${i}/${depthwise ? 'depthwise' : 'conv'}`, 'int8', outShape, calibrated());
        const common = { padding: op.padding, strideH: op.stride[0], strideW: op.stride[1], dilationH: 1, dilationW: 1, activation: act };
        if (depthwise) g.op({ kind: 'DEPTHWISE_CONV_2D', inputs: [cur, w, b], outputs: [out], options: { ...common, depthMultiplier: 1 } });
        else g.op({ kind: 'CONV_2D', inputs: [cur, w, b], outputs: [out], options: common });
        break;
      }
      case 'add':
        out = g.tensor(`op${i}/add`, 'int8', outShape, calibrated());
        g.op({ kind: 'ADD', inputs: [outIds[op.from], cur], outputs: [out], options: { activation: 'none' } });
        break;
      case 'gap': {
        const [h, w] = curT.shape.slice(1, 3);
        // TFLite requires AVERAGE_POOL_2D to keep its input's quantization.
        const pooled = g.tensor(`op${i}/avgpool`, 'int8', [1, 1, 1, op.outShape[2]], curT.quant);
        g.op({ kind: 'AVERAGE_POOL_2D', inputs: [cur], outputs: [pooled], options: { padding: 'valid', strideH: 1, strideW: 1, filterH: h, filterW: w, activation: 'none' } });
        const newShape = [1, op.outShape[2]];
        const shapeT = g.tensor(`op${i}/shape`, 'int32', [2], undefined, bytesOf(Int32Array.from(newShape)));
        out = g.tensor(`op${i}/flatten`, 'int8', newShape, curT.quant);
        g.op({ kind: 'RESHAPE', inputs: [pooled, shapeT], outputs: [out], options: { newShape } });
        break;
      }
      case 'dense': {
        const perChannel = options.perChannelDense ?? false;
        const { q, scales } = quantizeWeights(op.weight, op.weightShape, 0, perChannel);
        const zeros = scales.map(() => 0);
        const w = g.tensor(`op${i}/weights`, 'int8', op.weightShape, { scale: scales, zeroPoint: zeros, axis: 0 }, bytesOf(q));
        const b = g.tensor(`op${i}/bias`, 'int32', [op.weightShape[0]], { scale: scales.map((s) => s * inScale), zeroPoint: zeros, axis: 0 }, bytesOf(quantizeBias(op.bias, inScale, scales)));
        out = g.tensor(i === net.ops.length - 1 ? 'logits' : `op${i}/dense`, 'int8', [1, op.weightShape[0]], calibrated());
        g.op({ kind: 'FULLY_CONNECTED', inputs: [cur, w, b], outputs: [out], options: { activation: act, keepNumDims: false } });
        break;
      }
    }
    outIds.push(out);
    cur = out;
  });
  return {
    name: options.name ?? net.name,
    description: options.description ?? `int8 post-training quantization of ${net.name}`,
    tensors: g.tensors,
    ops: g.ops,
    inputs: [input],
    outputs: [cur],
  };
}
