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

function addOne(x1: number, x2: number, p: AddParams): number {
  const s1 = multiplyByQuantizedMultiplier((x1 + p.input1Offset) * (1 << p.leftShift), p.input1Multiplier, p.input1Shift);
  const s2 = multiplyByQuantizedMultiplier((x2 + p.input2Offset) * (1 << p.leftShift), p.input2Multiplier, p.input2Shift);
  const x = multiplyByQuantizedMultiplier((s1 + s2) | 0, p.outputMultiplier, p.outputShift) + p.outputOffset;
  return x < p.actMin ? p.actMin : x > p.actMax ? p.actMax : x;
}

export function add(a: Int8Array, b: Int8Array, output: Int8Array, p: AddParams): void {
  binary(a, b, output, p.broadcast, (x, y) => addOne(x, y, p));
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
  binary(a, b, output, p.broadcast, (x, y) => {
    const v = multiplyByQuantizedMultiplier((x + p.input1Offset) * (y + p.input2Offset), p.outputMultiplier, p.outputShift) + p.outputOffset;
    return v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
  });
}

function binary(a: Int8Array, b: Int8Array, output: Int8Array, g: Broadcast4D, f: (x: number, y: number) => number): void {
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
