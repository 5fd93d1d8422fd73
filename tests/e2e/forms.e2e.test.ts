/**
 * The numeric forms as a new user meets them, in browser mode with headless Chromium: start a
 * simulated fleet on the form's defaults and on typed values, save settings on their defaults, and
 * see a message in the page (not a browser tooltip, not nothing) when a field is wrong.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserUnavailableReason, screenshotPath, useAppWithFiles } from './browser-app';
import { inputOf } from './page-actions';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('forms e2e', browserUnavailableReason());

/** Types a value into a field as a user does: select what is there, type, leave the field. */
async function type(page: Page, testId: string, value: string): Promise<void> {
  const input = inputOf(page, testId);
  await input.fill(value);
  await input.press('Tab');
}

/** Messages the page shows under invalid form fields. */
function fieldErrors(page: Page) {
  return page.locator('.el-form-item__error:visible').allTextContents();
}

describe.skipIf(skip)('Numeric forms', () => {
  const fx = useAppWithFiles('forms');

  it('starts a simulated fleet on the defaults and on typed values, and says in the page what is wrong', async () => {
    const { page, core } = fx.app;
    const groups = async () => (await core.api.call('sim.status', {})).groups;
    await page.click('[data-testid="nav-simulator"]');
    const form = page.locator('[data-testid="sim-start-form"]');
    await form.waitFor();

    // The defaults as they are: 20 devices every 1000 ms.
    await page.click('[data-testid="sim-start"]');
    await expect.poll(async () => (await groups()).map((g) => g.total), { timeout: 30_000, interval: 250 }).toEqual([20]);
    expect((await groups())[0].config.telemetryIntervalMs).toBe(1000);

    // Values a user types, none of them a multiple of the old steps.
    await type(page, 'sim-count', '12');
    await type(page, 'sim-interval', '500');
    await type(page, 'sim-prefix', 'typed');
    await type(page, 'fault-loss', '2.5');
    await type(page, 'fault-latency', '120');
    expect(await form.locator('input:invalid').count()).toBe(0);
    await page.click('[data-testid="sim-start"]');
    await expect.poll(async () => (await groups()).length, { timeout: 30_000, interval: 250 }).toBe(2);
    const typed = (await groups()).find((g) => g.config.namePrefix === 'typed');
    expect(typed?.total).toBe(12);
    expect(typed?.config.telemetryIntervalMs).toBe(500);
    expect(typed?.config.faults.messageLoss).toBeCloseTo(0.025, 10);
    expect(typed?.config.faults.latencyMs).toBe(120);
    await expect.poll(() => page.locator('[data-testid="sim-groups"] .el-table__row').count(), { timeout: 10_000 }).toBe(2);

    // An empty field is named under the field, and nothing starts.
    await inputOf(page, 'sim-count').fill('');
    await inputOf(page, 'sim-count').press('Tab');
    await page.click('[data-testid="sim-start"]');
    await expect.poll(() => fieldErrors(page), { timeout: 5_000 }).toEqual(['Devices: enter a number']);
    await page.screenshot({ path: screenshotPath('forms-simulator-error.png'), fullPage: true });
    expect((await groups()).length).toBe(2);
    await type(page, 'sim-count', '3');
    await expect.poll(() => fieldErrors(page), { timeout: 5_000 }).toEqual([]);
    await core.api.call('sim.stop', {});
  }, 120_000);

  it('saves settings on their defaults and names a wrong field in the page', async () => {
    const { page, core } = fx.app;
    const before = await core.api.call('settings.get', {});
    expect(before.simulator).toEqual({ autoStartCount: 24, telemetryIntervalMs: 1000 });
    await page.click('[data-testid="nav-settings"]');
    await page.waitForSelector('[data-testid="settings-save"]');

    await inputOf(page, 'sim-autostart').fill('');
    await inputOf(page, 'sim-autostart').press('Tab');
    await page.click('[data-testid="settings-save"]');
    await expect.poll(() => fieldErrors(page), { timeout: 5_000 }).toEqual(['Simulated devices: enter a number']);
    expect(await core.api.call('settings.get', {})).toEqual(before);

    // Back to the default, change only the retention, save.
    await type(page, 'sim-autostart', '24');
    await type(page, 'retention-raw', '48');
    expect(await page.locator('form input:invalid').count()).toBe(0);
    await page.click('[data-testid="settings-save"]');
    await expect.poll(() => page.locator('.tf-toast--success').textContent(), { timeout: 10_000 }).toContain('Settings saved');
    const after = await core.api.call('settings.get', {});
    expect(after.telemetry.rawRetentionHours).toBe(48);
    expect(after.simulator).toEqual({ autoStartCount: 24, telemetryIntervalMs: 1000 });
    expect(fx.app.problems).toEqual([]);
  }, 60_000);
});
