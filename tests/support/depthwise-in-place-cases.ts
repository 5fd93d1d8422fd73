import { mulberry32 } from '../../src-main/core/engine/runtime/inputs';
import { type DepthwiseParams, depthwiseAccumulators } from '../../src-main/core/engine/runtime/kernels/depthwise';

/**
 * Depthwise geometries for the in-place kernel (TS and C) against the out-of-place one: explicit
 * padding on each side, as patch stages produce (a patch's padTop/padLeft may exceed what the
 * kernel needs, or be 0 where the halo is real data).
 */
export interface InPlaceCase {
  batches: number;
  inH: number;
  inW: number;
  channels: number;
  k: [number, number];
  stride: [number, number];
  dilation: [number, number];
  /** top, bottom, left, right */
  pad: [number, number, number, number];
}

const span = (k: number, d: number) => (k - 1) * d + 1;

/** Output rows and columns of a case (0 when the padded input is smaller than one window). */
export function outputSize(c: InPlaceCase): [number, number] {
  const size = (n: number, before: number, after: number, k: number, s: number, d: number) => {
    const room = before + n + after - span(k, d);
    return room < 0 ? 0 : Math.floor(room / s) + 1;
  };
  return [size(c.inH, c.pad[0], c.pad[1], c.k[0], c.stride[0], c.dilation[0]), size(c.inW, c.pad[2], c.pad[3], c.k[1], c.stride[1], c.dilation[1])];
}

/** Hand-picked geometries (the layers of MobileNet-style models and patch-stage shapes) and random ones. */
export function inPlaceCases(randomCount: number, seed: number): InPlaceCase[] {
  const c = (inH: number, inW: number, k: number | [number, number], stride: number | [number, number], pad: [number, number, number, number], more: Partial<InPlaceCase> = {}): InPlaceCase => ({
    batches: 1, inH, inW, channels: 3,
    k: typeof k === 'number' ? [k, k] : k,
    stride: typeof stride === 'number' ? [stride, stride] : stride,
    dilation: [1, 1], pad, ...more,
  });
  const cases: InPlaceCase[] = [
    c(28, 28, 3, 1, [1, 1, 1, 1]),
    c(28, 28, 3, 2, [0, 1, 0, 1]),
    c(27, 27, 3, 2, [1, 1, 1, 1]),
    c(14, 14, 5, 1, [2, 2, 2, 2]),
    c(14, 14, 5, 2, [1, 2, 1, 2]),
    c(12, 12, 3, 1, [0, 0, 0, 0]),
    c(12, 12, 3, 2, [0, 0, 0, 0]),
    c(12, 12, 3, 1, [2, 2, 2, 2], { dilation: [2, 2] }),
    c(13, 11, 3, 2, [2, 2, 2, 2], { dilation: [2, 2] }),
    c(9, 13, [5, 3], [2, 1], [2, 2, 1, 1], { dilation: [1, 2] }),
    c(10, 7, 1, 2, [0, 0, 0, 0]),
    c(11, 11, 2, 3, [0, 0, 0, 0]),
    // Patch stages: a patch at the image's top/left border gets the layer's padding, an interior one
    // none (its halo is data); padTop/padLeft beyond the window make whole padding rows/columns.
    c(8, 10, 3, 1, [1, 0, 1, 0]),
    c(8, 10, 3, 1, [0, 1, 0, 1]),
    c(9, 9, 3, 2, [0, 0, 1, 0]),
    c(6, 8, 3, 1, [3, 0, 0, 0]),
    c(6, 8, 3, 1, [5, 0, 4, 0]),
    c(7, 7, 5, 1, [4, 2, 6, 2]),
    c(6, 6, 3, 2, [4, 0, 0, 0]),
    c(5, 5, 3, 1, [2, 2, 2, 2]),
    c(4, 6, 3, 1, [1, 1, 3, 3]),
    c(28, 28, 3, 1, [1, 1, 1, 1], { batches: 2 }),
    c(12, 10, 5, 2, [2, 2, 2, 2], { batches: 3, channels: 5 }),
    c(8, 8, 3, 1, [0, 0, 0, 0], { batches: 2, dilation: [2, 2] }),
  ];
  const rnd = mulberry32(seed);
  for (let added = 0; added < randomCount; ) {
    const g: InPlaceCase = {
      batches: 1 + (rnd() % 3),
      inH: 1 + (rnd() % 12),
      inW: 1 + (rnd() % 12),
      channels: 1 + (rnd() % 5),
      k: [1 + (rnd() % 5), 1 + (rnd() % 5)],
      stride: [1 + (rnd() % 3), 1 + (rnd() % 3)],
      dilation: [1 + (rnd() % 2), 1 + (rnd() % 2)],
      pad: [rnd() % 5, rnd() % 4, rnd() % 5, rnd() % 4],
    };
    const [outH, outW] = outputSize(g);
    if (outH === 0 || outW === 0) continue;
    // An in-place step's output is never larger than its input (an image's output would reach the next image's input).
    if (outH * outW > g.inH * g.inW) g.batches = 1;
    cases.push(g);
    added++;
  }
  return cases;
}

/** Random int8 depthwise parameters (depth multiplier 1) of a case. */
export function depthwiseParamsOf(g: InPlaceCase, rnd: () => number, singleRounding: boolean): DepthwiseParams {
  const [outH, outW] = outputSize(g);
  const C = g.channels;
  const taps = g.k[0] * g.k[1];
  const zeroPoint = (rnd() % 256) - 128;
  const actMin = rnd() % 3 === 0 ? -128 + (rnd() % 100) : -128;
  return {
    batches: g.batches, inH: g.inH, inW: g.inW, inC: C, outH, outW, outC: C, depthMultiplier: 1,
    kH: g.k[0], kW: g.k[1], strideH: g.stride[0], strideW: g.stride[1], dilationH: g.dilation[0], dilationW: g.dilation[1],
    padTop: g.pad[0], padLeft: g.pad[2],
    inputOffset: -zeroPoint, outputOffset: (rnd() % 60) - 30, actMin, actMax: rnd() % 3 === 0 ? Math.max(actMin, 127 - (rnd() % 100)) : 127,
    filter: Int8Array.from({ length: taps * C }, () => (rnd() & 255) - 128),
    bias: rnd() % 4 === 0 ? null : Int32Array.from({ length: C }, () => (rnd() % 40000) - 20000),
    multiplier: Int32Array.from({ length: C }, () => 1073741824 + (rnd() % 1073741823)),
    // Enough right shift to keep a few taps' sums spread over the int8 range.
    shift: Int32Array.from({ length: C }, () => -(6 + (rnd() % 4) + Math.round(Math.log2(taps)))),
    singleRounding,
    acc: depthwiseAccumulators(C),
  };
}
