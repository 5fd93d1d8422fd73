import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBundle } from '../../src-main/core/engine/codegen/bundle';
import { generateModelC } from '../../src-main/core/engine/codegen/generate';
import { bytesOf, inputBytes, proveOnHost, proveOnQemu } from '../../src-main/core/engine/codegen/proof';
import { buildHost, runHost } from '../../src-main/core/engine/codegen/toolchain';
import type { DType, Model, Op, Tensor } from '../../src-main/core/engine/ir';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { mulberry32, seededInputs } from '../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../src-main/core/engine/runtime/interpreter';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { modelPath, skipWithoutModels } from '../support/models';
import { type Oracle, loadOracle, skipWithoutOracle } from '../support/oracle';
import { missingTools, requireOrSkip } from '../support/require-tools';
import { TflmSvdfReference } from '../support/tflm-svdf-reference';

/**
 * SVDF and what keyword models run around it (QUANTIZE int16 -> int8 and int16 -> int32, SOFTMAX
 * int8 -> int16). The 16x8 SVDF (int16 state and time weights) is what TFLite itself runs: checked
 * against the oracle. The int8 state (TFLite Micro only; the oracle's WASM traps on it) and state
 * carried across inferences are checked against a transcription of TFLite Micro's kernels, on models
 * built here and on keyword_scrambled_8bit.tflite. Then the generated C against the TS runtime.
 */

interface SvdfSpec {
  batches: number;
  inputSize: number;
  filters: number;
  rank: number;
  memory: number;
  state: 'int8' | 'int16';
  stateZeroPoint: number;
  bias?: boolean;
}

/** One SVDF, seeded weights, scales that keep the state and the output spread over their ranges. */
function buildSvdf(seed: number, s: SvdfSpec): Model {
  const rnd = mulberry32(seed);
  const tensors: Tensor[] = [];
  const add = (t: Omit<Tensor, 'id' | 'name'>) => {
    tensors.push({ id: tensors.length, name: `t${tensors.length}`, ...t });
    return tensors.length - 1;
  };
  const q = (scale: number, zeroPoint = 0) => ({ scale: [scale], zeroPoint: [zeroPoint], axis: 0 });
  const data = (dtype: DType, n: number, range: number) => {
    const bytes = new Uint8Array(n * (dtype === 'int8' ? 1 : dtype === 'int16' ? 2 : 4));
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      const v = (rnd() % (2 * range + 1)) - range;
      if (dtype === 'int8') view.setInt8(i, v);
      else if (dtype === 'int16') view.setInt16(2 * i, v, true);
      else view.setInt32(4 * i, v, true);
    }
    return bytes;
  };
  const wide = s.state === 'int16';
  const units = s.filters / s.rank;
  const inScale = 0.05, featureScale = 0.01;
  // The state takes the feature products at about a tenth of their spread, the output the time sums.
  const stateScale = (inScale * featureScale * 40 * Math.sqrt(s.inputSize)) / (wide ? 3000 : 40);
  const timeScale = wide ? 0.00005 : 0.01;
  const outScale = stateScale * timeScale * (wide ? 3000 * 8000 : 40 * 60) * Math.sqrt(s.memory * s.rank) / 40;
  const x = add({ dtype: 'int8', shape: [s.batches, s.inputSize], quant: q(inScale, -3) });
  const wf = add({ dtype: 'int8', shape: [s.filters, s.inputSize], data: data('int8', s.filters * s.inputSize, 127), quant: q(featureScale) });
  const wt = add({ dtype: s.state, shape: [s.filters, s.memory], data: data(s.state, s.filters * s.memory, wide ? 12000 : 127), quant: q(timeScale) });
  const bias = s.bias === false ? -1 : add({ dtype: 'int32', shape: [units], data: data('int32', units, 5000), quant: q(stateScale * timeScale) });
  const state = add({ dtype: s.state, shape: [s.batches, s.memory * s.filters], quant: q(stateScale, s.stateZeroPoint), isVariable: true });
  const y = add({ dtype: 'int8', shape: [s.batches, units], quant: q(outScale, 5) });
  // TFLite's integer SVDF insists on a fused relu it then does not apply; TFLite Micro ignores it.
  const ops: Op[] = [{ index: 0, kind: 'SVDF', inputs: [x, wf, wt, bias, state], outputs: [y], options: { rank: s.rank, activation: 'relu' } }];
  return { name: `svdf_${s.state}`, tensors, ops, inputs: [x], outputs: [y] };
}

const SIXTEEN_BY_EIGHT: SvdfSpec[] = [
  { batches: 1, inputSize: 24, filters: 16, rank: 1, memory: 8, state: 'int16', stateZeroPoint: 0 },
  { batches: 2, inputSize: 20, filters: 12, rank: 3, memory: 6, state: 'int16', stateZeroPoint: 0 },
  { batches: 3, inputSize: 7, filters: 10, rank: 2, memory: 1, state: 'int16', stateZeroPoint: 0, bias: false },
];
const TFLM_ONLY: SvdfSpec[] = [
  { batches: 1, inputSize: 96, filters: 64, rank: 1, memory: 8, state: 'int8', stateZeroPoint: -50 },
  { batches: 2, inputSize: 16, filters: 12, rank: 2, memory: 5, state: 'int8', stateZeroPoint: 17 },
  { batches: 1, inputSize: 30, filters: 16, rank: 4, memory: 4, state: 'int16', stateZeroPoint: -300 },
];

/** QUANTIZE int16 -> int8, int8 -> int16 SOFTMAX, QUANTIZE int16 -> int32: a keyword model's ends. */
function buildKeywordEnds(): Model {
  const tensors: Tensor[] = [];
  const add = (dtype: DType, shape: number[], scale: number, zeroPoint: number) => {
    tensors.push({ id: tensors.length, name: `t${tensors.length}`, dtype, shape, quant: { scale: [scale], zeroPoint: [zeroPoint], axis: 0 } });
    return tensors.length - 1;
  };
  const x = add('int16', [2, 40], 0.000625, 0);
  const a = add('int8', [2, 40], 0.09, -4);
  const p = add('int16', [2, 40], 1 / 65536, -32768);
  const y = add('int32', [2, 40], 1 / 32768, 0);
  const ops: Op[] = [
    { index: 0, kind: 'QUANTIZE', inputs: [x], outputs: [a], options: {} },
    { index: 1, kind: 'SOFTMAX', inputs: [a], outputs: [p], options: { beta: 1 } },
    { index: 2, kind: 'QUANTIZE', inputs: [p], outputs: [y], options: {} },
  ];
  return { name: 'keyword_ends', tensors, ops, inputs: [x], outputs: [y] };
}

const specName = (s: SvdfSpec) => `${s.state} state (zero point ${s.stateZeroPoint}), batch ${s.batches}, ${s.filters} filters of rank ${s.rank}, memory ${s.memory}${s.bias === false ? ', no bias' : ''}`;

describe.skipIf(skipWithoutOracle('engine SVDF oracle'))('SVDF 16x8 and keyword-model QUANTIZE/SOFTMAX against the TFLite oracle', () => {
  let oracle: Oracle;
  beforeAll(async () => {
    oracle = await loadOracle();
  });

  const check = (model: Model) => {
    const bytes = writeTflite(model);
    const read = readTflite(bytes);
    for (const seed of [1, 2, 3]) {
      // The oracle runs each model from a fresh state: so does a fresh interpreter.
      const ours = createInterpreter(read, { rounding: 'tflite' }).run(seededInputs(read, seed), { all: true }).intermediates!;
      const reference = oracle.run(bytes, { seed, allTensors: true });
      for (const t of [...reference.outputs, ...(reference.intermediates ?? [])]) {
        expect(Array.from(ours.get(t.index)! as ArrayLike<number>), `seed ${seed}, tensor ${t.index}`).toEqual(t.data);
      }
    }
  };
  for (const spec of SIXTEEN_BY_EIGHT) it(`SVDF ${specName(spec)}`, () => check(buildSvdf(7, spec)));
  it('QUANTIZE int16 -> int8, SOFTMAX int8 -> int16, QUANTIZE int16 -> int32', () => check(buildKeywordEnds()));
});

describe('SVDF and keyword models against a transcription of TFLite Micro (state carried across inferences)', () => {
  const check = (model: Model, steps: number) => {
    const ours = createInterpreter(model, { rounding: 'tflm' });
    const reference = new TflmSvdfReference(model);
    let moved = 0;
    for (let step = 0; step < steps; step++) {
      const inputs = seededInputs(model, 100 + step);
      const mine = ours.run(inputs, { all: true }).intermediates!;
      const expected = reference.run(inputs as ArrayLike<number>[]);
      for (const [id, values] of expected) expect(Array.from(mine.get(id)! as ArrayLike<number>), `step ${step}, tensor ${id}`).toEqual(values);
      if (step > 0) moved++;
    }
    expect(moved).toBe(steps - 1);
    // reset() goes back to the first inference's result.
    ours.reset();
    const again = new TflmSvdfReference(model).run(seededInputs(model, 100) as ArrayLike<number>[]);
    const first = ours.run(seededInputs(model, 100), { all: true }).intermediates!;
    for (const [id, values] of again) expect(Array.from(first.get(id)! as ArrayLike<number>), `after reset, tensor ${id}`).toEqual(values);
  };
  for (const spec of [...TFLM_ONLY, ...SIXTEEN_BY_EIGHT]) it(`SVDF ${specName(spec)}, 12 inferences`, () => check(buildSvdf(3, spec), 12));
  it('QUANTIZE int16 -> int8, SOFTMAX int8 -> int16, QUANTIZE int16 -> int32', () => check(buildKeywordEnds(), 3));

  it.skipIf(skipWithoutModels('engine SVDF keyword model'))('keyword_scrambled_8bit.tflite: every op of 10 consecutive inferences', () => {
    check(readTflite(new Uint8Array(readFileSync(modelPath('keyword_scrambled_8bit.tflite')))), 10);
  });

  it('a state changes the next inference: the same input gives a different output', () => {
    const model = buildSvdf(3, TFLM_ONLY[1]);
    const interpreter = createInterpreter(model);
    const inputs = seededInputs(model, 1);
    const first = Array.from(interpreter.run(inputs).outputs[0] as Int8Array);
    const second = Array.from(interpreter.run(inputs).outputs[0] as Int8Array);
    expect(second).not.toEqual(first);
  });
});

describe('SVDF in the memory plan', () => {
  it('the state lives through every step, never shares bytes, and the scratch holds the filter and unit sums', () => {
    const spec = TFLM_ONLY[1];
    const model = buildSvdf(3, spec);
    const { schedule, plan } = planModel(model);
    const stateBlock = plan.blocks.find((b) => b.tensors.includes(4))!;
    expect([stateBlock.firstStep, stateBlock.lastStep]).toEqual([0, schedule.steps.length - 1]);
    for (const b of plan.blocks) {
      if (b === stateBlock) continue;
      expect(b.offset >= stateBlock.offset + stateBlock.bytes || b.offset + b.bytes <= stateBlock.offset, `block of ${b.kind} ${b.tensors}`).toBe(true);
    }
    expect(plan.scratchBytes).toBe(4 * spec.batches * (spec.filters + spec.filters / spec.rank));
  });

  it('refuses a malformed SVDF, naming the node and the problem', () => {
    const notVariable = buildSvdf(3, TFLM_ONLY[1]);
    delete notVariable.tensors[4].isVariable;
    expect(() => readTflite(writeTflite(notVariable))).toThrow(/node 0 SVDF: tensor 4 is used before being produced/);
    const badRank = buildSvdf(3, TFLM_ONLY[1]);
    (badRank.ops[0] as Extract<Op, { kind: 'SVDF' }>).options.rank = 5;
    expect(() => readTflite(writeTflite(badRank))).toThrow(/node 0 SVDF: rank 5 does not divide 12 filters/);
    const floatState = buildSvdf(3, TFLM_ONLY[1]);
    floatState.tensors[4] = { ...floatState.tensors[4], dtype: 'int32' };
    expect(() => readTflite(writeTflite(floatState))).toThrow(/SVDF \(int32 activation state with int8 time weights\) at node 0/);
  });
});

const gccMissing = requireOrSkip('engine SVDF C', missingTools('gcc'));
const qemuMissing = requireOrSkip('engine SVDF qemu', missingTools('arm-none-eabi-gcc', 'arm-none-eabi-size', 'qemu-system-arm'));

/** The C build run `runs` times on one input (state carried) against the TS runtime doing the same. */
async function checkCarriedState(model: Model, runs: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tf-svdf-'));
  try {
    await writeBundle(dir, generateModelC(model, { rounding: 'tflm' }));
    const exe = await buildHost(dir, { probe: true });
    const inputs = seededInputs(model, 9);
    // The probes keep each tensor's last write: the last of the 1 + (runs - 1) inferences.
    const c = await runHost(exe, inputBytes(inputs), runs - 1);
    const interpreter = createInterpreter(model, { rounding: 'tflm' });
    let ts = interpreter.run(inputs, { all: true });
    for (let r = 1; r < runs; r++) ts = interpreter.run(inputs, { all: true });
    for (const [id, bytes] of c.probes!) expect(Array.from(bytes), `tensor ${id}`).toEqual(Array.from(bytesOf(ts.intermediates!.get(id)!)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(gccMissing)('SVDF and keyword models: generated C = TS runtime (host gcc)', () => {
  const models = (): Model[] => [...TFLM_ONLY, ...SIXTEEN_BY_EIGHT].map((s) => buildSvdf(5, s)).concat(buildKeywordEnds());

  it('every op output bit-identical over 3 seeds, both rounding modes', { timeout: 300_000 }, async () => {
    for (const model of models()) {
      for (const rounding of ['tflm', 'tflite'] as const) {
        const proof = await proveOnHost(model, { rounding, seeds: [1, 2, 3] });
        for (const s of proof.seeds) {
          expect(s.mismatches, `${model.name} ${rounding} seed ${s.seed}`).toEqual([]);
          expect(s.outputsEqual).toBe(true);
          expect(s.tensorsCompared).toBe(model.ops.length);
        }
      }
    }
  });

  it('the state carries over between inferences in C as in the TS runtime', async () => {
    for (const spec of [TFLM_ONLY[1], SIXTEEN_BY_EIGHT[1]]) await checkCarriedState(buildSvdf(5, spec), 4);
  });

  it.skipIf(skipWithoutModels('engine SVDF keyword C'))('keyword_scrambled_8bit.tflite: every op, 3 seeds, and 5 inferences with carried state', async () => {
    const model = readTflite(new Uint8Array(readFileSync(modelPath('keyword_scrambled_8bit.tflite'))));
    const proof = await proveOnHost(model, { rounding: 'tflm', seeds: [1, 2, 3] });
    for (const s of proof.seeds) {
      expect(s.mismatches, `seed ${s.seed}`).toEqual([]);
      expect(s.tensorsCompared).toBe(model.ops.length);
    }
    await checkCarriedState(model, 5);
  });
});

describe.skipIf(qemuMissing || skipWithoutModels('engine SVDF qemu'))('keyword_scrambled_8bit.tflite on Cortex-M7 under qemu', () => {
  it('outputs identical to the TS runtime, the arena is the plan', { timeout: 180_000 }, async () => {
    const model = readTflite(new Uint8Array(readFileSync(modelPath('keyword_scrambled_8bit.tflite'))));
    const planned = planModel(model);
    const proof = await proveOnQemu(model, { rounding: 'tflm', seed: 4, planned });
    expect(proof.outputsEqual).toBe(true);
    expect(proof.generated.arenaBytes).toBe(planned.plan.peakBytes);
  });
});
