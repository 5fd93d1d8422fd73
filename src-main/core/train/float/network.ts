import type { ConvGeometry } from './kernels';
import {
  conv2dBackward,
  conv2dForward,
  denseBackward,
  denseForward,
  depthwiseBackward,
  depthwiseForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  windowGeometry,
} from './kernels';
import type { FloatActivation, NetSpec } from './spec';
import { layerShapes } from './spec';
import { Rng } from '../data/rng';

/** A trainable tensor and its gradient. */
export interface Param {
  name: string;
  value: Float32Array;
  grad: Float32Array;
  /** Weight decay applies to weights, not to biases and batch-norm parameters. */
  decay: boolean;
}

/** Batch-norm state of one layer. */
export interface BatchNormState {
  gamma: Float32Array;
  beta: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

/** Parameters of one layer (weights OHWI for conv, [1,kh,kw,C] for depthwise, [out,in] for dense). */
export interface LayerParams {
  weight?: Float32Array;
  bias?: Float32Array;
  bn?: BatchNormState;
}

/** Serializable network state (structured-clone friendly, for worker threads and files). */
export interface NetState {
  spec: NetSpec;
  params: LayerParams[];
}

export const BN_EPS = 1e-3;
const BN_MOMENTUM = 0.1;

interface LayerCache {
  input: Float32Array;
  /** Conv/dense output before batch norm. */
  preNorm?: Float32Array;
  /** Normalised values and per-channel 1/std, for the batch-norm backward. */
  xhat?: Float32Array;
  invStd?: Float32Array;
  /** Value before the activation. */
  preAct?: Float32Array;
  output: Float32Array;
}

/** What a forward pass keeps for the backward pass. */
export interface ForwardResult {
  logits: Float32Array;
  batch: number;
  caches: LayerCache[];
}

/**
 * A small CNN in float32 for training on the desktop: conv/depthwise with optional batch norm and
 * fused ReLU/ReLU6, residual adds, global average pooling and a dense classifier.
 */
export class FloatNet {
  readonly spec: NetSpec;
  readonly shapes: [number, number, number][];
  readonly params: LayerParams[];
  readonly grads: LayerParams[];

  constructor(state: NetState) {
    this.spec = state.spec;
    this.shapes = layerShapes(state.spec);
    this.params = state.params;
    this.grads = state.params.map((p) => ({
      weight: p.weight ? new Float32Array(p.weight.length) : undefined,
      bias: p.bias ? new Float32Array(p.bias.length) : undefined,
      bn: p.bn
        ? { gamma: new Float32Array(p.bn.gamma.length), beta: new Float32Array(p.bn.beta.length), runningMean: new Float32Array(0), runningVar: new Float32Array(0) }
        : undefined,
    }));
  }

  /** A freshly initialised network (He-normal weights, zero biases, unit batch norm). */
  static create(spec: NetSpec, seed: number): FloatNet {
    const rng = new Rng(seed);
    const shapes = layerShapes(spec);
    const params: LayerParams[] = spec.layers.map((layer, i) => {
      const inC = i === 0 ? spec.inputShape[2] : shapes[i - 1][2];
      const he = (fanIn: number, count: number) => {
        const std = Math.sqrt(2 / fanIn);
        return Float32Array.from({ length: count }, () => std * rng.normal());
      };
      const bnOf = (c: number): BatchNormState => ({
        gamma: new Float32Array(c).fill(1),
        beta: new Float32Array(c),
        runningMean: new Float32Array(c),
        runningVar: new Float32Array(c).fill(1),
      });
      switch (layer.kind) {
        case 'conv': {
          const fanIn = layer.kernel[0] * layer.kernel[1] * inC;
          return {
            weight: he(fanIn, layer.out * fanIn),
            bias: layer.bn ? undefined : new Float32Array(layer.out),
            bn: layer.bn ? bnOf(layer.out) : undefined,
          };
        }
        case 'dwconv': {
          const fanIn = layer.kernel[0] * layer.kernel[1];
          return { weight: he(fanIn, fanIn * inC), bias: layer.bn ? undefined : new Float32Array(inC), bn: layer.bn ? bnOf(inC) : undefined };
        }
        case 'dense':
          return { weight: he(inC, layer.out * inC).map((v) => v * (i === spec.layers.length - 1 ? 0.5 : 1)), bias: new Float32Array(layer.out) };
        default:
          return {};
      }
    });
    return new FloatNet({ spec, params });
  }

  /** The state to send to a worker or save (shares the arrays). */
  state(): NetState {
    return { spec: this.spec, params: this.params };
  }

  /** Every trainable tensor with its gradient buffer. */
  trainable(): Param[] {
    const out: Param[] = [];
    this.params.forEach((p, i) => {
      const g = this.grads[i];
      if (p.weight) out.push({ name: `${i}.weight`, value: p.weight, grad: g.weight!, decay: true });
      if (p.bias) out.push({ name: `${i}.bias`, value: p.bias, grad: g.bias!, decay: false });
      if (p.bn) {
        out.push({ name: `${i}.gamma`, value: p.bn.gamma, grad: g.bn!.gamma, decay: false });
        out.push({ name: `${i}.beta`, value: p.bn.beta, grad: g.bn!.beta, decay: false });
      }
    });
    return out;
  }

  /** Zeroes every gradient. */
  zeroGrad(): void {
    for (const p of this.trainable()) p.grad.fill(0);
  }

  inputShapeOf(i: number): [number, number, number] {
    return i === 0 ? this.spec.inputShape : this.shapes[i - 1];
  }

  geometry(i: number, batch: number): ConvGeometry {
    const layer = this.spec.layers[i];
    if (layer.kind !== 'conv' && layer.kind !== 'dwconv') throw new Error(`layer ${i} is not a convolution`);
    const [inH, inW, inC] = this.inputShapeOf(i);
    const [outH, outW, outC] = this.shapes[i];
    return {
      n: batch,
      inH,
      inW,
      inC,
      outH,
      outW,
      outC,
      kh: layer.kernel[0],
      kw: layer.kernel[1],
      strideH: layer.stride[0],
      strideW: layer.stride[1],
      padTop: windowGeometry(layer.padding, inH, layer.kernel[0], layer.stride[0]).padBefore,
      padLeft: windowGeometry(layer.padding, inW, layer.kernel[1], layer.stride[1]).padBefore,
    };
  }

  /**
   * Runs a batch (x is [batch, H, W, C] flattened). In training mode batch norm uses batch
   * statistics and updates its running averages; otherwise it uses the running averages.
   */
  forward(x: Float32Array, batch: number, training: boolean): ForwardResult {
    const caches: LayerCache[] = [];
    let cur = x;
    this.spec.layers.forEach((layer, i) => {
      const p = this.params[i];
      const cache: LayerCache = { input: cur, output: cur };
      let y: Float32Array;
      switch (layer.kind) {
        case 'conv':
          y = conv2dForward(this.geometry(i, batch), cur, p.weight!, p.bias ?? null);
          break;
        case 'dwconv':
          y = depthwiseForward(this.geometry(i, batch), cur, p.weight!, p.bias ?? null);
          break;
        case 'dense': {
          const inF = this.inputShapeOf(i)[2];
          y = denseForward(batch, inF, layer.out, cur, p.weight!, p.bias!);
          break;
        }
        case 'gap': {
          const [h, w, c] = this.inputShapeOf(i);
          y = globalAvgPoolForward(batch, h * w, c, cur);
          break;
        }
        case 'add': {
          const other = caches[layer.from].output;
          y = new Float32Array(cur.length);
          for (let k = 0; k < y.length; k++) y[k] = cur[k] + other[k];
          break;
        }
      }
      if (p.bn) {
        cache.preNorm = y;
        y = this.batchNormForward(p.bn, y, training, cache);
      }
      if ('act' in layer && layer.act !== 'none') {
        cache.preAct = y;
        y = activate(layer.act, y);
      }
      cache.output = y;
      caches.push(cache);
      cur = y;
    });
    return { logits: cur, batch, caches };
  }

  private batchNormForward(bn: BatchNormState, y: Float32Array, training: boolean, cache: LayerCache): Float32Array {
    const c = bn.gamma.length;
    const m = y.length / c;
    const out = new Float32Array(y.length);
    const mean = new Float64Array(c);
    const variance = new Float64Array(c);
    if (training) {
      for (let k = 0; k < y.length; k++) mean[k % c] += y[k];
      for (let j = 0; j < c; j++) mean[j] /= m;
      for (let k = 0; k < y.length; k++) {
        const d = y[k] - mean[k % c];
        variance[k % c] += d * d;
      }
      for (let j = 0; j < c; j++) {
        variance[j] /= m;
        bn.runningMean[j] = (1 - BN_MOMENTUM) * bn.runningMean[j] + BN_MOMENTUM * mean[j];
        bn.runningVar[j] = (1 - BN_MOMENTUM) * bn.runningVar[j] + BN_MOMENTUM * variance[j] * (m / Math.max(m - 1, 1));
      }
    } else {
      for (let j = 0; j < c; j++) {
        mean[j] = bn.runningMean[j];
        variance[j] = bn.runningVar[j];
      }
    }
    const invStd = new Float32Array(c);
    for (let j = 0; j < c; j++) invStd[j] = 1 / Math.sqrt(variance[j] + BN_EPS);
    const xhat = new Float32Array(y.length);
    for (let k = 0; k < y.length; k++) {
      const j = k % c;
      xhat[k] = (y[k] - mean[j]) * invStd[j];
      out[k] = bn.gamma[j] * xhat[k] + bn.beta[j];
    }
    cache.xhat = xhat;
    cache.invStd = invStd;
    return out;
  }

  /** Backpropagates dLogits through a training-mode forward, accumulating into the gradients. */
  backward(fwd: ForwardResult, dLogits: Float32Array): void {
    const { batch, caches } = fwd;
    const layers = this.spec.layers;
    const dOut: (Float32Array | null)[] = layers.map(() => null);
    dOut[layers.length - 1] = dLogits;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i];
      let d = dOut[i];
      if (!d) continue;
      const cache = caches[i];
      const p = this.params[i];
      const g = this.grads[i];
      if ('act' in layer && layer.act !== 'none') d = activationBackward(layer.act, cache.preAct!, d);
      if (p.bn) d = this.batchNormBackward(p.bn, g.bn!, cache, d);
      const wantDx = i > 0;
      let dx: Float32Array | null = null;
      switch (layer.kind) {
        case 'conv':
          dx = conv2dBackward(this.geometry(i, batch), cache.input, p.weight!, d, g.weight!, g.bias ?? null, wantDx);
          break;
        case 'dwconv':
          dx = depthwiseBackward(this.geometry(i, batch), cache.input, p.weight!, d, g.weight!, g.bias ?? null, wantDx);
          break;
        case 'dense': {
          const inF = this.inputShapeOf(i)[2];
          dx = denseBackward(batch, inF, layer.out, cache.input, p.weight!, d, g.weight!, g.bias!, wantDx);
          break;
        }
        case 'gap': {
          const [h, w, c] = this.inputShapeOf(i);
          dx = globalAvgPoolBackward(batch, h * w, c, d);
          break;
        }
        case 'add':
          dx = d;
          dOut[layer.from] = accumulate(dOut[layer.from], d);
          break;
      }
      if (i > 0 && dx) dOut[i - 1] = accumulate(dOut[i - 1], dx);
    }
  }

  private batchNormBackward(bn: BatchNormState, g: BatchNormState, cache: LayerCache, dy: Float32Array): Float32Array {
    const c = bn.gamma.length;
    const m = dy.length / c;
    const xhat = cache.xhat!;
    const sumDy = new Float64Array(c);
    const sumDyX = new Float64Array(c);
    for (let k = 0; k < dy.length; k++) {
      sumDy[k % c] += dy[k];
      sumDyX[k % c] += dy[k] * xhat[k];
    }
    for (let j = 0; j < c; j++) {
      g.beta[j] += sumDy[j];
      g.gamma[j] += sumDyX[j];
    }
    const dx = new Float32Array(dy.length);
    for (let k = 0; k < dy.length; k++) {
      const j = k % c;
      dx[k] = ((bn.gamma[j] * cache.invStd![j]) / m) * (m * dy[k] - sumDy[j] - xhat[k] * sumDyX[j]);
    }
    return dx;
  }
}

function accumulate(into: Float32Array | null, add: Float32Array): Float32Array {
  if (!into) return add;
  const out = new Float32Array(into.length);
  for (let k = 0; k < out.length; k++) out[k] = into[k] + add[k];
  return out;
}

/** Applies a fused activation. */
export function activate(act: FloatActivation, y: Float32Array): Float32Array {
  if (act === 'none') return y;
  const out = new Float32Array(y.length);
  const hi = act === 'relu6' ? 6 : Infinity;
  for (let k = 0; k < y.length; k++) out[k] = y[k] < 0 ? 0 : y[k] > hi ? hi : y[k];
  return out;
}

function activationBackward(act: FloatActivation, preAct: Float32Array, d: Float32Array): Float32Array {
  const hi = act === 'relu6' ? 6 : Infinity;
  const out = new Float32Array(d.length);
  for (let k = 0; k < d.length; k++) out[k] = preAct[k] > 0 && preAct[k] < hi ? d[k] : 0;
  return out;
}
