import type { ElementArray } from './data-movement';

/**
 * TFLite's GATHER (batch_dims 0): for each of `outer` leading blocks and each index, the `inner`
 * elements at that index along the axis. An index outside [0, axisSize) is an error, as in TFLite.
 */
export interface GatherParams {
  outer: number;
  axisSize: number;
  inner: number;
  /** Where the error names the op. */
  what: string;
}

export function gather(input: ElementArray, indices: Int32Array, output: ElementArray, p: GatherParams): void {
  const out = output as Int8Array, inp = input as Int8Array;
  const n = indices.length;
  for (let k = 0; k < n; k++) {
    if (indices[k] < 0 || indices[k] >= p.axisSize) throw new Error(`${p.what}: index ${indices[k]} at position ${k} is outside [0, ${p.axisSize})`);
  }
  let o = 0;
  for (let b = 0; b < p.outer; b++) {
    for (let k = 0; k < n; k++) {
      const from = (b * p.axisSize + indices[k]) * p.inner;
      out.set(inp.subarray(from, from + p.inner), o);
      o += p.inner;
    }
  }
}
