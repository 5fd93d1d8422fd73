import type { Activation, DType, Model, Op, OpKind, OpOptionsByKind, Padding, Quantization, Tensor } from '../../src-main/core/engine/ir';

/** Deterministic PRNG (mulberry32, the oracle's recipe) so built models are reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Output scale = input scale * weight scale * SPREAD * sqrt(taps): int8 activations and weights have a
 * spread of a few dozen steps each, so the accumulator's spread grows with sqrt(taps) and SPREAD keeps
 * the outputs spread over most of the int8 range with little saturation.
 */
const SPREAD = 40;

interface ConvSpec {
  outChannels: number;
  kernel?: number;
  stride?: number;
  padding?: Padding;
  dilation?: number;
  activation?: Activation;
}

interface DepthwiseSpec {
  kernel?: number;
  stride?: number;
  padding?: Padding;
  multiplier?: number;
  activation?: Activation;
}

/**
 * Builds small int8 IR models by hand for tests: TFLite layouts (NHWC activations, OHWI conv filters,
 * 1HWO depthwise filters), per-channel symmetric weights, int32 biases, and output scales chosen so
 * that seeded inputs give well-spread int8 outputs rather than saturated ones.
 */
export class IrBuilder {
  private readonly tensors: Tensor[] = [];
  private readonly ops: Op[] = [];
  private readonly inputs: number[] = [];
  private readonly rand: () => number;

  constructor(
    private readonly name: string,
    seed = 1,
  ) {
    this.rand = mulberry32(seed);
  }

  /** Adds an activation tensor. */
  tensor(shape: number[], quant?: { scale: number; zeroPoint: number }, dtype: DType = 'int8', name?: string): number {
    const id = this.tensors.length;
    this.tensors.push({
      id,
      name: name ?? `t${id}`,
      dtype,
      shape,
      quant: quant ? { scale: [quant.scale], zeroPoint: [quant.zeroPoint], axis: 0 } : undefined,
    });
    return id;
  }

  /** Shape of a tensor built so far. */
  shape(id: number): number[] {
    return [...this.tensors[id].shape];
  }

  /** Adds a model input (int8 NHWC unless told otherwise). */
  input(shape: number[], quant = { scale: 0.02, zeroPoint: -3 }): number {
    const id = this.tensor(shape, quant, 'int8', `input${this.inputs.length}`);
    this.inputs.push(id);
    return id;
  }

  private constant(dtype: DType, shape: number[], data: Uint8Array, quant?: Quantization): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name: `c${id}`, dtype, shape, data, quant });
    return id;
  }

  private int32Constant(values: number[], shape = [values.length]): number {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setInt32(i * 4, v, true));
    return this.constant('int32', shape, data);
  }

  private weights(shape: number[], channels: number, axis: number): number {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = ((this.rand() % 255) - 127) & 0xff;
    const scale = Array.from({ length: channels }, () => 0.002 + (this.rand() % 1000) / 200_000);
    return this.constant('int8', shape, data, { scale, zeroPoint: new Array(channels).fill(0), axis });
  }

  private bias(channels: number, inScale: number, wScales: number[]): number {
    const values = Array.from({ length: channels }, () => ((this.rand() % 4001) - 2000) * 2);
    const data = new Uint8Array(channels * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setInt32(i * 4, v, true));
    return this.constant('int32', [channels], data, { scale: wScales.map((s) => s * inScale), zeroPoint: new Array(channels).fill(0), axis: 0 });
  }

  /** Small zero points around 0, so ReLU outputs keep half of the int8 range. */
  private zeroPoint(): number {
    return (this.rand() % 21) - 10;
  }

  private q(id: number): { scale: number; zeroPoint: number } {
    const q = this.tensors[id].quant!;
    return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] };
  }

  private op<K extends OpKind>(kind: K, inputs: number[], outputs: number[], options: OpOptionsByKind[K]): void {
    this.ops.push({ index: this.ops.length, kind, inputs, outputs, options } as Op);
  }

  private spatial(x: number, kernel: number, stride: number, dilation: number, padding: Padding): [number, number] {
    const [, h, w] = this.tensors[x].shape;
    const eff = (kernel - 1) * dilation + 1;
    const out = (n: number) => (padding === 'same' ? Math.ceil(n / stride) : Math.ceil((n - eff + 1) / stride));
    return [out(h), out(w)];
  }

  conv(x: number, spec: ConvSpec): number {
    const { outChannels, kernel = 3, stride = 1, padding = 'same', dilation = 1, activation = 'relu6' } = spec;
    const inC = this.tensors[x].shape[3];
    const filter = this.weights([outChannels, kernel, kernel, inC], outChannels, 0);
    const wScales = this.tensors[filter].quant!.scale;
    const inQ = this.q(x);
    const bias = this.bias(outChannels, inQ.scale, wScales);
    const [h, w] = this.spatial(x, kernel, stride, dilation, padding);
    const outScale = inQ.scale * wScales[0] * SPREAD * Math.sqrt(kernel * kernel * inC);
    const y = this.tensor([1, h, w, outChannels], { scale: outScale, zeroPoint: this.zeroPoint() });
    this.op('CONV_2D', [x, filter, bias], [y], { padding, strideH: stride, strideW: stride, dilationH: dilation, dilationW: dilation, activation });
    return y;
  }

  depthwise(x: number, spec: DepthwiseSpec = {}): number {
    const { kernel = 3, stride = 1, padding = 'same', multiplier = 1, activation = 'relu6' } = spec;
    const inC = this.tensors[x].shape[3];
    const outC = inC * multiplier;
    const filter = this.weights([1, kernel, kernel, outC], outC, 3);
    const wScales = this.tensors[filter].quant!.scale;
    const inQ = this.q(x);
    const bias = this.bias(outC, inQ.scale, wScales);
    const [h, w] = this.spatial(x, kernel, stride, 1, padding);
    const outScale = inQ.scale * wScales[0] * SPREAD * kernel;
    const y = this.tensor([1, h, w, outC], { scale: outScale, zeroPoint: this.zeroPoint() });
    this.op('DEPTHWISE_CONV_2D', [x, filter, bias], [y], {
      padding,
      strideH: stride,
      strideW: stride,
      dilationH: 1,
      dilationW: 1,
      activation,
      depthMultiplier: multiplier,
    });
    return y;
  }

  /** PAD with the input's quantization (pads with its zero point), as TFLite converters emit it. */
  pad(x: number, pads: [number, number][]): number {
    const shape = this.tensors[x].shape.map((d, i) => d + pads[i][0] + pads[i][1]);
    const paddings = this.int32Constant(pads.flat(), [pads.length, 2]);
    const y = this.tensor(shape, this.q(x));
    this.op('PAD', [x, paddings], [y], {});
    return y;
  }

  add(a: number, b: number, activation: Activation = 'none'): number {
    const qa = this.q(a);
    const y = this.tensor([...this.tensors[a].shape], { scale: qa.scale * 1.6, zeroPoint: qa.zeroPoint });
    this.op('ADD', [a, b], [y], { activation });
    return y;
  }

  avgPool(x: number, filter: number, stride = filter, padding: Padding = 'valid'): number {
    return this.pool('AVERAGE_POOL_2D', x, filter, stride, padding);
  }

  maxPool(x: number, filter: number, stride = filter, padding: Padding = 'valid'): number {
    return this.pool('MAX_POOL_2D', x, filter, stride, padding);
  }

  private pool(kind: 'AVERAGE_POOL_2D' | 'MAX_POOL_2D', x: number, filter: number, stride: number, padding: Padding): number {
    const [h, w] = this.spatial(x, filter, stride, 1, padding);
    const y = this.tensor([1, h, w, this.tensors[x].shape[3]], this.q(x));
    this.op(kind, [x], [y], { padding, strideH: stride, strideW: stride, filterH: filter, filterW: filter, activation: 'none' });
    return y;
  }

  reshape(x: number, shape: number[]): number {
    const y = this.tensor(shape, this.q(x));
    this.op('RESHAPE', [x, this.int32Constant(shape)], [y], { newShape: shape });
    return y;
  }

  squeeze(x: number, dims: number[]): number {
    const shape = this.tensors[x].shape.filter((_, i) => !dims.includes(i));
    const y = this.tensor(shape, this.q(x));
    this.op('SQUEEZE', [x], [y], { squeezeDims: dims });
    return y;
  }

  fullyConnected(x: number, units: number, activation: Activation = 'none'): number {
    const shape = this.tensors[x].shape;
    const inF = shape[shape.length - 1];
    const filter = this.weights([units, inF], units, 0);
    const wScales = this.tensors[filter].quant!.scale;
    const inQ = this.q(x);
    const bias = this.bias(units, inQ.scale, wScales);
    const batch = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const y = this.tensor([batch, units], { scale: inQ.scale * wScales[0] * SPREAD * Math.sqrt(inF), zeroPoint: this.zeroPoint() });
    this.op('FULLY_CONNECTED', [x, filter, bias], [y], { activation, keepNumDims: false });
    return y;
  }

  softmax(x: number): number {
    const y = this.tensor([...this.tensors[x].shape], { scale: 1 / 256, zeroPoint: -128 });
    this.op('SOFTMAX', [x], [y], { beta: 1 });
    return y;
  }

  build(outputs: number[]): Model {
    return { name: this.name, tensors: this.tensors, ops: this.ops, inputs: [...this.inputs], outputs };
  }
}

/**
 * A MobileNetV2-like int8 model: stem conv, inverted residual blocks (expand 1x1, depthwise 3x3,
 * project 1x1, residual ADD where shapes match), an explicit PAD before a stride-2 depthwise (as
 * PyTorch exports emit it), pooling, RESHAPE and a classifier. With `exposeFeatures` the last
 * feature map is a second output, so that a corrupted activation shows in the outputs (a softmax
 * over a few classes alone can hide it).
 */
export function buildTinyMobilenet(seed = 1, size = 32, exposeFeatures = false): Model {
  const b = new IrBuilder('tiny-mobilenet', seed);
  const x = b.input([1, size, size, 3]);
  let y = b.conv(x, { outChannels: 8, stride: 2 });
  y = b.depthwise(y);
  y = b.conv(y, { outChannels: 8, kernel: 1, activation: 'none' });
  // expand + explicit PAD + stride-2 depthwise + project
  let e = b.conv(y, { outChannels: 24, kernel: 1 });
  e = b.pad(e, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  e = b.depthwise(e, { stride: 2, padding: 'valid' });
  const p = b.conv(e, { outChannels: 12, kernel: 1, activation: 'none' });
  // residual block
  let r = b.conv(p, { outChannels: 36, kernel: 1 });
  r = b.depthwise(r);
  r = b.conv(r, { outChannels: 12, kernel: 1, activation: 'none' });
  const s = b.add(p, r);
  const pooled = b.avgPool(s, size / 4);
  const flat = b.reshape(pooled, [1, 12]);
  const logits = b.fullyConnected(flat, 4);
  return b.build(exposeFeatures ? [b.softmax(logits), s] : [b.softmax(logits)]);
}

/**
 * One inverted bottleneck at full resolution (expand 1x1 to 48 channels, depthwise 3x3, project 1x1
 * with stride 2) and a small head: the expanded tensor dominates memory, so patches pay off and
 * the depthwise runs in place inside each patch.
 */
export function buildBottleneck(seed = 1, size = 32): Model {
  const b = new IrBuilder('bottleneck', seed);
  const x = b.input([1, size, size, 4]);
  const e = b.conv(x, { outChannels: 48, kernel: 1 });
  const d = b.depthwise(e, { kernel: 3 });
  const s = b.conv(d, { outChannels: 8, kernel: 1, stride: 2, activation: 'none' });
  const e2 = b.conv(s, { outChannels: 16, kernel: 1 });
  return b.build([b.softmax(b.fullyConnected(b.reshape(b.avgPool(e2, size / 2), [1, 16]), 5)), e2]);
}
