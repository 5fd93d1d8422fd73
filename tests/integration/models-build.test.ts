/**
 * models.build through a real core: the model worker emits the C bundle of the chosen schedule
 * (zip), cross-compiles it with arm-none-eabi-gcc when installed for the real section sizes, and
 * writes a package signed with the data directory's key; bad input is refused with the reason.
 */
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey } from '../../src-main/core/engine/package/keys';
import { readPackage } from '../../src-main/core/engine/package/reader';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { createTestCore, type TestCore } from '../support/core';
import { IrBuilder, buildTinyMobilenet } from '../support/ir-builder';
import { failIfRequired, missingTools } from '../support/require-tools';

/** 1.5 MiB of FULLY_CONNECTED weights: more Flash than a 1 MiB STM32F412 has, whatever the plan. */
function buildFlashHog() {
  const b = new IrBuilder('flash hog');
  return b.build([b.fullyConnected(b.input([1, 768]), 2048)]);
}

const crossGccMissing = missingTools('arm-none-eabi-gcc');
// Without it the build must report no sizes; CI wants the sizes checked.
failIfRequired('models.build', crossGccMissing);
if (crossGccMissing) console.log(`models.build: ${crossGccMissing}, so the build must report no sizes`);
const crossGcc = crossGccMissing === null;

describe('models.build', () => {
  let core: TestCore;
  let modelId: string;
  const model = buildTinyMobilenet(1, 32);
  const weightBytes = model.tensors.reduce((sum, t) => sum + (t.data?.byteLength ?? 0), 0);

  beforeAll(async () => {
    core = await createTestCore();
    const imported = await core.api.call('models.import', { name: 'tiny build', fileName: 'tiny.tflite', bytesBase64: Buffer.from(writeTflite(model)).toString('base64') });
    modelId = imported.model.id;
  });
  afterAll(async () => {
    await core?.dispose();
  });

  it('returns the C bundle, a package signed with the data dir key, and the real sizes', async () => {
    const built = await core.api.call('models.build', { modelId, version: 1, mcu: 'stm32f746' });
    expect(built.bundleName).toBe('tiny_build-v1-stm32f746-c.zip');
    expect(built.packageName).toBe('tiny_build-v1-stm32f746.tfpk');

    const files = unzipSync(new Uint8Array(Buffer.from(built.bundleZipBase64, 'base64')));
    const names = Object.keys(files).map((n) => n.replace(/^tiny_build-v1-stm32f746\//, ''));
    expect(names).toEqual(expect.arrayContaining(['model.c', 'model.h', 'Makefile', 'tf_kernels.c', 'tf_kernels.h', 'mcu/main_mcu.c']));
    const modelC = new TextDecoder().decode(files['tiny_build-v1-stm32f746/model.c']);
    expect(modelC).toMatch(/tf_kernels\.h|model\.h/);

    const key = parsePublicKey(built.publicKeyPem);
    const { manifest, model: loaded } = readPackage(new Uint8Array(Buffer.from(built.packageBase64, 'base64')), key);
    expect(manifest.model).toMatchObject({ id: modelId, version: '1' });
    expect(manifest.target.mcu).toBe('stm32f746');
    expect(manifest.runtime.rounding).toBe('tflm');
    expect(loaded.ops.length).toBe(model.ops.length);
    // The key is the data directory's: the same key signs the next build.
    const again = await core.api.call('models.build', { modelId, version: 1, mcu: 'stm32f746', rounding: 'tflite' });
    expect(again.publicKeyPem).toBe(built.publicKeyPem);
    expect(readPackage(new Uint8Array(Buffer.from(again.packageBase64, 'base64')), key).manifest.runtime.rounding).toBe('tflite');

    expect(built.estimate.flashBytes).toBeGreaterThan(weightBytes);
    expect(built.estimate.sramBytes).toBeGreaterThan(0);
    if (crossGcc) {
      expect(built.toolchain).toBe('arm-none-eabi-gcc');
      const s = built.sizes!;
      expect(s.flash).toBe(s.text + s.rodata + s.data);
      expect(s.sram).toBe(s.data + s.bss);
      // The weights are const arrays in Flash; the arena is a static buffer in .bss.
      expect(s.text + s.rodata).toBeGreaterThan(weightBytes);
      expect(s.bss).toBeGreaterThan(0);
    } else {
      expect(built.toolchain).toBeNull();
      expect(built.sizes).toBeNull();
    }
  }, 120_000);

  it('builds and sizes for the MCU\'s own core; an ESP32-S3 build names the toolchain it needs', async () => {
    const nrf = await core.api.call('models.build', { modelId, version: 1, mcu: 'nrf52840' });
    expect(nrf.core).toMatchObject({ id: 'cortex-m4', label: 'Cortex-M4F', flags: expect.arrayContaining(['-mcpu=cortex-m4', '-mfpu=fpv4-sp-d16', '-mfloat-abi=hard']) });
    const nrfMake = new TextDecoder().decode(unzipSync(new Uint8Array(Buffer.from(nrf.bundleZipBase64, 'base64')))['tiny_build-v1-nrf52840/Makefile']);
    expect(nrfMake).toContain('-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard');
    if (crossGcc) {
      // The estimate is the Cortex-M4F figure, within 5% of the real Cortex-M4F build.
      expect(Math.abs(nrf.estimate.flashBytes / nrf.sizes!.flash - 1)).toBeLessThanOrEqual(0.05);
    }
    const rp = await core.api.call('models.build', { modelId, version: 1, mcu: 'rp2040' });
    expect(rp.core).toMatchObject({ id: 'cortex-m0plus', flags: expect.arrayContaining(['-mcpu=cortex-m0plus']) });
    if (crossGcc) expect(rp.sizes!.text).not.toBe(nrf.sizes!.text);
    const esp = await core.api.call('models.build', { modelId, version: 1, mcu: 'esp32s3' });
    expect(esp.core).toMatchObject({ id: 'xtensa-lx7', toolchainNeeded: expect.stringContaining('xtensa-esp32s3-elf-gcc') });
    expect(esp.sizes).toBeNull();
    expect(esp.toolchain).toBeNull();
    expect(esp.estimate.flashBytes).toBeGreaterThan(weightBytes);
  }, 120_000);

  it('refuses an unknown MCU, model or version with the reason', async () => {
    await expect(core.api.call('models.build', { modelId, version: 1, mcu: 'z80' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('Unknown MCU profile "z80"'),
    });
    await expect(core.api.call('models.build', { modelId, version: 9, mcu: 'stm32f746' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('has no version 9'),
    });
    await expect(core.api.call('models.build', { modelId: 'nope', version: 1, mcu: 'stm32f746' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('No model with id "nope"'),
    });
  });

  it('refuses a model that does not fit the MCU with the numbers, and builds it when asked, recording the misfit', async () => {
    const hog = await core.api.call('models.import', { name: 'hog', fileName: 'hog.tflite', bytesBase64: Buffer.from(writeTflite(buildFlashHog())).toString('base64') });
    const id = hog.model.id;
    await expect(core.api.call('models.build', { modelId: id, version: 1, mcu: 'stm32f412' })).rejects.toMatchObject({
      code: 'DOES_NOT_FIT',
      message: expect.stringMatching(/^hog v1 does not fit: needs 1\.\d MiB Flash \(weights \+ code estimate\), STM32F412 has 1\.0 MiB/),
    });
    const built = await core.api.call('models.build', { modelId: id, version: 1, mcu: 'stm32f412', allowMisfit: true });
    expect(built.misfit).toBe(true);
    expect(built.fit).toMatchObject({ mcu: 'stm32f412', fits: false, fitsFlash: false });
    const { manifest } = readPackage(new Uint8Array(Buffer.from(built.packageBase64, 'base64')), parsePublicKey(built.publicKeyPem));
    expect(manifest.target.misfit).toEqual({ sramNeededBytes: built.fit.sramNeededBytes, flashNeededBytes: built.fit.flashNeededBytes });
    // A model that fits says nothing of a misfit.
    const fits = await core.api.call('models.build', { modelId: id, version: 1, mcu: 'esp32s3' });
    expect(fits.misfit).toBe(false);
    expect(readPackage(new Uint8Array(Buffer.from(fits.packageBase64, 'base64')), parsePublicKey(fits.publicKeyPem)).manifest.target.misfit).toBeUndefined();
  }, 120_000);

  it('builds the plan of the analysis options it is given, with the figures that analysis reports', async () => {
    const plan = { patch: { n: 2 } } as const;
    const { jobId } = await core.api.call('models.analyze', { modelId, version: 1, ...plan });
    let analysis = await core.api.call('models.analysis', { jobId });
    while (analysis.state === 'queued' || analysis.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      analysis = await core.api.call('models.analysis', { jobId });
    }
    const report = analysis.report!;
    expect(report.patch.applied).toBe(true);
    const built = await core.api.call('models.build', { modelId, version: 1, mcu: 'stm32f746', plan });
    expect(built.schedule).toEqual({ patched: true, n: 2, lastStageOp: report.patch.lastStageOp, arenaBytes: report.peakSramBytes });
    expect(built.fit).toEqual(report.fits.find((f) => f.mcu === 'stm32f746'));
    expect(built.estimate).toEqual({ flashBytes: built.fit.flashNeededBytes, sramBytes: built.fit.sramNeededBytes });
    await expect(core.api.call('models.build', { modelId, version: 1, mcu: 'stm32f746', plan: { patch: 'auto', mcu: 'z80' } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('Unknown MCU profile "z80"'),
    });
  }, 120_000);
});
