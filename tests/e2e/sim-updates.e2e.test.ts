/**
 * The simulator page's update faults and the device page's prediction, in browser mode with
 * headless Chromium: the fault form sets block loss, corrupted blocks, power loss mid-transfer,
 * a miscomputing runtime and low free SRAM/Flash, and sim.status shows them applied; a simulated
 * device that takes a package shows its model's prediction in the headline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultConfig } from '../../src-main/core/contract/sim';
import { findMcuProfile, loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../src-main/core/engine/package/keys';
import { writePackage } from '../../src-main/core/engine/package/writer';
import { buildOpZoo } from '../unit/codegen/op-zoo';
import { requireOrSkip } from '../support/require-tools';
import { connectOperator, deliverPackage } from '../support/transfer-driver';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';

const skip = requireOrSkip('e2e', browserUnavailableReason());

/** The <input> of an Element Plus input inside `scope`, wherever its data-testid landed (wrapper or input). */
function inputOf(scope: Locator, testId: string) {
  return scope.locator(`[data-testid="${testId}"]`).locator('xpath=descendant-or-self::input').first();
}

describe.skipIf(skip)('simulator updates in a browser', () => {
  let outDir: string;
  let app: BrowserApp;
  let operator: MqttClient | undefined;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-simupd-'));
    app = await startBrowserApp({ rendererDir: buildRenderer(outDir), simulate: 2 });
  }, 300_000);

  afterAll(async () => {
    await operator?.endAsync(true);
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

  it('a device that takes a package shows its prediction in the headline', async () => {
    const status = await app.core.api.call('sim.status', {});
    await app.core.api.call('sim.setFaults', { groupId: status.groups[0].id, faults: FaultConfig.parse({}) });
    const { page } = app;
    await page.goto(`${app.url.split('#')[0]}#/fleet/sim-00001`);
    await expect.poll(() => page.locator('[data-testid="device-prediction"]').textContent(), { timeout: 15_000 }).toContain('no model running');

    const keys = new SigningKeyStore(app.core.dataDir);
    const f746 = findMcuProfile(loadMcuProfiles(), 'stm32f746');
    expect((await app.core.api.call('fleet.get', { id: 'sim-00001' })).mcu).toBe(f746.id);
    const bytes = Buffer.from(writePackage(buildOpZoo(7), { modelId: 'zoo', modelVersion: '1', target: f746, rounding: 'tflm', signer: keys }));
    operator = await connectOperator(app.core.dataDir, app.core.info().broker.url);
    const { final } = await deliverPackage(operator, keys, 'sim-00001', bytes);
    expect(final.state).toBe('confirmed');
    await expect.poll(() => page.locator('[data-testid="device-prediction"]').textContent(), { timeout: 20_000 }).toMatch(/class \d+ \(\d+ %\)/);
    await page.screenshot({ path: screenshotPath('e2e-device-prediction.png'), fullPage: true });
    expect(app.problems).toEqual([]);
  }, 90_000);
});
