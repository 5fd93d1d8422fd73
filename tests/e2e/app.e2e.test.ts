/**
 * The newcomer flow in browser mode with headless Chromium: a simulated fleet comes online, a
 * device page shows live telemetry, a ping gets its answer. Screenshots go to test-results/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';
import { requireOrSkip } from '../support/require-tools';
import { inputOf } from './page-actions';

const SIMULATED = 4;
const skip = requireOrSkip('e2e', browserUnavailableReason());

/** The latest telemetry values shown on the device page, as one string. */
async function latestValues(page: Page): Promise<string> {
  const texts = await page.locator('[data-testid^="latest-"]').allTextContents();
  return texts.join(' | ');
}

describe.skipIf(skip)('TinyFleet in a browser', () => {
  let outDir: string;
  let app: BrowserApp;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-build-'));
    const rendererDir = buildRenderer(outDir);
    app = await startBrowserApp({ rendererDir, simulate: SIMULATED });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('shows the simulated devices coming online', async () => {
    const { page } = app;
    await page.waitForSelector('[data-testid="device-table"]');
    await expect
      .poll(() => page.locator('[data-testid="device-row"][data-status="online"]').count(), { timeout: 30_000, interval: 250 })
      .toBeGreaterThanOrEqual(SIMULATED);
    await expect
      .poll(() => page.locator('[data-testid="tile-online"] [data-testid="tile-value"]').textContent(), { timeout: 15_000 })
      .toBe(String(SIMULATED));
    await expect.poll(() => page.locator('[data-testid="broker-status"]').getAttribute('data-state'), { timeout: 10_000 }).toBe('ok');
    await page.screenshot({ path: screenshotPath('e2e-fleet.png') });
  }, 60_000);

  it('opens a device and shows its telemetry moving', async () => {
    const { page } = app;
    const row = page.locator('[data-testid="device-row"][data-status="online"]').first();
    const id = await row.getAttribute('data-device-id');
    expect(id).toBeTruthy();
    await row.click();
    await page.waitForSelector(`[data-testid="device-page"][data-device-id="${id}"]`);
    await expect.poll(() => page.locator('[data-testid="device-status"]').getAttribute('data-status'), { timeout: 10_000 }).toBe('online');

    const chart = page.locator('[data-testid="chart-temperature"]');
    await expect.poll(async () => Number(await chart.getAttribute('data-samples')), { timeout: 15_000 }).toBeGreaterThan(0);
    const samplesBefore = Number(await chart.getAttribute('data-samples'));
    const valuesBefore = await latestValues(page);
    await expect
      .poll(async () => Number(await chart.getAttribute('data-samples')), { timeout: 15_000, interval: 250 })
      .toBeGreaterThan(samplesBefore);
    await expect.poll(() => latestValues(page), { timeout: 15_000, interval: 250 }).not.toBe(valuesBefore);
    expect(await page.locator('[data-testid="chart-temperature"] canvas').count()).toBe(1);
  }, 60_000);

  it('sends a ping and shows the answer', async () => {
    const { page } = app;
    await page.click('[data-testid="cmd-ping"]');
    const done = page.locator('[data-testid="command-row"][data-command="ping"]').first();
    await expect.poll(() => done.getAttribute('data-state'), { timeout: 15_000 }).toBe('ok');
    expect(await done.locator('[data-testid="command-answer"]').textContent()).toContain('"pong":true');
    // The shell scrolls inside its main area: a taller window shows the whole device page.
    await page.setViewportSize({ width: 1440, height: 1300 });
    await page.screenshot({ path: screenshotPath('e2e-device.png'), fullPage: true });
  }, 60_000);

  it('shows the simulator and settings pages', async () => {
    const { page } = app;
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.click('[data-testid="nav-simulator"]');
    await expect.poll(() => page.locator('[data-testid="sim-connected"]').textContent(), { timeout: 10_000 }).toContain(
      `${SIMULATED} / ${SIMULATED}`,
    );
    await page.screenshot({ path: screenshotPath('e2e-simulator.png'), fullPage: true });
    await page.click('[data-testid="nav-settings"]');
    await expect.poll(() => page.locator('[data-testid="data-dir"]').textContent(), { timeout: 10_000 }).toBe(app.core.dataDir);
    await page.screenshot({ path: screenshotPath('e2e-settings.png'), fullPage: true });
  }, 60_000);

  it('provisions a device and shows its secret once', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-fleet"]');
    await page.click('[data-testid="add-device"]');
    await page.click('[data-testid="add-mcu"]');
    await page.locator('.el-select-dropdown__item:visible').first().click();
    await inputOf(page, 'add-id').fill('e2e-added');
    await inputOf(page, 'add-name').fill('Added in e2e');
    await page.click('[data-testid="add-submit"]');
    const secret = inputOf(page, 'secret-value');
    await expect.poll(() => secret.inputValue(), { timeout: 10_000 }).toMatch(/\S{12,}/);
    await page.screenshot({ path: screenshotPath('e2e-provisioned.png') });
    await page.keyboard.press('Escape');
    await expect
      .poll(() => page.locator('[data-testid="device-row"][data-device-id="e2e-added"]').getAttribute('data-status'), { timeout: 10_000 })
      .toBe('unknown');
  }, 60_000);

  it('ran without page errors or CSP violations', () => {
    expect(app.problems).toEqual([]);
  });
});
