import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proveOnHost, type HostProof } from '../../src-main/core/engine/codegen/proof';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import { searchPatch, type PatchCandidate, type PatchMode } from '../../src-main/core/engine/patch/search';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { applyIoConvention } from '../../src-main/core/engine/io-convention';
import type { Model } from '../../src-main/core/engine/ir';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { ROUNDING_MODES } from '../../src-main/core/engine/runtime/requantize';
import { RUNNABLE_MODELS, modelPath, skipWithoutModels } from '../support/models';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../unit/codegen/op-zoo';
import { missingTools, requireOrSkip } from '../support/require-tools';

/**
 * Generated C (gcc -std=c99 -Wall -Wextra -Werror -O2) against the TS runtime: every op output the
 * C program produces, on seeded inputs, in both rounding modes, must be byte-identical.
 */

const gccMissing = requireOrSkip('codegen', missingTools('gcc'));

function expectExact(proof: HostProof, model: Model, patch?: PatchCandidate): void {
  // Every scheduled step reports its output (aliases included); a patch stage reports its output once.
  const steps = planModel(model).schedule.steps.length;
  const executed = patch ? steps - patch.stage.split + 1 : steps;
  for (const s of proof.seeds) {
    expect(s.mismatches, `seed ${s.seed} (${proof.rounding})`).toEqual([]);
    expect(s.outputsEqual).toBe(true);
    expect(s.tensorsCompared).toBe(executed);
  }
}

describe.skipIf(gccMissing)('generated C on the host: in-project models', () => {
  for (const [name, build] of [
    ['op zoo (every supported op)', buildOpZoo],
    ['float-wrapped int8 body', buildFloatWrapped],
    ['tiny MobileNetV2', buildTinyMobilenetModel],
  ] as const) {
    for (const rounding of ROUNDING_MODES) {
      it(`${name}, ${rounding}: bit-identical to the TS runtime`, async () => {
        const model = build();
        expectExact(await proveOnHost(model, { rounding, seeds: [1, 2, 3] }), model);
      });
    }
  }

  for (const rounding of ROUNDING_MODES) {
    it(`float-wrapped with int8 I/O (QUANTIZE/DEQUANTIZE left to the firmware), ${rounding}: bit-identical to the TS runtime`, async () => {
      const model = applyIoConvention(buildFloatWrapped(), 'int8').model;
      expectExact(await proveOnHost(model, { rounding, seeds: [1, 2, 3] }), model);
    });
  }

  it('catches a wrong memory plan (the proof can fail)', async () => {
    const model = buildTinyMobilenetModel();
    const planned = planModel(model);
    // Put the output of the first step on top of its input: the convolution then reads what it writes.
    const step = planned.schedule.steps[0];
    planned.plan.tensorOffsets.set(step.outputs[0], planned.plan.tensorOffsets.get(step.inputs[0])!);
    const proof = await proveOnHost(model, { rounding: 'tflm', seeds: [1], planned });
    expect(proof.seeds[0].mismatches.length).toBeGreaterThan(0);
  });
});

/** The patch schedule the engine chooses for a model (searchPatch on the per-layer schedule). */
function choosePatch(model: Model, mode: PatchMode): { planned: ReturnType<typeof planModel>; patch: PatchCandidate } {
  const planned = planModel(model);
  const { chosen } = searchPatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode });
  if (!chosen) throw new Error(`no patch schedule for ${model.name}`);
  return { planned, patch: chosen };
}

describe.skipIf(gccMissing)('generated C on the host: patch-based inference', () => {
  for (const n of [2, 4]) {
    for (const rounding of ROUNDING_MODES) {
      it(`tiny MobileNetV2 as ${n}x${n} patches, ${rounding}: bit-identical to the per-layer TS runtime`, async () => {
        const model = buildTinyMobilenetModel();
        const { planned, patch } = choosePatch(model, { n });
        expect(patch.stage.n).toBe(n);
        const proof = await proveOnHost(model, { rounding, seeds: [1, 2], planned, patch });
        expect(proof.arenaBytes).toBe(patch.plan.peakBytes);
        expect(proof.arenaBytes).toBeLessThan(planned.plan.peakBytes);
        expectExact(proof, model, patch);
      });
    }
  }

  const published: [string, PatchMode][] = [
    ['person_detect.tflite', { n: 3 }],
    ['mcunet_vww1.tflite', 'auto'],
    ['mobilenet_v2_int8_224.tflite', 'auto'],
  ];
  for (const [file, mode] of published) {
    it.skipIf(skipWithoutModels('codegen patch'))(`${file} with patch mode ${JSON.stringify(mode)}, tflm: bit-identical to the TS runtime`, { timeout: 300_000 }, async () => {
      const model = readTflite(new Uint8Array(readFileSync(modelPath(file))));
      const { planned, patch } = choosePatch(model, mode);
      const proof = await proveOnHost(model, { rounding: 'tflm', seeds: [1], planned, patch });
      expect(proof.arenaBytes).toBe(patch.plan.peakBytes);
      expectExact(proof, model, patch);
    });
  }
});

describe.skipIf(gccMissing || skipWithoutModels('codegen'))('generated C on the host: published models', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tf-codegen-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('mcunet_vww1.tflite with int8 I/O, per-layer and auto patches, tflm: bit-identical to the TS runtime', { timeout: 300_000 }, async () => {
    const model = applyIoConvention(readTflite(new Uint8Array(readFileSync(modelPath('mcunet_vww1.tflite')))), 'int8').model;
    expectExact(await proveOnHost(model, { rounding: 'tflm', seeds: [1] }), model);
    const { planned, patch } = choosePatch(model, 'auto');
    expectExact(await proveOnHost(model, { rounding: 'tflm', seeds: [1], planned, patch }), model, patch);
  });

  for (const file of RUNNABLE_MODELS) {
    for (const rounding of ROUNDING_MODES) {
      it(`${file}, ${rounding}: every op output bit-identical to the TS runtime`, { timeout: 300_000 }, async () => {
        const model = readTflite(new Uint8Array(readFileSync(modelPath(file))));
        const proof = await proveOnHost(model, { rounding, seeds: [1, 2], dir: path.join(dir, `${file}-${rounding}`) });
        expectExact(proof, model);
        const header = readFileSync(path.join(dir, `${file}-${rounding}`, 'model.h'), 'utf8');
        expect(header).toContain(`#define TF_ARENA_BYTES ${planModel(model).plan.peakBytes}\n`);
      });
    }
  }
});
