import type { Model, Op } from '../../engine/ir';
import { windowGeometry } from '../../engine/runtime/geometry';
import type { ConvGeometry } from '../float/kernels';

/** The float kernels' geometry of an int8 CONV_2D / DEPTHWISE_CONV_2D op (batch 1). */
export function convGeometryOf(model: Model, op: Extract<Op, { kind: 'CONV_2D' | 'DEPTHWISE_CONV_2D' }>): ConvGeometry {
  const x = model.tensors[op.inputs[0]].shape;
  const w = model.tensors[op.inputs[1]].shape;
  const y = model.tensors[op.outputs[0]].shape;
  const g = windowGeometry(x[1], x[2], w[1], w[2], op.options);
  return {
    n: 1,
    inH: x[1],
    inW: x[2],
    inC: x[3],
    outH: y[1],
    outW: y[2],
    outC: y[3],
    kh: w[1],
    kw: w[2],
    strideH: op.options.strideH,
    strideW: op.options.strideW,
    padTop: g.padTop,
    padLeft: g.padLeft,
  };
}

/** Checks that an AVERAGE_POOL_2D or MEAN reduces over the whole plane (global pooling). */
export function globalPoolPlane(model: Model, op: Op): { hw: number; c: number } {
  const x = model.tensors[op.inputs[0]].shape;
  if (x.length !== 4) throw new Error(`${op.kind} at node ${op.index}: training expects an NHWC input`);
  const hw = x[1] * x[2];
  if (op.kind === 'AVERAGE_POOL_2D') {
    const o = op.options;
    if (!(o.filterH === x[1] && o.filterW === x[2] && o.padding === 'valid')) {
      throw new Error(`AVERAGE_POOL_2D at node ${op.index}: training supports global pooling only`);
    }
  } else if (op.kind === 'MEAN') {
    const axes = model.tensors[op.inputs[1]].data;
    const ax = axes ? Array.from(new Int32Array(axes.buffer.slice(axes.byteOffset, axes.byteOffset + axes.byteLength))) : [];
    if (ax.sort().join() !== '1,2') throw new Error(`MEAN at node ${op.index}: training supports the mean over H and W only`);
  }
  return { hw, c: x[3] };
}
