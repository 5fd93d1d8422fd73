import { BN_EPS } from './network';
import type { NetState } from './network';
import type { FloatActivation } from './spec';
import { layerShapes } from './spec';

/** One op of an inference graph after batch-norm folding, with float weights. */
export type FoldedOp =
  | {
      kind: 'conv' | 'dwconv';
      /** Conv: OHWI; depthwise: [1, kh, kw, C]. */
      weight: Float32Array;
      bias: Float32Array;
      weightShape: number[];
      stride: [number, number];
      padding: 'same' | 'valid';
      act: FloatActivation;
      outShape: [number, number, number];
    }
  | { kind: 'add'; from: number; outShape: [number, number, number] }
  | { kind: 'gap'; outShape: [number, number, number] }
  | { kind: 'dense'; weight: Float32Array; bias: Float32Array; weightShape: number[]; act: FloatActivation; outShape: [number, number, number] };

/** A float inference graph: op i consumes op i-1's output (or the input for i = 0). */
export interface FoldedNet {
  name: string;
  inputShape: [number, number, number];
  numClasses: number;
  ops: FoldedOp[];
}

/**
 * Folds every batch norm into its conv: w' = w * gamma / sqrt(var + eps) per output channel and
 * b' = beta + (b - mean) * gamma / sqrt(var + eps). The result computes exactly what the network
 * computes in inference mode.
 */
export function foldBatchNorm(state: NetState): FoldedNet {
  const { spec, params } = state;
  const shapes = layerShapes(spec);
  const ops: FoldedOp[] = spec.layers.map((layer, i) => {
    const p = params[i];
    const inC = i === 0 ? spec.inputShape[2] : shapes[i - 1][2];
    const outShape = shapes[i];
    switch (layer.kind) {
      case 'conv':
      case 'dwconv': {
        const outC = outShape[2];
        const weight = p.weight!.slice();
        const bias = p.bias ? p.bias.slice() : new Float32Array(outC);
        if (p.bn) {
          const per = weight.length / outC;
          for (let o = 0; o < outC; o++) {
            const s = p.bn.gamma[o] / Math.sqrt(p.bn.runningVar[o] + BN_EPS);
            // Conv weights are OHWI (channel-major); depthwise [1,kh,kw,C] has the channel innermost.
            if (layer.kind === 'conv') for (let k = 0; k < per; k++) weight[o * per + k] *= s;
            else for (let k = 0; k < per; k++) weight[k * outC + o] *= s;
            bias[o] = p.bn.beta[o] + (bias[o] - p.bn.runningMean[o]) * s;
          }
        }
        const weightShape = layer.kind === 'conv' ? [outC, layer.kernel[0], layer.kernel[1], inC] : [1, layer.kernel[0], layer.kernel[1], outC];
        return { kind: layer.kind, weight, bias, weightShape, stride: layer.stride, padding: layer.padding, act: layer.act, outShape };
      }
      case 'add':
        return { kind: 'add', from: layer.from, outShape };
      case 'gap':
        return { kind: 'gap', outShape };
      case 'dense':
        return { kind: 'dense', weight: p.weight!.slice(), bias: p.bias!.slice(), weightShape: [layer.out, inC], act: layer.act, outShape };
    }
  });
  return { name: spec.name, inputShape: spec.inputShape, numClasses: spec.numClasses, ops };
}
