import { conv2dForward, denseForward, depthwiseForward, globalAvgPoolForward } from '../float/kernels';
import type { TrainGraph } from './graph';
import { convGeometryOf, globalPoolPlane } from './op-geometry';
import { clampRange, dequantize } from './real-params';
import type { ForwardTrace } from './trace';

/**
 * Runs the int8 graph's float equivalent: the same dequantized weights and biases (or the given
 * real parameters), real-valued activations without requantization, fused clamps at the real
 * values of the int8 clamp bounds. The gradient check differentiates exactly this function.
 */
export function floatEquivalentForward(graph: TrainGraph, input: Int8Array, params: Map<number, Float32Array>): ForwardTrace {
  const { model } = graph;
  const values = new Map<number, Float32Array>();
  const masks = new Map<number, Uint8Array>();
  values.set(model.inputs[0], dequantize(model, model.inputs[0], input));
  const param = (t: number) => {
    const p = params.get(t);
    if (!p) throw new Error(`no real values for tensor ${t}`);
    return p;
  };
  for (const op of graph.ops) {
    const x = values.get(op.inputs[0])!;
    let y: Float32Array;
    switch (op.kind) {
      case 'CONV_2D':
        y = conv2dForward(convGeometryOf(model, op), x, param(op.inputs[1]), param(op.inputs[2]));
        break;
      case 'DEPTHWISE_CONV_2D':
        y = depthwiseForward(convGeometryOf(model, op), x, param(op.inputs[1]), param(op.inputs[2]));
        break;
      case 'FULLY_CONNECTED': {
        const w = model.tensors[op.inputs[1]].shape;
        y = denseForward(1, w[1], w[0], x, param(op.inputs[1]), param(op.inputs[2]));
        break;
      }
      case 'ADD': {
        const b = values.get(op.inputs[1])!;
        y = Float32Array.from(x, (v, k) => v + b[k]);
        break;
      }
      case 'AVERAGE_POOL_2D':
      case 'MEAN': {
        const { hw, c } = globalPoolPlane(model, op);
        y = globalAvgPoolForward(1, hw, c, x);
        break;
      }
      case 'RESHAPE':
      case 'SQUEEZE':
        y = x;
        break;
      default:
        throw new Error(`float equivalent does not run ${op.kind} (node ${op.index})`);
    }
    const act = 'activation' in op.options ? op.options.activation : 'none';
    if (act !== 'none') {
      const out = model.tensors[op.outputs[0]];
      const [qmin, qmax] = clampRange(model, op.outputs[0], act);
      const s = out.quant!.scale[0];
      const zp = out.quant!.zeroPoint[0];
      const lo = s * (qmin - zp);
      const hi = s * (qmax - zp);
      const mask = new Uint8Array(y.length);
      const clamped = new Float32Array(y.length);
      for (let k = 0; k < y.length; k++) {
        const v = y[k];
        mask[k] = v > lo && v < hi ? 1 : 0;
        clamped[k] = v < lo ? lo : v > hi ? hi : v;
      }
      masks.set(op.outputs[0], mask);
      y = clamped;
    }
    values.set(op.outputs[0], y);
  }
  return {
    logits: values.get(graph.logits)!,
    activation: (t) => values.get(t) ?? missing('activation', t),
    mask: (t) => masks.get(t) ?? missing('mask', t),
  };
}

function missing(what: string, t: number): never {
  throw new Error(`the forward pass kept no ${what} for tensor ${t}`);
}
