/**
 * The simulator page's update faults and the device page's prediction, in browser mode with
 * headless Chromium: the fault form sets block loss, corrupted blocks, power loss mid-transfer,
 * a miscomputing runtime and low free SRAM/Flash, and sim.status shows them applied; a simulated
 * device that takes a deployment shows its model's prediction in the headline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultConfig } from '../../src-main/core/contract/sim';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { buildTinyMobilenet } from '../support/ir-builder';
import { untilDeployment } from '../support/ota-fleet';
import { requireOrSkip } from '../support/require-tools';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';

const skip = requireOrSkip('e2e', browserUnavailableReason());

/** The <input> of an Element Plus input inside `scope`, wherever its data-testid landed (wrapper or input). */
function inputOf(scope: Locator, testId: string) {
  return scope.locator(`[data-testid="${testId}"]`).locator('xpath=descendant-or-self::input').first();
}

describe.skipIf(skip)('simulator updates in a browser', () => {
  let outDir: string;
  let app: BrowserApp;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-simupd-'));
    app = await startBrowserApp({ rendererDir: buildRenderer(outDir), simulate: 2 });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('the fault form applies the update faults to the group', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-simulator"]');
    await page.click('[data-testid="sim-edit-faults"]');
    // the start form has the same fields: work in the group's fault dialog
    const dialog = page.getByRole('dialog', { name: /Faults of/ });
    const set = async (id: string, value: string) => {
      const input = inputOf(dialog, id);
      await input.fill(value);
      await input.press('Tab');
    };
    await set('fault-block-loss', '10');
    await set('fault-block-corruption', '5');
    await set('fault-transfer-power', '20');
    await set('fault-sram-free', '40000');
    await set('fault-flash-free', '102400');
    await dialog.locator('[data-testid="fault-miscompute"]').click();
    await page.screenshot({ path: screenshotPath('e2e-sim-update-faults.png'), fullPage: true });
    await page.click('[data-testid="sim-save-faults"]');

    await expect
      .poll(async () => (await app.core.api.call('sim.status', {})).groups[0]?.config.faults, { timeout: 10_000 })
      .toMatchObject({ blockLoss: 0.1, blockCorruption: 0.05, transferPowerLoss: 0.2, miscompute: true, sramFreeBytes: 40000, flashFreeBytes: 102400 });
    await expect.poll(() => page.locator('.el-table').textContent(), { timeout: 10_000 }).toContain('10% block loss');
    expect(await page.locator('.el-table').textContent()).toContain('miscomputing runtime');
  }, 60_000);

  it('a device that takes a deployment shows its prediction in the headline', async () => {
    const status = await app.core.api.call('sim.status', {});
    await app.core.api.call('sim.setFaults', { groupId: status.groups[0].id, faults: FaultConfig.parse({}) });
    const { page } = app;
    await page.goto(`${app.url.split('#')[0]}#/fleet/sim-00001`);
    await expect.poll(() => page.locator('[data-testid="device-prediction"]').textContent(), { timeout: 15_000 }).toContain('no model running');

    const api = app.core.api;
    const imported = await api.call('models.import', { name: 'tiny', fileName: 'tiny.tflite', bytesBase64: Buffer.from(writeTflite(buildTinyMobilenet(1, 16))).toString('base64') });
    const { deployment } = await api.call('deploy.create', { modelId: imported.model.id, version: 1, targets: { deviceIds: ['sim-00001'] }, waves: { canary: { count: 1 }, steps: [] } });
    const done = await untilDeployment(api, deployment!.id, (d) => ['succeeded', 'failed', 'aborted'].includes(d.state), 90_000);
    expect(done.state).toBe('succeeded');
    await expect.poll(() => page.locator('[data-testid="device-prediction"]').textContent(), { timeout: 20_000 }).toMatch(/class \d+ \(\d+ %\)/);
    // the new birth's slots reach the page without a reload
    await expect.poll(() => page.locator('[data-testid="device-slot"][data-slot="a"]').textContent(), { timeout: 10_000 }).toContain(`${imported.model.name} v1`);
    await page.screenshot({ path: screenshotPath('e2e-device-prediction.png'), fullPage: true });
    expect(app.problems).toEqual([]);
  }, 90_000);
});
