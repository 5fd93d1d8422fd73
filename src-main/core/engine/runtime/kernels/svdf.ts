import { multiplyByQuantizedMultiplier } from '../fixed-point';

/**
 * Integer SVDF as TFLite Micro computes it (svdf_common.cc, EvalIntegerSvdfReference<T> with T the
 * type of the time weights and the activation state: int16 is the 16x8 variant TFLite also runs,
 * int8 the one TFLite Micro adds for keyword models):
 *
 * 1. shift the state left by one element (the oldest memory column drops out);
 * 2. feature matmul: each filter's dot product with the input, rescaled by input * feature /
 *    state scale, plus the state zero point, clamped to T, written into the newest memory column;
 * 3. time matmul: each filter's memory row dotted with its time weights (state minus its zero point);
 * 4. bias plus the sum over `rank` filters per unit, rescaled by state * time / output scale, plus
 *    the output zero point, clamped to int8. The fused activation is not applied (neither runtime does).
 *
 * With a zero state zero point (the int16 variant) this is also TFLite's reference EvalIntegerSVDF.
 */
export interface SvdfParams {
  batches: number;
  inputSize: number;
  filters: number;
  units: number;
  rank: number;
  memory: number;
  inputZeroPoint: number;
  stateZeroPoint: number;
  outputZeroPoint: number;
  /** QuantizeMultiplier(input_scale * feature_scale / state_scale), the product taken in float32. */
  featureMultiplier: number;
  featureShift: number;
  /** QuantizeMultiplier(state_scale * time_scale / output_scale), the product taken in float32. */
  outputMultiplier: number;
  outputShift: number;
  /** Range of the state's type (int8 or int16). */
  stateMin: number;
  stateMax: number;
  weightsFeature: Int8Array;
  weightsTime: Int8Array | Int16Array;
  bias: Int32Array | null;
  /** Working arrays (TFLite Micro's two scratch buffers): per filter, then per unit, int32. */
  filterSums: Int32Array;
  unitSums: Int32Array;
}

/** One SVDF step: reads `input`, updates `state` in place, writes `output`. */
export function svdf(input: Int8Array, state: Int8Array | Int16Array, output: Int8Array, p: SvdfParams): void {
  const { batches, inputSize, filters, units, rank, memory, weightsFeature, weightsTime, filterSums, unitSums } = p;
  const stateLength = batches * filters * memory;
  state.copyWithin(0, 1, stateLength);

  for (let b = 0; b < batches; b++) {
    const x = b * inputSize;
    for (let f = 0; f < filters; f++) {
      const w = f * inputSize;
      let dot = 0;
      for (let c = 0; c < inputSize; c++) dot += weightsFeature[w + c] * (input[x + c] - p.inputZeroPoint);
      let v = multiplyByQuantizedMultiplier(dot | 0, p.featureMultiplier, p.featureShift) + p.stateZeroPoint;
      v = v < p.stateMin ? p.stateMin : v > p.stateMax ? p.stateMax : v;
      state[(b * filters + f) * memory + memory - 1] = v;
    }
  }

  for (let b = 0; b < batches; b++) {
    for (let f = 0; f < filters; f++) {
      const row = (b * filters + f) * memory;
      const w = f * memory;
      let dot = 0;
      for (let j = 0; j < memory; j++) dot += weightsTime[w + j] * (state[row + j] - p.stateZeroPoint);
      filterSums[b * filters + f] = dot;
    }
  }

  for (let b = 0; b < batches; b++) {
    for (let u = 0; u < units; u++) {
      let acc = p.bias ? p.bias[u] : 0;
      for (let r = 0; r < rank; r++) acc = (acc + filterSums[b * filters + u * rank + r]) | 0;
      unitSums[b * units + u] = acc;
    }
  }
  for (let i = 0; i < batches * units; i++) {
    const v = multiplyByQuantizedMultiplier(unitSums[i], p.outputMultiplier, p.outputShift) + p.outputZeroPoint;
    output[i] = v < -128 ? -128 : v > 127 ? 127 : v;
  }
}
