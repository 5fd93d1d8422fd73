/*
 * An independent transcription of the TFLite Micro reference kernels a keyword model runs: QUANTIZE
 * between integer types (quantize_common.cc, reference_ops::Requantize), SVDF (svdf_common.cc,
 * PrepareSvdf and EvalIntegerSvdfReference<T> for int8 and int16 state), FULLY_CONNECTED
 * (reference_integer_ops::FullyConnected, per-tensor) and SOFTMAX (tflm-probability-reference.ts).
 * It works in BigInt with its own QuantizeMultiplier and shares nothing with the runtime, so "the
 * runtime equals this" is an independent check where the TFLite oracle cannot run the model (its
 * WASM traps on an int8 SVDF state, which only TFLite Micro supports).
 */
import type { Model, Tensor } from '../../src-main/core/engine/ir';
import { frexpRef, rdbpot, softmaxRef, srdhm } from './tflm-probability-reference';

const wrap = (v: bigint): bigint => BigInt.asIntN(32, v);

/** TFLite's QuantizeMultiplier: [multiplier, shift]. */
function quantizeMultiplierRef(real: number): [bigint, number] {
  if (real === 0) return [0n, 0];
  const [q, e] = frexpRef(real);
  let shift = e;
  let fixed = Math.round(q * 2 ** 31);
  if (fixed === 2 ** 31) {
    fixed /= 2;
    shift++;
  }
  if (shift < -31) return [0n, 0];
  return [BigInt(fixed), shift];
}

/** MultiplyByQuantizedMultiplier with TFLite Micro's double rounding. */
function mbqm(x: bigint, [m, shift]: [bigint, number]): bigint {
  const left = shift > 0 ? shift : 0;
  return rdbpot(srdhm(wrap(x << BigInt(left)), m), shift > 0 ? 0 : -shift);
}

const clamp = (v: bigint, lo: bigint, hi: bigint): bigint => (v < lo ? lo : v > hi ? hi : v);
const rangeOf = (t: Tensor): [bigint, bigint] =>
  t.dtype === 'int8' ? [-128n, 127n] : t.dtype === 'uint8' ? [0n, 255n] : t.dtype === 'int16' ? [-32768n, 32767n] : [-(2n ** 31n), 2n ** 31n - 1n];
const scaleOf = (t: Tensor) => t.quant!.scale[0];
const zpOf = (t: Tensor) => BigInt(t.quant!.zeroPoint[0]);
const f = Math.fround;

/** Little-endian integer values of a constant tensor. */
function constValues(t: Tensor): bigint[] {
  const view = new DataView(t.data!.buffer, t.data!.byteOffset, t.data!.byteLength);
  const n = t.data!.byteLength / (t.dtype === 'int8' ? 1 : t.dtype === 'int16' ? 2 : 4);
  return Array.from({ length: n }, (_, i) => BigInt(t.dtype === 'int8' ? view.getInt8(i) : t.dtype === 'int16' ? view.getInt16(2 * i, true) : view.getInt32(4 * i, true)));
}

/**
 * A TFLite Micro reference run of a model built from QUANTIZE (integer), SVDF, FULLY_CONNECTED and
 * SOFTMAX, keeping every variable tensor between calls of `run` as TFLite Micro does.
 */
export class TflmSvdfReference {
  private readonly state = new Map<number, bigint[]>();

  constructor(private readonly model: Model) {
    for (const t of model.tensors) if (t.isVariable) this.state.set(t.id, new Array<bigint>(t.shape.reduce((a, b) => a * b, 1)).fill(zpOf(t)));
  }

  /** One inference; returns every op output by tensor id, as numbers. */
  run(inputs: ArrayLike<number>[]): Map<number, number[]> {
    const T = this.model.tensors;
    const values = new Map<number, bigint[]>();
    this.model.inputs.forEach((id, k) => values.set(id, Array.from(inputs[k], (v) => BigInt(v))));
    const read = (id: number) => values.get(id) ?? this.state.get(id) ?? constValues(T[id]);
    for (const op of this.model.ops) {
      const out = T[op.outputs[0]];
      const input = T[op.inputs[0]];
      const x = read(op.inputs[0]);
      let y: bigint[];
      switch (op.kind) {
        case 'QUANTIZE': {
          const m = quantizeMultiplierRef(scaleOf(input) / scaleOf(out));
          const [lo, hi] = rangeOf(out);
          y = x.map((v) => clamp(mbqm(v - zpOf(input), m) + zpOf(out), lo, hi));
          break;
        }
        case 'FULLY_CONNECTED': {
          const w = constValues(T[op.inputs[1]]);
          const bias = op.inputs[2] >= 0 ? constValues(T[op.inputs[2]]) : null;
          const [units, depth] = T[op.inputs[1]].shape;
          const m = quantizeMultiplierRef(scaleOf(input) * scaleOf(T[op.inputs[1]]) / scaleOf(out));
          y = [];
          for (let r = 0; r < x.length / depth; r++) {
            for (let u = 0; u < units; u++) {
              let acc = bias ? bias[u] : 0n;
              for (let c = 0; c < depth; c++) acc += w[u * depth + c] * (x[r * depth + c] - zpOf(input));
              y.push(clamp(mbqm(wrap(acc), m) + zpOf(out), -128n, 127n));
            }
          }
          break;
        }
        case 'SOFTMAX': {
          const depth = input.shape[input.shape.length - 1];
          y = [];
          for (let r = 0; r < x.length / depth; r++) {
            const row = softmaxRef(x.slice(r * depth, (r + 1) * depth).map(Number), scaleOf(input), op.options.beta, out.dtype === 'int16' ? 16 : 8);
            if (row === 'abort') throw new Error(`SOFTMAX at node ${op.index} aborts`);
            y.push(...row.map((v) => BigInt(v)));
          }
          break;
        }
        case 'SVDF':
          y = this.svdf(op.inputs, out, op.options.rank, x);
          break;
        default:
          throw new Error(`the TFLite Micro transcription has no ${op.kind}`);
      }
      values.set(out.id, y);
    }
    const result = new Map<number, number[]>();
    for (const [id, v] of values) if (!this.model.inputs.includes(id)) result.set(id, v.map(Number));
    return result;
  }

  /** EvalIntegerSvdfReference<T>, with PrepareSvdf's effective scales (float32 products). */
  private svdf(ids: number[], out: Tensor, rank: number, input: bigint[]): bigint[] {
    const T = this.model.tensors;
    const [inT, wfT, wtT, biasId, stT] = [T[ids[0]], T[ids[1]], T[ids[2]], ids[3], T[ids[4]]];
    const wf = constValues(wfT), wt = constValues(wtT);
    const bias = biasId >= 0 ? constValues(T[biasId]) : null;
    const state = this.state.get(stT.id)!;
    const [batches, inputSize] = inT.shape;
    const [filters, memory] = wtT.shape;
    const units = filters / rank;
    const s1 = quantizeMultiplierRef(f(f(scaleOf(inT) * scaleOf(wfT)) / scaleOf(stT)));
    const s2 = quantizeMultiplierRef(f(f(scaleOf(stT) * scaleOf(wtT)) / scaleOf(out)));
    const [lo, hi] = rangeOf(stT);
    const stZp = zpOf(stT);
    // Left shift of the whole state by one element.
    for (let i = 0; i + 1 < state.length; i++) state[i] = state[i + 1];
    for (let b = 0; b < batches; b++) {
      for (let r = 0; r < filters; r++) {
        let dot = 0n;
        for (let c = 0; c < inputSize; c++) dot += wf[r * inputSize + c] * (input[b * inputSize + c] - zpOf(inT));
        state[(b * filters + r) * memory + memory - 1] = clamp(stZp + mbqm(wrap(dot), s1), lo, hi);
      }
    }
    const scratch: bigint[] = [];
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < filters; i++) {
        let dot = 0n;
        for (let j = 0; j < memory; j++) dot += wt[i * memory + j] * (state[(b * filters + i) * memory + j] - stZp);
        scratch.push(wrap(dot));
      }
    }
    const y: bigint[] = [];
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < units; i++) {
        let acc = bias ? bias[i] : 0n;
        for (let j = 0; j < rank; j++) acc += scratch[b * filters + i * rank + j];
        y.push(clamp(mbqm(wrap(acc), s2) + zpOf(out), -128n, 127n));
      }
    }
    return y;
  }
}
