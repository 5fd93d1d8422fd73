/**
 * TFLite's int8 SOFTMAX (optimized_ops::Softmax with PopulateSoftmaxLookupTable): a 256-entry
 * float32 table of exp(-input_scale * beta * d) for d = max - x, a float32 sum, and the output
 * quantized with std::round. Every step is float32 (Math.fround), so results match TFLite's bits.
 */
export interface SoftmaxParams {
  /** Rows of `depth` values (softmax runs along the last dimension). */
  rows: number;
  depth: number;
  /** table[255 - d] = expf(-input_scale * beta * d). */
  table: Float32Array;
  outputScale: number;
  outputZeroPoint: number;
  /** Range of the output type (int8, or int16 for TFLite's int8 -> int16 kernel). */
  outMin: number;
  outMax: number;
}

/** TFLite's PopulateSoftmaxLookupTable. */
export function softmaxTable(inputScale: number, beta: number): Float32Array {
  const table = new Float32Array(256);
  const scale = Math.fround(-Math.fround(inputScale) * Math.fround(beta));
  for (let v = 0; v <= 255; v++) table[255 - v] = Math.exp(Math.fround(scale * v));
  return table;
}

export function softmax(input: Int8Array, output: Int8Array | Int16Array, p: SoftmaxParams): void {
  const { rows, depth, table, outputZeroPoint, outMin, outMax } = p;
  const outputScale = Math.fround(p.outputScale);
  for (let r = 0; r < rows; r++) {
    const base = r * depth;
    let max = -128;
    for (let j = 0; j < depth; j++) if (input[base + j] > max) max = input[base + j];
    const offset = 255 - max;
    let sum = 0;
    for (let j = 0; j < depth; j++) sum = Math.fround(sum + table[offset + input[base + j]]);
    const inv = Math.fround(1 / Math.fround(sum * outputScale));
    for (let j = 0; j < depth; j++) {
      const prob = Math.fround(table[offset + input[base + j]] * inv);
      let q = (prob < 0 ? -Math.round(-prob) : Math.round(prob)) + outputZeroPoint;
      q = q < outMin ? outMin : q > outMax ? outMax : q;
      output[base + j] = q;
    }
  }
}
