import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MPS2_BOARD } from '../../src-main/core/engine/codegen/bundle';
import { codeFootprint, flashOnCore } from '../../src-main/core/engine/codegen/flash-estimate';
import { proveOnQemu } from '../../src-main/core/engine/codegen/proof';
import { modelCost } from '../../src-main/core/engine/cost/macs';
import { applyIoConvention } from '../../src-main/core/engine/io-convention';
import type { Model } from '../../src-main/core/engine/ir';
import { searchPatch, type PatchCandidate } from '../../src-main/core/engine/patch/search';
import { planModel } from '../../src-main/core/engine/planner/plan';
import { readTflite } from '../../src-main/core/engine/tflite/reader';
import { modelPath, skipWithoutModels } from '../support/models';
import { buildFloatWrapped, buildOpZoo, buildTinyMobilenetModel } from '../unit/codegen/op-zoo';
import { missingTools, requireOrSkip } from '../support/require-tools';

/**
 * The Cortex-M builds (arm-none-eabi-gcc -O2, newlib) run under qemu-system-arm with semihosting:
 * Cortex-M7 on mps2-an500, Cortex-M4F (-mfpu=fpv4-sp-d16 -mfloat-abi=hard) on mps2-an386. Outputs
 * byte-identical to the TS runtime, the engine's Flash estimate within 5% of the real
 * text + rodata + data, instructions per inference from -icount.
 */

const qemuMissing = requireOrSkip('qemu', missingTools('arm-none-eabi-gcc', 'arm-none-eabi-size', 'qemu-system-arm'));

/** The Flash estimate's promise: within 5% of arm-none-eabi-size's text + rodata + data. */
const FLASH_TOLERANCE = 0.05;

async function check(model: Model, rounding: 'tflm' | 'tflite', patch?: PatchCandidate, core = 'cortex-m7', planned = planModel(model)): Promise<void> {
  const proof = await proveOnQemu(model, { rounding, seed: 1, planned, patch, core });
  expect(proof.outputsEqual).toBe(true);
  // The static arena is the plan's peak, and it is what .bss holds (plus a few words of the harness).
  expect(proof.generated.arenaBytes).toBe((patch?.plan ?? planned.plan).peakBytes);
  expect(proof.sizes.bss).toBeGreaterThanOrEqual(proof.generated.arenaBytes);
  expect(proof.sizes.bss - proof.generated.arenaBytes).toBeLessThan(256);
  // Weights and tables are const: they are in .rodata, not copied to SRAM.
  expect(proof.sizes.rodata).toBeGreaterThanOrEqual(proof.generated.constBytes);
  expect(proof.sizes.data).toBeLessThan(256);
  // The engine's Flash estimate (what compile reports) within 5% of the real build, patch loop included.
  const flashEstimate = flashOnCore(codeFootprint(model, { planned, patch, rounding }), core).totalBytes;
  const error = flashEstimate / proof.sizes.flash - 1;
  expect(Math.abs(error), `Flash estimate ${flashEstimate} vs real ${proof.sizes.flash}`).toBeLessThanOrEqual(FLASH_TOLERANCE);
  expect(proof.instructions).toBeGreaterThan(0);
  console.log(
    `[qemu] ${core} ${model.name}${patch ? ` (${patch.stage.n}x${patch.stage.n} patches)` : ''} ${rounding}: text ${proof.sizes.text} rodata ${proof.sizes.rodata} data ${proof.sizes.data} bss ${proof.sizes.bss}; ` +
      `flash estimate ${flashEstimate} (${(error * 100).toFixed(2)}%); ${proof.instructions} instructions/inference`,
  );
}

const int8Io = (m: Model) => applyIoConvention(m, 'int8').model;

describe.skipIf(qemuMissing)('Cortex-M7 build under qemu mps2-an500: in-project models', () => {
  for (const build of [buildOpZoo, buildFloatWrapped, buildTinyMobilenetModel]) {
    for (const rounding of ['tflm', 'tflite'] as const) {
      it(`${build().name}, ${rounding}: outputs identical to the TS runtime`, { timeout: 120_000 }, () => check(build(), rounding));
    }
  }
  it('float-wrapped with int8 I/O (QUANTIZE/DEQUANTIZE left to the firmware), tflm: outputs identical', { timeout: 120_000 }, () =>
    check(int8Io(buildFloatWrapped()), 'tflm'));
  it('tiny MobileNetV2 with its residual block written over (projection over its input, ADD over the skip), tflm: outputs identical', { timeout: 120_000 }, () => {
    const model = buildTinyMobilenetModel();
    const planned = planModel(model, 'tinyengine', { overwriteResidual: true });
    expect(planned.schedule.steps.some((s) => s.overwrites)).toBe(true);
    return check(model, 'tflm', undefined, 'cortex-m7', planned);
  });
});

describe.skipIf(qemuMissing)('Cortex-M4F build under qemu mps2-an386: in-project models', () => {
  for (const build of [buildOpZoo, buildFloatWrapped, buildTinyMobilenetModel]) {
    it(`${build().name}, tflm: outputs identical to the TS runtime`, { timeout: 120_000 }, () => check(build(), 'tflm', undefined, 'cortex-m4'));
  }
  it('tiny MobileNetV2 as 2x2 patches with its residual block written over (the default plan), tflm: outputs identical to the TS runtime', { timeout: 120_000 }, async () => {
    const model = buildTinyMobilenetModel();
    const planned = planModel(model);
    expect(planned.schedule.steps.some((s) => s.overwrites)).toBe(true);
    const { chosen } = searchPatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode: { n: 2 } });
    await check(model, 'tflm', chosen, 'cortex-m4');
  });
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
      expect(planModel(model).plan.peakBytes).toBeLessThan(MPS2_BOARD.ramBytes);
      await check(model, 'tflm');
    });
  }

  it('mcunet_vww1.tflite with int8 I/O, tflm: outputs identical to the TS runtime', { timeout: 900_000 }, async () => {
    await check(int8Io(readTflite(new Uint8Array(readFileSync(modelPath('mcunet_vww1.tflite'))))), 'tflm');
  });

  it('person_detect.tflite on Cortex-M4F (mps2-an386), tflm: outputs identical to the TS runtime', { timeout: 300_000 }, async () => {
    await check(readTflite(new Uint8Array(readFileSync(modelPath('person_detect.tflite')))), 'tflm', undefined, 'cortex-m4');
  });

  it('mobilenet_v2_int8_224.tflite as patches (auto), tflm: the arena fits an STM32F746 and outputs are identical', { timeout: 900_000 }, async () => {
    const model = readTflite(new Uint8Array(readFileSync(modelPath('mobilenet_v2_int8_224.tflite'))));
    const planned = planModel(model);
    const { chosen } = searchPatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode: 'auto' });
    expect(chosen).toBeDefined();
    expect(chosen!.plan.peakBytes).toBeLessThan(320 * 1024);
    await check(model, 'tflm', chosen);
  });
});
