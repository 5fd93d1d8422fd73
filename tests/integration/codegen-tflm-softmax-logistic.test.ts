import { describe, expect, it } from 'vitest';
import { generateModelC } from '../../src-main/core/engine/codegen/generate';
import { proveOnHost, proveOnQemu } from '../../src-main/core/engine/codegen/proof';
import type { Model, Op, Tensor } from '../../src-main/core/engine/ir';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { missingTools, requireOrSkip } from '../support/require-tools';

/**
 * TFLite Micro's fixed-point SOFTMAX and LOGISTIC in the C runtime (tf_softmax_tflm_s8,
 * tf_logistic_s8, computing exp per element) against the TS runtime (tables built at prepare), over
 * input scales from the smallest to beyond the multiplier cap, betas, depths 1..1000 and seeded inputs
 * that cover every int8 value. Each input feeds one SOFTMAX and one LOGISTIC.
 */
const gccMissing = requireOrSkip('codegen tflm softmax', missingTools('gcc'));
const qemuMissing = requireOrSkip('codegen tflm softmax under qemu', missingTools('arm-none-eabi-gcc', 'arm-none-eabi-size', 'qemu-system-arm'));

/** [input scale, zero point, rows, depth, softmax beta] */
const CASES: [number, number, number, number, number][] = [
  [0.15, 4, 3, 10, 0.7],
  [0.1, 0, 2, 1000, 1],
  [1 / 16, -20, 16, 2, 1],
  [0.5, 3, 4, 1, 1],
  [2, 0, 8, 16, 1],
  [40, -7, 4, 8, 1],
  [0.0039, 0, 16, 10, 1],
  [0.02, 30, 4, 64, 2],
];

function probabilityOpsModel(): Model {
  const tensors: Tensor[] = [];
  const ops: Op[] = [];
  const tensor = (shape: number[], scale: number, zeroPoint: number): number => {
    const id = tensors.length;
    tensors.push({ id, name: `t${id}`, dtype: 'int8', shape, quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 } });
    return id;
  };
  const inputs: number[] = [];
  const outputs: number[] = [];
  for (const [scale, zp, rows, depth, beta] of CASES) {
    const x = tensor([rows, depth], scale, zp);
    const probs = tensor([rows, depth], 1 / 256, -128);
    const sig = tensor([rows, depth], 1 / 256, -128);
    ops.push({ index: ops.length, kind: 'SOFTMAX', inputs: [x], outputs: [probs], options: { beta } } as Op);
    ops.push({ index: ops.length, kind: 'LOGISTIC', inputs: [x], outputs: [sig], options: {} } as Op);
    inputs.push(x);
    outputs.push(probs, sig);
  }
  return { name: 'tflm-probabilities', tensors, ops, inputs, outputs };
}

it('the generator calls the fixed-point kernels in tflm mode and the float tables in tflite mode', () => {
  const calls = (rounding: 'tflm' | 'tflite', fn: string) => generateModelC(probabilityOpsModel(), { rounding }).files['model.c'].split(`${fn}(`).length - 1;
  expect([calls('tflm', 'tf_softmax_tflm_s8'), calls('tflm', 'tf_logistic_s8'), calls('tflm', 'tf_softmax_s8'), calls('tflm', 'tf_lut_s8')]).toEqual([CASES.length, CASES.length, 0, 0]);
  expect([calls('tflite', 'tf_softmax_tflm_s8'), calls('tflite', 'tf_logistic_s8'), calls('tflite', 'tf_softmax_s8'), calls('tflite', 'tf_lut_s8')]).toEqual([0, 0, CASES.length, CASES.length]);
});

describe.skipIf(gccMissing)('TFLite Micro SOFTMAX and LOGISTIC: generated C = TS runtime', () => {
  it('host gcc, tflm: every op output bit-identical over 4 seeds', async () => {
    const model = probabilityOpsModel();
    const proof = await proveOnHost(model, { rounding: 'tflm', seeds: [1, 2, 3, 4] });
    for (const s of proof.seeds) {
      expect(s.mismatches, `seed ${s.seed}`).toEqual([]);
      expect(s.outputsEqual).toBe(true);
      expect(s.tensorsCompared).toBe(model.ops.length);
    }
  });

  it.skipIf(qemuMissing)('Cortex-M7 under qemu, tflm: outputs identical', { timeout: 180_000 }, async () => {
    const model = probabilityOpsModel();
    const proof = await proveOnQemu(model, { rounding: 'tflm', seed: 5, planned: planModel(model) });
    expect(proof.outputsEqual).toBe(true);
  });
});
