import type { LayerSpec, NetSpec } from './spec';

/** Rounds a channel count to a multiple of `divisor` (MobileNet's make_divisible). */
export function makeDivisible(value: number, divisor = 4): number {
  const rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

/** Knobs of the inverted-residual family. */
export interface InvertedResidualOptions {
  inputShape: [number, number, number];
  numClasses: number;
  /** Channel width multiplier. */
  width?: number;
  /** Blocks as [expansion t, channels c, repeats n, first stride s] (MobileNetV2's table). */
  blocks?: [number, number, number, number][];
  stemChannels?: number;
  /** 1x1 conv before pooling; 0 for none. */
  headChannels?: number;
}

/** A MobileNetV2 table sized for 16-32 pixel inputs. */
export const SMALL_IR_BLOCKS: [number, number, number, number][] = [
  [1, 8, 1, 1],
  [4, 16, 2, 2],
  [4, 24, 2, 2],
];

/**
 * An inverted-residual (MobileNetV2 / MCUNet-like) network: 3x3 stride-2 stem, blocks of
 * 1x1 expand (ReLU6) -> 3x3 depthwise (ReLU6) -> 1x1 project (linear) with a residual when the
 * shapes match, optional 1x1 head, global average pooling, dense classifier. The resolution knob is
 * the input shape.
 */
export function invertedResidualNet(options: InvertedResidualOptions): NetSpec {
  const width = options.width ?? 1;
  if (!(width > 0 && width <= 4)) throw new Error(`width must be in (0, 4], got ${width}`);
  const blocks = options.blocks ?? SMALL_IR_BLOCKS;
  const layers: LayerSpec[] = [];
  let channels = makeDivisible((options.stemChannels ?? 16) * width);
  layers.push({ kind: 'conv', out: channels, kernel: [3, 3], stride: [2, 2], padding: 'same', act: 'relu6', bn: true });
  for (const [t, c, n, s] of blocks) {
    const out = makeDivisible(c * width);
    for (let r = 0; r < n; r++) {
      const stride = r === 0 ? s : 1;
      const blockInput = layers.length - 1;
      if (t !== 1) layers.push({ kind: 'conv', out: channels * t, kernel: [1, 1], stride: [1, 1], padding: 'same', act: 'relu6', bn: true });
      layers.push({ kind: 'dwconv', kernel: [3, 3], stride: [stride, stride], padding: 'same', act: 'relu6', bn: true });
      layers.push({ kind: 'conv', out, kernel: [1, 1], stride: [1, 1], padding: 'same', act: 'none', bn: true });
      if (stride === 1 && out === channels) layers.push({ kind: 'add', from: blockInput });
      channels = out;
    }
  }
  if (options.headChannels) {
    layers.push({ kind: 'conv', out: makeDivisible(options.headChannels * width), kernel: [1, 1], stride: [1, 1], padding: 'same', act: 'relu6', bn: true });
  }
  layers.push({ kind: 'gap' });
  layers.push({ kind: 'dense', out: options.numClasses, act: 'none' });
  const [h, w] = options.inputShape;
  return { name: `ir-w${width}-r${h}x${w}`, inputShape: options.inputShape, numClasses: options.numClasses, layers };
}

/** Knobs of the DS-CNN family for 1-D sensor windows laid out as [T, 1, C]. */
export interface DsCnnOptions {
  inputShape: [number, number, number];
  numClasses: number;
  width?: number;
  /** Temporal kernel length. */
  kernel?: number;
  /** Channels of each depthwise-separable block; the first stride of each is 2 except the first. */
  blocks?: number[];
}

/**
 * A depthwise-separable CNN (the keyword-spotting DS-CNN) over time: a strided temporal conv,
 * then depthwise (k x 1) + pointwise blocks with ReLU, global average pooling, dense classifier.
 */
export function dsCnn(options: DsCnnOptions): NetSpec {
  const width = options.width ?? 1;
  if (!(width > 0 && width <= 4)) throw new Error(`width must be in (0, 4], got ${width}`);
  const k = options.kernel ?? 5;
  const blocks = options.blocks ?? [32, 32, 48];
  const layers: LayerSpec[] = [];
  const stem = makeDivisible(24 * width);
  layers.push({ kind: 'conv', out: stem, kernel: [k, 1], stride: [2, 1], padding: 'same', act: 'relu', bn: true });
  blocks.forEach((c, i) => {
    const stride = i === 0 ? 1 : 2;
    layers.push({ kind: 'dwconv', kernel: [k, 1], stride: [stride, 1], padding: 'same', act: 'relu', bn: true });
    layers.push({ kind: 'conv', out: makeDivisible(c * width), kernel: [1, 1], stride: [1, 1], padding: 'same', act: 'relu', bn: true });
  });
  layers.push({ kind: 'gap' });
  layers.push({ kind: 'dense', out: options.numClasses, act: 'none' });
  return { name: `dscnn-w${width}-t${options.inputShape[0]}`, inputShape: options.inputShape, numClasses: options.numClasses, layers };
}
