import { multiplyByQuantizedMultiplier } from '../fixed-point';

/**
 * Broadcast geometry of a binary op: the output as 4-D [d0, d1, d2, d3] and, per input, the element
 * stride of each of those dimensions (0 where the input is broadcast).
 */
export interface Broadcast4D {
  dims: [number, number, number, number];
  strideA: [number, number, number, number];
  strideB: [number, number, number, number];
  /** Both inputs have the output's shape: one flat loop. */
  elementwise: boolean;
}

export function broadcast4D(a: readonly number[], b: readonly number[], out: readonly number[]): Broadcast4D {
  const pad = (s: readonly number[]) => [...new Array<number>(4 - s.length).fill(1), ...s];
  const pa = pad(a), pb = pad(b), po = pad(out);
  const strides = (s: number[]): [number, number, number, number] => {
    const st: [number, number, number, number] = [0, 0, 0, 0];
    let acc = 1;
    for (let i = 3; i >= 0; i--) {
      st[i] = s[i] === 1 && po[i] !== 1 ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  const same = (s: number[]) => s.every((d, i) => d === po[i]);
  return { dims: [po[0], po[1], po[2], po[3]], strideA: strides(pa), strideB: strides(pb), elementwise: same(pa) && same(pb) };
}

/** TFLite's int8 ADD: both inputs rescaled to a common scale after a left shift of 20, summed, rescaled. */
export interface AddParams {
  /** Each input's rescaled value for every int8 value (index x + 128), precomputed by addInputTables. */
  scaled1: Int32Array;
  scaled2: Int32Array;
  broadcast: Broadcast4D;
  leftShift: number;
  input1Offset: number;
  input1Multiplier: number;
  input1Shift: number;
  input2Offset: number;
  input2Multiplier: number;
  input2Shift: number;
  outputOffset: number;
  outputMultiplier: number;
  outputShift: number;
  actMin: number;
  actMax: number;
}

/**
 * The rescaled input terms of ADD depend on one int8 value each, so they are tabulated once:
 * scaled[x + 128] = MultiplyByQuantizedMultiplier((x + offset) << left_shift, multiplier, shift).
 */
export function addInputTables(p: Omit<AddParams, 'scaled1' | 'scaled2'>): { scaled1: Int32Array; scaled2: Int32Array } {
  const scaled1 = new Int32Array(256), scaled2 = new Int32Array(256);
  for (let x = -128; x <= 127; x++) {
    scaled1[x + 128] = multiplyByQuantizedMultiplier((x + p.input1Offset) * (1 << p.leftShift), p.input1Multiplier, p.input1Shift);
    scaled2[x + 128] = multiplyByQuantizedMultiplier((x + p.input2Offset) * (1 << p.leftShift), p.input2Multiplier, p.input2Shift);
  }
  return { scaled1, scaled2 };
}

export function add(a: Int8Array, b: Int8Array, output: Int8Array, p: AddParams): void {
  const { scaled1, scaled2, outputMultiplier, outputShift, outputOffset, actMin, actMax } = p;
  broadcastBinary(a, b, output, p.broadcast, (x1, x2) => {
    const x = multiplyByQuantizedMultiplier((scaled1[x1 + 128] + scaled2[x2 + 128]) | 0, outputMultiplier, outputShift) + outputOffset;
    return x < actMin ? actMin : x > actMax ? actMax : x;
  });
}

/** TFLite's int8 MUL: (a - za) * (b - zb) times one multiplier, plus the output zero point. */
export interface MulParams {
  broadcast: Broadcast4D;
  input1Offset: number;
  input2Offset: number;
  outputOffset: number;
  outputMultiplier: number;
  outputShift: number;
  actMin: number;
  actMax: number;
}

export function mul(a: Int8Array, b: Int8Array, output: Int8Array, p: MulParams): void {
  broadcastBinary(a, b, output, p.broadcast, (x, y) => {
    const v = multiplyByQuantizedMultiplier((x + p.input1Offset) * (y + p.input2Offset), p.outputMultiplier, p.outputShift) + p.outputOffset;
    return v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
  });
}

/** Runs `f` over the broadcast pairs of two int8 inputs into an int8 output (binary ops share it). */
export function broadcastBinary(a: Int8Array, b: Int8Array, output: Int8Array, g: Broadcast4D, f: (x: number, y: number) => number): void {
  if (g.elementwise) {
    for (let i = 0; i < output.length; i++) output[i] = f(a[i], b[i]);
    return;
  }
  const [d0, d1, d2, d3] = g.dims;
  const [a0, a1, a2, a3] = g.strideA;
  const [b0, b1, b2, b3] = g.strideB;
  let o = 0;
  for (let i0 = 0; i0 < d0; i0++)
    for (let i1 = 0; i1 < d1; i1++)
      for (let i2 = 0; i2 < d2; i2++) {
        let ia = i0 * a0 + i1 * a1 + i2 * a2;
        let ib = i0 * b0 + i1 * b1 + i2 * b2;
        for (let i3 = 0; i3 < d3; i3++, ia += a3, ib += b3) output[o++] = f(a[ia], b[ib]);
      }
}
