import { dotRows } from './conv';

/** int8 FULLY_CONNECTED: output[r, u] = requant(bias[u] + (input[r, :] - zp) · weights[u, :]). */
export interface FullyConnectedParams {
  rows: number;
  depth: number;
  units: number;
  inputOffset: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
  /** [units, depth] weights. */
  weights: Int8Array;
  bias: Int32Array | null;
  /** One entry per unit (repeated when the weights are quantized per tensor). */
  multiplier: Int32Array;
  shift: Int32Array;
  singleRounding: boolean;
  /** Working row of `depth` int32; owned by the caller. */
  row: Int32Array;
}

export function fullyConnected(input: Int8Array, output: Int8Array, p: FullyConnectedParams): void {
  const { rows, depth, units, inputOffset, row } = p;
  for (let r = 0; r < rows; r++) {
    const src = r * depth;
    for (let i = 0; i < depth; i++) row[i] = input[src + i] + inputOffset;
    dotRows(row, depth, p.weights, units, p, output, r * units);
  }
}
