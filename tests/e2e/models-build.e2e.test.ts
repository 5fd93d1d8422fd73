/**
 * "Build for MCU" on a model's page in browser mode with headless Chromium: import a model the
 * project builds itself, build it for the STM32F746, see the real section sizes (when
 * arm-none-eabi-gcc is installed) beside the engine's estimates, and download the C bundle and the
 * signed package, stored under the hash the page shows. A screenshot goes to test-results/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readPackage } from '../../src-main/core/engine/package/reader';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { sha256Hex } from '../../src-main/core/models/model-files';
import { buildTinyMobilenet } from '../support/ir-builder';
import { browserUnavailableReason, screenshotPath, useAppWithFiles } from './browser-app';
import { failIfRequired, missingTools, requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('models build e2e', browserUnavailableReason());
const crossGccMissing = missingTools('arm-none-eabi-gcc');
// Without it the page must say so instead of showing sizes; CI wants the sizes checked.
failIfRequired('models build e2e', crossGccMissing);
if (crossGccMissing) console.log(`models build e2e: ${crossGccMissing}, so the page must say so instead of showing sizes`);
const crossGcc = crossGccMissing === null;

describe.skipIf(skip)('Build for MCU on the model page', () => {
  const fx = useAppWithFiles('build');

  it('builds an imported model for stm32f746 and offers the zip and the signed package', async () => {
    const { page } = fx.app;
    const file = path.join(fx.filesDir, 'tiny_mobilenet.tflite');
    writeFileSync(file, writeTflite(buildTinyMobilenet(1, 96)));
    await page.click('[data-testid="nav-models"]');
    await page.waitForSelector('[data-testid="models-page"]');
    await page.setInputFiles('[data-testid="model-file-input"]', file);
    await page.waitForSelector('[data-testid="model-page"] [data-testid="build-panel"]', { timeout: 30_000 });

    const panel = page.locator('[data-testid="build-panel"]');
    await panel.locator('[data-testid="build-mcu"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'STM32F746' }).first().click();
    await panel.locator('[data-testid="build-run"]').click();
    await expect.poll(() => panel.getAttribute('data-state'), { timeout: 5_000, interval: 50 }).toBe('building');
    await expect.poll(() => panel.getAttribute('data-state'), { timeout: 120_000, interval: 250 }).toBe('done');

    const zipLink = panel.locator('[data-testid="build-download-zip"]');
    const pkgLink = panel.locator('[data-testid="build-download-package"]');
    expect(await zipLink.getAttribute('download')).toBe('tiny_mobilenet-v1-stm32f746-c.zip');
    expect(await pkgLink.getAttribute('download')).toBe('tiny_mobilenet-v1-stm32f746.tfpk');
    expect(await zipLink.getAttribute('href')).toMatch(/^blob:/);

    if (crossGcc) {
      const rows = panel.locator('[data-testid="build-sizes"] tbody tr');
      expect(await rows.count()).toBe(6);
      expect(await panel.locator('[data-testid="build-size-Flash"]').textContent()).toMatch(/Flash\s*[\d.]+\s*[KM]?i?B\s*[\d.]+\s*[KM]?i?B/);
      expect(await panel.locator('[data-testid="build-size-bss"] td').nth(1).textContent()).toMatch(/\d/);
    } else {
      expect(await panel.locator('[data-testid="build-no-toolchain"]').textContent()).toContain('arm-none-eabi-gcc is not installed');
    }
    await panel.scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('models-build.png'), fullPage: true });

    // The links download what they name: a zip with the C sources, a package the installation's key verifies.
    const [zipDownload] = await Promise.all([page.waitForEvent('download'), zipLink.click()]);
    const zipFile = path.join(fx.filesDir, zipDownload.suggestedFilename());
    await zipDownload.saveAs(zipFile);
    expect(Object.keys(unzipSync(new Uint8Array(readFileSync(zipFile))))).toEqual(
      expect.arrayContaining(['tiny_mobilenet-v1-stm32f746/model.c', 'tiny_mobilenet-v1-stm32f746/tf_kernels.c', 'tiny_mobilenet-v1-stm32f746/Makefile']),
    );
    const [pkgDownload] = await Promise.all([page.waitForEvent('download'), pkgLink.click()]);
    const pkgFile = path.join(fx.filesDir, pkgDownload.suggestedFilename());
    await pkgDownload.saveAs(pkgFile);
    const key = new SigningKeyStore(fx.app.core.dataDir).keyPair().publicKey;
    expect(readPackage(new Uint8Array(readFileSync(pkgFile)), key).manifest.target.mcu).toBe('stm32f746');
    // The package is stored under its hash, which the page shows (a deployment names it by that hash).
    const stored = await panel.locator('[data-testid="build-package-id"]').getAttribute('title');
    expect(stored).toBe(sha256Hex(readFileSync(pkgFile)));
    expect(await panel.locator('[data-testid="build-package-id"]').textContent()).toBe(stored!.slice(0, 12));
    expect(fx.app.problems).toEqual([]);
  }, 300_000);
});
