import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MPS2_AN500 } from '../../src-main/core/engine/codegen/bundle';
import { proveOnQemu } from '../../src-main/core/engine/codegen/proof';
import { patchCodeBytes } from '../../src-main/core/engine/cost/footprint';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import type { Model } from '../../src-main/core/engine/ir';
import { searchPatch, type PatchCandidate } from '../../src-main/core/engine/patch/search';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { modelPath, skipWithoutModels } from '../support/models';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../unit/codegen/op-zoo';
import { missingTools, requireOrSkip } from '../support/require-tools';

/**
 * The Cortex-M7 build (arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb -O2, newlib) run under
 * qemu-system-arm -M mps2-an500 with semihosting: outputs byte-identical to the TS runtime, real
 * section sizes next to the engine's Flash estimate, instructions per inference from -icount.
 */

const qemuMissing = requireOrSkip('qemu', missingTools('arm-none-eabi-gcc', 'arm-none-eabi-size', 'qemu-system-arm'));

async function check(model: Model, rounding: 'tflm' | 'tflite', patch?: PatchCandidate): Promise<void> {
  const planned = planModel(model);
  const proof = await proveOnQemu(model, { rounding, seed: 1, planned, patch });
  expect(proof.outputsEqual).toBe(true);
  // The static arena is the plan's peak, and it is what .bss holds (plus a few words of the harness).
  expect(proof.generated.arenaBytes).toBe((patch?.plan ?? planned.plan).peakBytes);
  expect(proof.sizes.bss).toBeGreaterThanOrEqual(proof.generated.arenaBytes);
  expect(proof.sizes.bss - proof.generated.arenaBytes).toBeLessThan(256);
  // Weights and tables are const: they are in .rodata, not copied to SRAM.
  expect(proof.sizes.rodata).toBeGreaterThanOrEqual(proof.generated.constBytes);
  expect(proof.sizes.data).toBeLessThan(256);
  // The engine's Flash estimate must not promise less than the real build takes, patch loop included.
  const flashEstimate = modelCost(model).flash.totalBytes + (patch ? patchCodeBytes(patch.stage) : 0);
  expect(flashEstimate).toBeGreaterThanOrEqual(proof.sizes.flash);
  expect(proof.instructions).toBeGreaterThan(0);
  console.log(
    `[qemu] ${model.name}${patch ? ` (${patch.stage.n}x${patch.stage.n} patches)` : ''} ${rounding}: text ${proof.sizes.text} rodata ${proof.sizes.rodata} data ${proof.sizes.data} bss ${proof.sizes.bss}; ` +
      `flash estimate ${flashEstimate}; ${proof.instructions} instructions/inference`,
  );
}

describe.skipIf(qemuMissing)('Cortex-M7 build under qemu mps2-an500: in-project models', () => {
  for (const build of [buildOpZoo, buildFloatWrapped, buildTinyMobilenetModel]) {
    for (const rounding of ['tflm', 'tflite'] as const) {
      it(`${build().name}, ${rounding}: outputs identical to the TS runtime`, { timeout: 120_000 }, () => check(build(), rounding));
    }
  }
});

describe.skipIf(qemuMissing || skipWithoutModels('qemu'))('Cortex-M7 build under qemu mps2-an500: published models', () => {
  const small = ['hello_world_int8.tflite', 'micro_speech_quantized.tflite', 'person_detect.tflite', 'kws_ref_model.tflite'];
  for (const file of small) {
    for (const rounding of ['tflm', 'tflite'] as const) {
      it(`${file}, ${rounding}: outputs identical to the TS runtime`, { timeout: 180_000 }, () =>
        check(readTflite(new Uint8Array(readFileSync(modelPath(file)))), rounding));
    }
  }
  for (const file of ['vww_96_int8.tflite', 'mcunet_vww1.tflite', 'mobilenet_v2_int8_224.tflite']) {
    it(`${file}, tflm: fits the board and outputs are identical to the TS runtime`, { timeout: 900_000 }, async () => {
      const model = readTflite(new Uint8Array(readFileSync(modelPath(file))));
      expect(planModel(model).plan.peakBytes).toBeLessThan(MPS2_AN500.ramBytes);
      await check(model, 'tflm');
    });
  }

  it('mobilenet_v2_int8_224.tflite as patches (auto), tflm: the arena fits an STM32F746 and outputs are identical', { timeout: 900_000 }, async () => {
    const model = readTflite(new Uint8Array(readFileSync(modelPath('mobilenet_v2_int8_224.tflite'))));
    const planned = planModel(model);
    const { chosen } = searchPatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode: 'auto' });
    expect(chosen).toBeDefined();
    expect(chosen!.plan.peakBytes).toBeLessThan(320 * 1024);
    await check(model, 'tflm', chosen);
  });
});
