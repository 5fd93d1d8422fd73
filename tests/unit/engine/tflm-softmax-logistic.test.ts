import { describe, expect, it } from 'vitest';
import type { Model, Tensor } from '../../../src-main/core/engine/ir';
import { expOnNegativeValues, getReciprocal, logistic, oneOverOnePlusXForXIn01 } from '../../../src-main/core/engine/runtime/fixed-point';
import { mulberry32 } from '../../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { logisticTflm, logisticTflmParams } from '../../../src-main/core/engine/runtime/kernels/logistic-tflm';
import { softmaxTflm, softmaxTflmParams } from '../../../src-main/core/engine/runtime/kernels/softmax-tflm';
import { expNeg, logisticOneRef, logisticRef, oneOverOnePlusX, softmaxRef } from '../../support/tflm-probability-reference';

/** Runs the kernel, reporting where it aborts as TFLite Micro would. */
function softmaxKernel(row: Int8Array, inputScale: number, beta: number): number[] | 'abort' {
  const out = new Int8Array(row.length);
  try {
    softmaxTflm(row, out, softmaxTflmParams(inputScale, beta, 1, row.length));
  } catch (e) {
    if (/TFLITE_CHECK/.test(String(e))) return 'abort';
    throw e;
  }
  return Array.from(out);
}

function singleOpModel(kind: 'SOFTMAX' | 'LOGISTIC', shape: number[], inScale: number, inZp: number, out = { scale: 1 / 256, zeroPoint: -128 }): Model {
  const t = (id: number, scale: number, zeroPoint: number): Tensor => ({ id, name: `t${id}`, dtype: 'int8', shape, quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 } });
  const options = kind === 'SOFTMAX' ? { beta: 1 } : {};
  return {
    name: kind.toLowerCase(),
    tensors: [t(0, inScale, inZp), t(1, out.scale, out.zeroPoint)],
    ops: [{ index: 0, kind, inputs: [0], outputs: [1], options } as Model['ops'][number]],
    inputs: [0],
    outputs: [1],
  };
}

const ALL_INT8 = Int8Array.from({ length: 256 }, (_, i) => i - 128);
const rnd = mulberry32(2024);
const randomRaw = () => (rnd() | 0) ^ (rnd() << 16);

describe('gemmlowp fixed-point math (TS) against the BigInt transcription', () => {
  it('exp_on_negative_values for 0..8 integer bits, logistic and 1/(1+x) on random raw values and edges', () => {
    const edges = [0, -1, 1, -2147483648, 2147483647, -(1 << 26), -(1 << 27), -(1 << 29), 1 << 30];
    for (let ib = 0; ib <= 8; ib++) {
      for (const a of [...edges, ...Array.from({ length: 3000 }, randomRaw)]) {
        const neg = a > 0 ? -a : a;
        expect(expOnNegativeValues(neg, ib), `exp ${neg} ib ${ib}`).toBe(Number(expNeg(BigInt(neg), ib)));
        expect(logistic(a, ib), `logistic ${a} ib ${ib}`).toBe(Number(logisticRef(BigInt(a), ib)));
      }
    }
    for (const a of [0, 1, 2147483647, ...Array.from({ length: 3000 }, () => randomRaw() & 0x7fffffff)]) {
      expect(oneOverOnePlusXForXIn01(a)).toBe(Number(oneOverOnePlusX(BigInt(a))));
    }
  });

  it('GetReciprocal normalises to [1, 2): 1/(sum) * 2^-bits is close to the real reciprocal', () => {
    for (const sum of [1 << 19, 3 << 19, 100 << 19, (1 << 30) + 12345]) {
      const { reciprocal, numBitsOverUnit } = getReciprocal(sum, 12);
      const real = reciprocal / 2 ** 31 / 2 ** numBitsOverUnit;
      expect(real).toBeCloseTo(1 / (sum / 2 ** 19), 6);
    }
  });
});

describe('TFLite Micro int8 LOGISTIC', () => {
  const cases: [number, number][] = [[0.06, -5], [0.1, 0], [0.02, 30], [0.5, -128], [1 / 16, 127], [0.003, 3], [0.2, 10], [1.5, 0], [24, -7], [1e-7, 0]];
  it.each(cases)('kernel = reference on all 256 inputs, input scale %s zero point %s', (scale, zp) => {
    const out = new Int8Array(256);
    logisticTflm(ALL_INT8, out, logisticTflmParams(scale, zp));
    expect(Array.from(out)).toEqual(Array.from(ALL_INT8, (x) => logisticOneRef(x, scale, zp)));
  });

  it('the tflm interpreter runs it on every element; the zero point maps to 0 (0.5 at scale 1/256, zero point -128)', () => {
    const model = singleOpModel('LOGISTIC', [1, 256], 0.06, -5);
    const out = createInterpreter(model, { rounding: 'tflm' }).run([ALL_INT8]).outputs[0] as Int8Array;
    expect(Array.from(out)).toEqual(Array.from(ALL_INT8, (x) => logisticOneRef(x, 0.06, -5)));
    expect(out[-5 + 128]).toBe(0);
    expect(out[0]).toBe(-128); // sigmoid(-7.4) * 256 = 0.16
    expect(out[255]).toBe(127); // sigmoid(7.9) rounds to 256 - 128, saturated
  });
});

describe('TFLite Micro int8 SOFTMAX', () => {
  const scalings: [number, number][] = [[0.15, 0.7], [0.1, 1], [1 / 16, 1], [0.05, 2], [0.5, 1], [0.0039, 1], [2, 1], [40, 1]];
  const rowsFor = (depth: number): Int8Array[] => {
    const rows = Array.from({ length: depth === 1000 ? 6 : 40 }, () => Int8Array.from({ length: depth }, () => (rnd() % 256) - 128));
    // Narrow random rows: many values near the maximum.
    rows.push(Int8Array.from({ length: depth }, () => (rnd() % 8) + 20));
    rows.push(new Int8Array(depth).fill(-128), new Int8Array(depth).fill(127), new Int8Array(depth).fill(3));
    const spike = new Int8Array(depth).fill(-128);
    spike[depth >> 1] = 127;
    const twoMax = Int8Array.from({ length: depth }, (_, i) => (i % 2 ? 127 : -128));
    rows.push(spike, twoMax);
    return rows;
  };
  for (const depth of [1, 2, 10, 1000]) {
    it(`kernel = reference (or both abort) for random, all-equal and extreme rows of depth ${depth}`, () => {
      let aborts = 0;
      for (const [scale, beta] of scalings) {
        for (const row of rowsFor(depth)) {
          const want = softmaxRef(row, scale, beta);
          expect(softmaxKernel(row, scale, beta), `scale ${scale} beta ${beta} row ${row.slice(0, 12).join(',')}`).toEqual(want);
          if (want === 'abort') aborts++;
        }
      }
      // Only rows of more than 511 elements can sum to 512: all-equal rows of depth 1000 must abort.
      if (depth < 512) expect(aborts).toBe(0);
      else expect(aborts).toBeGreaterThanOrEqual(scalings.length * 3);
    });
  }

  it('a uniform row of depth 4 gives 0.25 -> -64; a row with one clear winner gives it 127', () => {
    const out = new Int8Array(8);
    softmaxTflm(new Int8Array([5, 5, 5, 5, 100, -100, -100, -100]), out, softmaxTflmParams(0.1, 1, 2, 4));
    expect(Array.from(out)).toEqual([-64, -64, -64, -64, 127, -128, -128, -128]);
  });

  it('the interpreter aborts like TFLite Micro on a depth-1000 row of equal values, with a message saying so', () => {
    const model = singleOpModel('SOFTMAX', [1, 1000], 0.1, 0);
    expect(() => createInterpreter(model, { rounding: 'tflm' }).run([new Int8Array(1000)])).toThrow(/sums its exponentials to 1000\.0 >= 512.*aborts/);
    // TFLite runs it (float table): 1/1000 rounds to 0 -> -128.
    expect(Array.from(createInterpreter(model, { rounding: 'tflite' }).run([new Int8Array(1000)]).outputs[0] as Int8Array).every((v) => v === -128)).toBe(true);
  });

  it('tflm mode rejects an output quantization TFLite Micro refuses; tflite mode runs it', () => {
    for (const kind of ['SOFTMAX', 'LOGISTIC'] as const) {
      const model = singleOpModel(kind, [1, 10], 0.1, 0, { scale: 1 / 128, zeroPoint: -128 });
      expect(() => createInterpreter(model, { rounding: 'tflm' })).toThrow(new RegExp(`${kind} at node 0: TFLite Micro's int8 kernel needs an int8 output with scale 1/256 and zero point -128, got int8 scale 0.0078125 zero point -128`));
      expect(() => createInterpreter(model, { rounding: 'tflite' })).not.toThrow();
    }
  });
});

describe('tflm against tflite mode (TFLite Micro fixed point vs TFLite float tables)', () => {
  /** Max |tflm - tflite| and the number of differing elements over seeded typical inputs. */
  function compare(model: Model, inputs: Int8Array[]): { maxDiff: number; differing: number; total: number } {
    const tflm = createInterpreter(model, { rounding: 'tflm' });
    const tflite = createInterpreter(model, { rounding: 'tflite' });
    let maxDiff = 0, differing = 0, total = 0;
    for (const x of inputs) {
      const a = tflm.run([x]).outputs[0] as Int8Array;
      const b = tflite.run([x]).outputs[0] as Int8Array;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        maxDiff = Math.max(maxDiff, d);
        if (d) differing++;
        total++;
      }
    }
    return { maxDiff, differing, total };
  }

  // Both compute the exact function to well under an output step, so they differ only where the exact
  // value lies within ~1e-6 of a rounding tie: rare on typical inputs, frequent near constructed ties.
  it('LOGISTIC: identical on typical scales, differing by 1 LSB near rounding ties (observed: max 1)', () => {
    for (const [scale, zp] of [[0.06, -5], [0.1, 0], [0.02, 30], [0.2, 10]] as const) {
      expect(compare(singleOpModel('LOGISTIC', [1, 256], scale, zp), [ALL_INT8]).maxDiff, `scale ${scale}`).toBeLessThanOrEqual(1);
    }
    // Input 100 at scale logit((k + 0.5) / 256) / 100 sits on the tie between outputs k - 128 and k - 127.
    let differing = 0;
    for (let k = 129; k < 250; k += 3) {
      const p = (k + 0.5) / 256;
      const r = compare(singleOpModel('LOGISTIC', [1, 256], Math.log(p / (1 - p)) / 100, 0), [ALL_INT8]);
      expect(r.maxDiff, `tie ${k}`).toBeLessThanOrEqual(1);
      differing += r.differing;
    }
    expect(differing).toBeGreaterThan(5);
  });

  it('SOFTMAX over 10 classes: differing by 1 LSB on a few elements in 10^5 (observed: max 1)', () => {
    const inputs = Array.from({ length: 20000 }, () => Int8Array.from({ length: 10 }, () => (rnd() % 120) - 60));
    let differing = 0;
    for (const scale of [0.15, 0.1, 0.05]) {
      const r = compare(singleOpModel('SOFTMAX', [1, 10], scale, 4), inputs);
      expect(r.maxDiff, `scale ${scale}`).toBeLessThanOrEqual(1);
      differing += r.differing;
    }
    expect(differing).toBeGreaterThan(0);
  });
});
