import type { FoldedNet } from './bn-fold';
import type { ConvGeometry } from './kernels';
import { conv2dForward, denseForward, depthwiseForward, globalAvgPoolForward, windowGeometry } from './kernels';
import { activate } from './network';

/** Geometry of folded conv op `i` for a batch. */
export function foldedGeometry(net: FoldedNet, i: number, batch: number): ConvGeometry {
  const op = net.ops[i];
  if (op.kind !== 'conv' && op.kind !== 'dwconv') throw new Error(`op ${i} is not a convolution`);
  const [inH, inW, inC] = i === 0 ? net.inputShape : net.ops[i - 1].outShape;
  const [outH, outW, outC] = op.outShape;
  const kh = op.weightShape[1];
  const kw = op.weightShape[2];
  return {
    n: batch,
    inH,
    inW,
    inC,
    outH,
    outW,
    outC,
    kh,
    kw,
    strideH: op.stride[0],
    strideW: op.stride[1],
    padTop: windowGeometry(op.padding, inH, kh, op.stride[0]).padBefore,
    padLeft: windowGeometry(op.padding, inW, kw, op.stride[1]).padBefore,
  };
}

/** Runs a folded float network on a batch and returns every op's output (the last is the logits). */
export function foldedForward(net: FoldedNet, x: Float32Array, batch: number): Float32Array[] {
  const outs: Float32Array[] = [];
  let cur = x;
  net.ops.forEach((op, i) => {
    let y: Float32Array;
    switch (op.kind) {
      case 'conv':
        y = activate(op.act, conv2dForward(foldedGeometry(net, i, batch), cur, op.weight, op.bias));
        break;
      case 'dwconv':
        y = activate(op.act, depthwiseForward(foldedGeometry(net, i, batch), cur, op.weight, op.bias));
        break;
      case 'dense':
        y = activate(op.act, denseForward(batch, op.weightShape[1], op.weightShape[0], cur, op.weight, op.bias));
        break;
      case 'gap': {
        const [h, w, c] = i === 0 ? net.inputShape : net.ops[i - 1].outShape;
        y = globalAvgPoolForward(batch, h * w, c, cur);
        break;
      }
      case 'add': {
        const other = outs[op.from];
        y = new Float32Array(cur.length);
        for (let k = 0; k < y.length; k++) y[k] = cur[k] + other[k];
        break;
      }
    }
    outs.push(y);
    cur = y;
  });
  return outs;
}
