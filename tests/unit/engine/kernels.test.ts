import { describe, expect, it } from 'vitest';
import { type Activation, type Model, type Op, type Tensor, elementCount } from '../../../src-main/core/engine/ir';
import { mulberry32 } from '../../../src-main/core/engine/runtime/inputs';
import { conv2d } from '../../../src-main/core/engine/runtime/kernels/conv';
import { pad, transpose } from '../../../src-main/core/engine/runtime/kernels/data-movement';
import { depthwiseConv2d } from '../../../src-main/core/engine/runtime/kernels/depthwise';
import { depthwiseConv2dInPlace, depthwiseInPlaceScratch, depthwisePlaneBytes } from '../../../src-main/core/engine/runtime/kernels/depthwise-in-place';
import { add, addInputTables, broadcast4D } from '../../../src-main/core/engine/runtime/kernels/elementwise';
import { multiplyByQuantizedMultiplier } from '../../../src-main/core/engine/runtime/fixed-point';
import { averagePool, maxPool } from '../../../src-main/core/engine/runtime/kernels/pooling';
import { type PreparedOp, prepareOp, runPrepared } from '../../../src-main/core/engine/runtime/prepare';
import { referenceTflm } from '../../integration/engine-oracle-reference';
import { depthwiseParamsOf, inPlaceCases, outputSize } from '../../support/depthwise-in-place-cases';

/**
 * Kernels on models built here (no files needed): the tflm kernels against a scalar TFLite Micro
 * reference over many geometries, and the properties the planner relies on (patches, in place).
 */
const rnd = mulberry32(99);
const randomInt8 = (n: number) => Int8Array.from({ length: n }, () => (rnd() & 255) - 128);
const bytesOf = (a: Int8Array | Int32Array) => new Uint8Array(a.buffer.slice(0));

interface ConvCase {
  kind: 'CONV_2D' | 'DEPTHWISE_CONV_2D' | 'FULLY_CONNECTED';
  inShape: number[];
  k?: [number, number];
  outC: number;
  stride?: [number, number];
  dilation?: [number, number];
  padding?: 'same' | 'valid';
  activation?: Activation;
  perChannel?: boolean;
  bias?: boolean;
}

/** A one-op model with random weights, bias and quantization. */
function oneOpModel(c: ConvCase): { model: Model; op: Op } {
  const tensors: Tensor[] = [];
  const add = (t: Omit<Tensor, 'id' | 'name'>) => tensors.push({ id: tensors.length, name: `t${tensors.length}`, ...t }) - 1;
  const q = (scale: number, zp: number) => ({ scale: [scale], zeroPoint: [zp], axis: 0 });
  const x = add({ dtype: 'int8', shape: c.inShape, quant: q(0.02 + (rnd() % 100) / 2000, (rnd() % 40) - 20) });
  const [sh, sw] = c.stride ?? [1, 1];
  const [dh, dw] = c.dilation ?? [1, 1];
  const [kh, kw] = c.k ?? [1, 1];
  const inC = c.inShape[c.inShape.length - 1];
  const fShape = c.kind === 'CONV_2D' ? [c.outC, kh, kw, inC] : c.kind === 'DEPTHWISE_CONV_2D' ? [1, kh, kw, c.outC] : [c.outC, inC];
  const channels = c.perChannel ? c.outC : 1;
  const scales = Array.from({ length: channels }, () => 0.002 + (rnd() % 1000) / 100000);
  const w = add({ dtype: 'int8', shape: fShape, data: bytesOf(randomInt8(elementCount(fShape))), quant: { scale: scales, zeroPoint: scales.map(() => 0), axis: c.kind === 'DEPTHWISE_CONV_2D' ? 3 : 0 } });
  const b = c.bias === false ? -1 : add({ dtype: 'int32', shape: [c.outC], data: bytesOf(Int32Array.from({ length: c.outC }, () => (rnd() % 20000) - 10000)) });
  let outShape: number[];
  if (c.kind === 'FULLY_CONNECTED') outShape = [c.inShape[0], c.outC];
  else {
    const size = (n: number, k: number, s: number, d: number) => (c.padding === 'valid' ? Math.ceil((n - ((k - 1) * d + 1) + 1) / s) : Math.ceil(n / s));
    outShape = [1, size(c.inShape[1], kh, sh, dh), size(c.inShape[2], kw, sw, dw), c.outC];
  }
  const y = add({ dtype: 'int8', shape: outShape, quant: q(0.05 + (rnd() % 100) / 1000, (rnd() % 60) - 30) });
  const inputs = b >= 0 ? [x, w, b] : [x, w];
  const common = { activation: c.activation ?? 'none' };
  const op = (
    c.kind === 'FULLY_CONNECTED'
      ? { index: 0, kind: c.kind, inputs, outputs: [y], options: { ...common, keepNumDims: false } }
      : {
          index: 0, kind: c.kind, inputs, outputs: [y],
          options: { ...common, padding: c.padding ?? 'same', strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, ...(c.kind === 'DEPTHWISE_CONV_2D' ? { depthMultiplier: c.outC / inC } : {}) },
        }
  ) as Op;
  return { model: { name: 'k', tensors, ops: [op], inputs: [x], outputs: [y] }, op };
}

function runOne(p: PreparedOp, model: Model, input: Int8Array): Int8Array {
  const out = new Int8Array(elementCount(model.tensors[p.outputs[0]].shape));
  runPrepared(p, [input], [out]);
  return out;
}

const convCases: ConvCase[] = [];
for (const kind of ['CONV_2D', 'DEPTHWISE_CONV_2D'] as const)
  for (const k of [[1, 1], [3, 3], [5, 3]] as [number, number][])
    for (const stride of [[1, 1], [2, 2], [2, 1]] as [number, number][])
      for (const padding of ['same', 'valid'] as const) {
        const inC = 1 + (rnd() % 6);
        convCases.push({
          kind, inShape: [1, 10 + (rnd() % 6), 9 + (rnd() % 6), inC], k, stride, padding,
          outC: kind === 'CONV_2D' ? 1 + (rnd() % 9) : inC * (1 + (rnd() % 3)),
          dilation: rnd() % 3 === 0 ? [2, 2] : [1, 1],
          activation: (['none', 'relu', 'relu6', 'relu_n1_to_1'] as const)[rnd() % 4],
          perChannel: rnd() % 2 === 0, bias: rnd() % 5 !== 0,
        });
      }

describe('int8 kernels against the scalar TFLite Micro reference', () => {
  it(`CONV_2D and DEPTHWISE_CONV_2D, tflm rounding (${convCases.length} geometries incl. dilation, depth multiplier, odd padding)`, () => {
    for (const c of convCases) {
      const { model, op } = oneOpModel(c);
      const input = randomInt8(elementCount(c.inShape));
      const ours = runOne(prepareOp(model, op, 'tflm'), model, input);
      expect(Array.from(ours), JSON.stringify(c)).toEqual(Array.from(referenceTflm(model, op, input)));
    }
  });

  it('DEPTHWISE_CONV_2D with large depth multipliers (the channel-blocked paths), incl. kernels beyond 256 taps', () => {
    for (const multiplier of [4, 5, 8, 9, 12, 16]) {
      for (const [k, stride, dilation] of [
        [[3, 3], [1, 1], [1, 1]],
        [[10, 8], [2, 2], [1, 1]],
        [[2, 5], [1, 2], [2, 1]],
        [[17, 17], [1, 1], [1, 1]],
      ] as [number, number][][]) {
        const inC = 1 + (rnd() % 3);
        const c: ConvCase = {
          kind: 'DEPTHWISE_CONV_2D', inShape: [1, 19, 18, inC], k: k as [number, number], stride: stride as [number, number],
          dilation: dilation as [number, number], outC: inC * multiplier, padding: rnd() % 2 ? 'same' : 'valid',
          activation: 'relu6', perChannel: true, bias: rnd() % 3 !== 0,
        };
        const { model, op } = oneOpModel(c);
        const input = randomInt8(elementCount(c.inShape));
        expect(Array.from(runOne(prepareOp(model, op, 'tflm'), model, input)), JSON.stringify(c)).toEqual(Array.from(referenceTflm(model, op, input)));
      }
    }
  });

  it('FULLY_CONNECTED per-tensor and per-channel, several rows', () => {
    for (const perChannel of [false, true]) {
      const c: ConvCase = { kind: 'FULLY_CONNECTED', inShape: [3, 37], outC: 11, perChannel, activation: 'relu' };
      const { model, op } = oneOpModel(c);
      const input = randomInt8(3 * 37);
      expect(Array.from(runOne(prepareOp(model, op, 'tflm'), model, input))).toEqual(Array.from(referenceTflm(model, op, input)));
    }
  });

  it('tflite mode rounds CONV_2D once and differs from tflm only by one step, only on some elements', () => {
    let differing = 0, total = 0;
    for (const c of convCases.filter((x) => x.kind === 'CONV_2D')) {
      const { model, op } = oneOpModel({ ...c, activation: 'none' });
      const input = randomInt8(elementCount(c.inShape));
      const a = runOne(prepareOp(model, op, 'tflm'), model, input);
      const b = runOne(prepareOp(model, op, 'tflite'), model, input);
      a.forEach((v, i) => {
        total++;
        if (v !== b[i]) {
          differing++;
          expect(Math.abs(v - b[i])).toBe(1);
        }
      });
    }
    expect(differing).toBeGreaterThan(0);
    expect(differing / total).toBeLessThan(0.05);
  });
});

describe('kernel properties the memory planner relies on', () => {
  it('a convolution computed on a band of output rows from a band of input rows equals that band of the full output', () => {
    for (const c of convCases.filter((x) => x.k![0] > 1)) {
      const { model, op } = oneOpModel(c);
      const p = prepareOp(model, op, 'tflite');
      const input = randomInt8(elementCount(c.inShape));
      const full = runOne(p, model, input);
      const params = p.kernel.kind === 'conv2d' || p.kernel.kind === 'depthwise' ? p.kernel.params : null;
      if (!params) throw new Error('expected a convolution');
      const { inH, inW, inC, outW, outC, strideH, dilationH, kH, padTop } = params;
      const r0 = 1, r1 = params.outH - 1;
      if (r1 <= r0) continue; // too few rows for an interior band
      const first = Math.max(0, r0 * strideH - padTop);
      const last = Math.min(inH, (r1 - 1) * strideH - padTop + (kH - 1) * dilationH + 1);
      const band = input.subarray(first * inW * inC, last * inW * inC);
      const out = new Int8Array((r1 - r0) * outW * outC);
      const local = { inH: last - first, outH: r1 - r0, padTop: padTop + first - r0 * strideH };
      const k = p.kernel;
      if (k.kind === 'conv2d') conv2d(band, out, { ...k.params, ...local });
      else if (k.kind === 'depthwise') depthwiseConv2d(band, out, { ...k.params, ...local });
      expect(Array.from(out), JSON.stringify(c)).toEqual(Array.from(full.subarray(r0 * outW * outC, r1 * outW * outC)));
    }
  });

  it('in-place depthwise equals the out-of-place kernel for every stride, padding and dilation', () => {
    for (const c of convCases.filter((x) => x.kind === 'DEPTHWISE_CONV_2D')) {
      const { model, op } = oneOpModel({ ...c, outC: c.inShape[3] });
      const p = prepareOp(model, op, 'tflm');
      if (p.kernel.kind !== 'depthwise') throw new Error('expected depthwise');
      const input = randomInt8(elementCount(c.inShape));
      const expected = runOne(p, model, input);
      const buffer = Int8Array.from(input);
      const plane = new Int8Array(depthwisePlaneBytes(p.kernel.params));
      depthwiseConv2dInPlace(buffer, plane, p.kernel.params);
      expect(Array.from(buffer.subarray(0, expected.length)), JSON.stringify(c)).toEqual(Array.from(expected));
    }
  });

  it('in-place depthwise, ring of rows or whole plane, equals the out-of-place kernel on every geometry, both roundings, within its scratch', () => {
    const cases = inPlaceCases(300, 5);
    const methods = { ring: 0, plane: 0 };
    for (const g of cases) {
      for (const singleRounding of [false, true]) {
        const p = depthwiseParamsOf(g, rnd, singleRounding);
        const inBytes = g.batches * g.inH * g.inW * g.channels;
        const outBytes = g.batches * p.outH * p.outW * g.channels;
        const input = randomInt8(inBytes);
        const expected = new Int8Array(outBytes);
        depthwiseConv2d(input, expected, p);
        const buffer = new Int8Array(Math.max(inBytes, outBytes));
        buffer.set(input);
        const bytes = depthwisePlaneBytes(p);
        // Bytes past the scratch must stay as they were.
        const scratch = new Int8Array(bytes + 16).fill(0x5a);
        depthwiseConv2dInPlace(buffer, scratch.subarray(0, bytes + 16), p);
        const what = JSON.stringify({ ...g, singleRounding, scratch: depthwiseInPlaceScratch(p) });
        expect(Array.from(buffer.subarray(0, outBytes)), what).toEqual(Array.from(expected));
        expect(Array.from(scratch.subarray(bytes)), what).toEqual(new Array(16).fill(0x5a));
        methods[depthwiseInPlaceScratch(p).ringRows > 0 ? 'ring' : 'plane']++;
      }
    }
    expect(methods.ring).toBeGreaterThan(cases.length / 2);
    expect(methods.plane).toBeGreaterThan(20);
  });

  it('in-place depthwise scratch: a ring of one window\'s rows where outputs never reach uncopied input, else the plane', () => {
    const geometry = (inH: number, inW: number, k: number, stride: number, dilation: number, pad: [number, number, number, number]) => {
      const g = { batches: 1, inH, inW, channels: 1, k: [k, k] as [number, number], stride: [stride, stride] as [number, number], dilation: [dilation, dilation] as [number, number], pad };
      const [outH, outW] = outputSize(g);
      return { inH, inW, outH, outW, kH: k, kW: k, strideH: stride, strideW: stride, dilationH: dilation, dilationW: dilation, padTop: pad[0], padLeft: pad[2] };
    };
    // MobileNetV2's 28x28 3x3 stride-1 layer: 3 rows of 30 instead of the 30x30 plane.
    expect(depthwiseInPlaceScratch(geometry(28, 28, 3, 1, 1, [1, 1, 1, 1]))).toEqual({ planeH: 30, planeW: 30, ringRows: 3 });
    expect(depthwisePlaneBytes(geometry(28, 28, 3, 1, 1, [1, 1, 1, 1]))).toBe(90);
    // Stride 2 (TFLite SAME on an even size: padding below only): 3 rows of 57.
    expect(depthwisePlaneBytes(geometry(56, 56, 3, 2, 1, [0, 1, 0, 1]))).toBe(3 * 57);
    // Dilation 2 spans 5 rows.
    expect(depthwisePlaneBytes(geometry(20, 20, 3, 1, 2, [2, 2, 2, 2]))).toBe(5 * 24);
    // padTop of a whole window: output row 0 reads only padding, and by the time input row 0 is
    // needed its bytes hold output row 0's values, so the plane is kept.
    expect(depthwiseInPlaceScratch(geometry(6, 8, 3, 1, 1, [3, 0, 0, 0]))).toEqual({ planeH: 9, planeW: 8, ringRows: 0 });
    expect(depthwisePlaneBytes(geometry(6, 8, 3, 1, 1, [3, 0, 0, 0]))).toBe(9 * 8);
    // Output wider than the input: row r of output passes row r of input.
    expect(depthwisePlaneBytes(geometry(4, 6, 3, 1, 1, [1, 1, 3, 3]))).toBe(6 * 12);
    // One output row: the ring would be the whole plane.
    expect(depthwiseInPlaceScratch(geometry(3, 3, 3, 1, 1, [0, 0, 0, 0])).ringRows).toBe(0);
  });
});

describe('pooling, elementwise and data movement kernels', () => {
  it('average and max pooling over partial border windows', () => {
    const [H, W, C] = [7, 6, 3];
    const input = randomInt8(H * W * C);
    const p = { batches: 1, inH: H, inW: W, channels: C, outH: 4, outW: 3, filterH: 3, filterW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, actMin: -100, actMax: 127, acc: new Int32Array(C) };
    const avg = new Int8Array(4 * 3 * C), max = new Int8Array(4 * 3 * C);
    averagePool(input, avg, p);
    maxPool(input, max, p);
    for (let oy = 0; oy < 4; oy++)
      for (let ox = 0; ox < 3; ox++)
        for (let c = 0; c < C; c++) {
          const vals: number[] = [];
          for (let y = oy * 2 - 1; y < oy * 2 + 2; y++) for (let x = ox * 2 - 1; x < ox * 2 + 2; x++) if (y >= 0 && y < H && x >= 0 && x < W) vals.push(input[(y * W + x) * C + c]);
          const sum = vals.reduce((a, b) => a + b, 0);
          const rounded = Math.sign(sum) * Math.floor((Math.abs(sum) + (vals.length >> 1)) / vals.length);
          expect(avg[(oy * 3 + ox) * C + c]).toBe(Math.max(-100, rounded));
          expect(max[(oy * 3 + ox) * C + c]).toBe(Math.max(-100, ...vals));
        }
  });

  it('ADD broadcasts exactly like adding the expanded tensor', () => {
    const base = { leftShift: 20, input1Offset: 3, input1Multiplier: 1518500250, input1Shift: -1, input2Offset: -7, input2Multiplier: 1073741824, input2Shift: 0, outputOffset: -5, outputMultiplier: 1200000000, outputShift: -19, actMin: -128, actMax: 127 };
    const a = randomInt8(2 * 3 * 4 * 5), b = randomInt8(4 * 1);
    const expanded = new Int8Array(a.length);
    for (let i = 0; i < a.length; i++) expanded[i] = b[Math.floor(i / 5) % 4];
    const viaBroadcast = new Int8Array(a.length), direct = new Int8Array(a.length);
    const withTables = (broadcast: ReturnType<typeof broadcast4D>) => ({ ...base, broadcast, ...addInputTables({ ...base, broadcast }) });
    add(a, b, viaBroadcast, withTables(broadcast4D([2, 3, 4, 5], [4, 1], [2, 3, 4, 5])));
    add(a, expanded, direct, withTables(broadcast4D([2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5])));
    expect(Array.from(viaBroadcast)).toEqual(Array.from(direct));
    // The tabulated input terms equal TFLite's per-element formula.
    const formula = Array.from(a, (x, i) => {
      const s1 = multiplyByQuantizedMultiplier((x + base.input1Offset) * (1 << 20), base.input1Multiplier, base.input1Shift);
      const s2 = multiplyByQuantizedMultiplier((expanded[i] + base.input2Offset) * (1 << 20), base.input2Multiplier, base.input2Shift);
      return Math.min(127, Math.max(-128, multiplyByQuantizedMultiplier(s1 + s2, base.outputMultiplier, base.outputShift) + base.outputOffset));
    });
    expect(Array.from(direct)).toEqual(formula);
  });

  it('PAD and TRANSPOSE move every element where the index arithmetic says', () => {
    const input = randomInt8(2 * 3 * 4);
    const padded = new Int8Array(2 * 5 * 7);
    pad(input, padded, { inShape: [1, 2, 3, 4], before: [0, 0, 1, 2], after: [0, 0, 1, 1], value: -9 });
    for (let a = 0; a < 2; a++) for (let b = 0; b < 5; b++) for (let c = 0; c < 7; c++) {
      const inside = b >= 1 && b < 4 && c >= 2 && c < 6;
      expect(padded[(a * 5 + b) * 7 + c]).toBe(inside ? input[(a * 3 + b - 1) * 4 + c - 2] : -9);
    }
    const t = new Int8Array(24);
    transpose(input, t, { inShape: [2, 3, 4], perm: [2, 0, 1] });
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expect(t[(k * 2 + i) * 3 + j]).toBe(input[(i * 3 + j) * 4 + k]);
  });
});
