import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSingleRounding } from '../fixed-point';

/**
 * int8 BATCH_MATMUL: out[b] = lhs[b] x rhs[b] (each optionally transposed, batch dimensions
 * broadcast), accumulated in int32 with both zero points subtracted, rescaled by
 * lhs * rhs / output scale, plus the output zero point. TFLite runs it through ruy (single
 * rounding, as FULLY_CONNECTED), TFLite Micro's reference kernel rounds twice.
 */
export interface BatchMatMulParams {
  /** Element offset of each output batch's lhs and rhs matrix (broadcast batches repeat offsets). */
  lhsOffsets: Int32Array;
  rhsOffsets: Int32Array;
  rows: number;
  cols: number;
  depth: number;
  adjX: boolean;
  adjY: boolean;
  lhsZeroPoint: number;
  rhsZeroPoint: number;
  outputZeroPoint: number;
  multiplier: number;
  shift: number;
  singleRounding: boolean;
}

export function batchMatMul(lhs: Int8Array, rhs: Int8Array, output: Int8Array, p: BatchMatMulParams): void {
  const { rows, cols, depth } = p;
  // Element strides of the row/column and depth index in each operand.
  const lRow = p.adjX ? 1 : depth, lK = p.adjX ? rows : 1;
  const rK = p.adjY ? 1 : cols, rCol = p.adjY ? depth : 1;
  let o = 0;
  for (let b = 0; b < p.lhsOffsets.length; b++) {
    const lb = p.lhsOffsets[b], rb = p.rhsOffsets[b];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        let acc = 0;
        for (let k = 0; k < depth; k++) acc += (lhs[lb + i * lRow + k * lK] - p.lhsZeroPoint) * (rhs[rb + k * rK + j * rCol] - p.rhsZeroPoint);
        const scaled = p.singleRounding ? multiplyByQuantizedMultiplierSingleRounding(acc | 0, p.multiplier, p.shift) : multiplyByQuantizedMultiplier(acc | 0, p.multiplier, p.shift);
        const v = scaled + p.outputZeroPoint;
        output[o++] = v < -128 ? -128 : v > 127 ? 127 : v;
      }
    }
  }
}
