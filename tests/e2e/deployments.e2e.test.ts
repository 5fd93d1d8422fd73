/// <reference lib="dom" />
/**
 * Deployments in browser mode with headless Chromium, on a real core whose simulated devices are
 * the reference firmware (slots on disk, signed packages verified, self-test run): create a
 * deployment from the UI with a canary wave (the fit gate's counts per MCU shown) and watch it
 * finish; start a second one from the model's "Deploy", abort it after its canary; roll that one
 * back; see the device's slots and deployment history on its page. Screenshots go to test-results/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { FitGateRow } from '../../src-main/core/contract';
import { browserUnavailableReason, buildRenderer, projectRoot, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';
import { requireOrSkip } from '../support/require-tools';
import { untilOnline } from '../support/core';
import { choose } from './page-actions';

const sharedModels = path.resolve(projectRoot, '../shared/models');
/** Two versions of one model: two visual-wake-words networks of the published models. */
const V1_FILE = path.join(sharedModels, 'mcunet_vww1.tflite');
const V2_FILE = path.join(sharedModels, 'vww_96_int8.tflite');
const missing = browserUnavailableReason() ?? ([V1_FILE, V2_FILE].find((f) => !existsSync(f)) ? `${sharedModels} lacks mcunet_vww1 or vww_96_int8` : null);
const skip = requireOrSkip('deployments e2e', missing);
/** One simulated device per MCU profile of the catalog (devices take the profiles in turn). */
const SIMULATED = 7;

/** Answers "yes" to the confirmation box an action opened. */
async function confirm(page: Page): Promise<void> {
  await page.locator('.el-message-box__btns .el-button--primary').click();
}

/** The state the deployment page shows. */
function shownState(page: Page) {
  return page.locator('[data-testid="deployment-page"]').getAttribute('data-state');
}

describe.skipIf(skip)('Deployments in a browser', () => {
  let outDir: string;
  let app: BrowserApp;
  let modelId: string;
  /** The device the second deployment's canary updated (then rolled back). */
  let canaryId: string;
  let abortedId: string;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-deploy-out-'));
    app = await startBrowserApp({
      rendererDir: buildRenderer(outDir),
      simulate: 0,
      viewport: { width: 1440, height: 1000 },
      async beforeBrowser(core) {
        for (const file of [V1_FILE, V2_FILE]) {
          const imported = await core.api.call('models.import', { name: 'vww', fileName: path.basename(file), bytesBase64: readFileSync(file).toString('base64') });
          modelId = imported.model.id;
        }
        // Telemetry every 10 s: each report runs the device's active model.
        await core.api.call('sim.start', { count: SIMULATED, namePrefix: 'ota', telemetryIntervalMs: 10_000 });
        await untilOnline(core, SIMULATED, 60_000);
      },
    });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('creates a deployment with a canary wave, shows the fit gate per MCU, and watches it finish', async () => {
    const { page, core } = app;
    const expected: FitGateRow[] = (await core.api.call('deploy.create', { modelId, version: 1, targets: { all: true }, dryRun: true })).fitGate;
    const eligible = expected.reduce((n, r) => n + r.eligible, 0);
    expect(eligible).toBeGreaterThan(0);

    await page.click('[data-testid="nav-deployments"]');
    await page.waitForSelector('[data-testid="deployments-page"]');
    await page.click('[data-testid="deployment-new"]');
    await choose(page, 'create-model', 'vww');
    await choose(page, 'create-version', /^v1 ·/);
    // The fit gate (a dry run) shows each MCU class with the core's numbers and why devices are skipped.
    await expect.poll(() => page.locator('[data-testid="fit-gate-row"]').count(), { timeout: 120_000, interval: 250 }).toBe(expected.length);
    for (const row of expected) {
      const shown = page.locator(`[data-testid="fit-gate-row"][data-mcu="${row.mcu}"]`);
      expect(await shown.getAttribute('data-eligible')).toBe(String(row.eligible));
      expect(await shown.getAttribute('data-skipped')).toBe(String(row.skipped));
      if (row.skipped > 0) expect((await shown.locator('[data-testid="fit-gate-reasons"]').textContent())!.trim()).toBe(row.reasons.join(''));
    }
    expect(await page.locator('[data-testid="fit-gate-summary"]').textContent()).toContain(`${eligible} eligible`);
    await page.screenshot({ path: screenshotPath('e2e-deploy-create.png'), fullPage: true });

    await page.click('[data-testid="create-next"]');
    await page.waitForSelector('[data-testid="create-step-waves"]', { state: 'visible' });
    await page.click('[data-testid="create-next"]');
    expect(await page.locator('[data-testid="review-waves"]').textContent()).toContain('Canary 1 device(s), then 100%');
    expect(await page.locator('[data-testid="review-eligible"]').textContent()).toBe(String(eligible));
    await page.click('[data-testid="create-submit"]');

    await page.waitForSelector('[data-testid="deployment-page"] [data-testid="deployment-waves"]');
    await expect.poll(() => shownState(page), { timeout: 240_000, interval: 500 }).toBe('succeeded');
    // The canary wave, then the rest; both settled; every eligible device succeeded, the others skipped.
    const waves = page.locator('[data-testid="wave"]');
    expect(await waves.count()).toBe(2);
    expect(await waves.nth(0).getAttribute('data-settled')).toBe('true');
    expect(await waves.nth(1).getAttribute('data-settled')).toBe('true');
    await expect.poll(() => page.locator('[data-testid="execution-row"][data-state="succeeded"]').count(), { timeout: 10_000 }).toBe(eligible);
    expect(await page.locator('[data-testid="deployment-succeeded"]').textContent()).toContain(String(eligible));
    expect(await page.locator('[data-testid="deployment-rollback"]').isEnabled()).toBe(true);
    expect(await page.locator('[data-testid="deployment-pause"]').isEnabled()).toBe(false);
    // The state filter narrows the per-device table.
    await choose(page, 'execution-filter', /^Succeeded/);
    await expect.poll(() => page.locator('[data-testid="execution-row"]').count()).toBe(eligible);
    await page.screenshot({ path: screenshotPath('e2e-deploy-finished.png'), fullPage: true });
  }, 300_000);

  it('starts a second deployment from the model\'s Deploy, waits after its canary, and aborts it', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-models"]');
    await page.click(`[data-testid="model-row"][data-model-id="${modelId}"]`);
    await page.waitForSelector('[data-testid="model-deploy"]');
    expect(await page.locator('[data-testid="model-deploy"]').textContent()).toContain('v2');
    await page.click('[data-testid="model-deploy"]');
    await page.waitForSelector('[data-testid="deployment-create"]');
    // Filled in from the model page.
    await expect.poll(() => page.locator('[data-testid="create-version"]').textContent(), { timeout: 10_000 }).toContain('v2');
    await expect.poll(() => page.locator('[data-testid="fit-gate-row"]').count(), { timeout: 120_000, interval: 250 }).toBe(SIMULATED);
    await page.click('[data-testid="create-next"]');
    await page.click('[data-testid="create-auto-promote"]');
    await page.click('[data-testid="create-next"]');
    expect(await page.locator('[data-testid="review-waves"]').textContent()).toContain('promoted by hand');
    await page.click('[data-testid="create-submit"]');

    await page.waitForSelector('[data-testid="deployment-page"] [data-testid="deployment-waves"]');
    abortedId = (await page.locator('[data-testid="deployment-page"]').getAttribute('data-deployment-id'))!;
    await expect.poll(() => shownState(page), { timeout: 240_000, interval: 500 }).toBe('awaiting_promotion');
    expect(await page.locator('[data-testid="deployment-promote"]').isEnabled()).toBe(true);
    expect(await page.locator('[data-testid="deployment-rollback"]').isEnabled()).toBe(false);
    expect(await page.locator('[data-testid="deployment-reason"]').textContent()).toMatch(/promot/i);
    const canary = page.locator('[data-testid="execution-row"][data-state="succeeded"]');
    await expect.poll(() => canary.count(), { timeout: 10_000 }).toBe(1);
    canaryId = (await canary.getAttribute('data-device-id'))!;

    await page.click('[data-testid="deployment-abort"]');
    await confirm(page);
    await expect.poll(() => shownState(page), { timeout: 30_000, interval: 250 }).toBe('aborted');
    expect(await page.locator('[data-testid="deployment-promote"]').isEnabled()).toBe(false);
    expect(await page.locator('[data-testid="deployment-rollback"]').isEnabled()).toBe(true);
    await expect.poll(() => page.locator('[data-testid="execution-row"][data-state="canceled"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('e2e-deploy-aborted.png'), fullPage: true });
  }, 300_000);

  it('rolls the aborted deployment back and shows the device on its previous slot with its history', async () => {
    const { page } = app;
    await page.click('[data-testid="deployment-rollback"]');
    await confirm(page);
    await expect.poll(() => page.locator('[data-testid="deployment-page"]').getAttribute('data-deployment-id'), { timeout: 10_000 }).not.toBe(abortedId);
    await expect.poll(() => shownState(page), { timeout: 120_000, interval: 500 }).toBe('succeeded');
    await page.screenshot({ path: screenshotPath('e2e-deploy-rollback.png'), fullPage: true });

    await page.click(`[data-testid="execution-row"][data-device-id="${canaryId}"]`);
    await page.waitForSelector(`[data-testid="device-page"][data-device-id="${canaryId}"]`);
    // Back on version 1, confirmed; version 2 stays in the other slot.
    const active = page.locator('[data-testid="device-slot"][data-active="true"]');
    await expect.poll(() => active.getAttribute('data-model'), { timeout: 20_000, interval: 250 }).toBe(`${modelId}@1`);
    expect(await active.getAttribute('data-confirmed')).toBe('true');
    expect(await page.locator('[data-testid="device-slot"][data-active="false"]').getAttribute('data-model')).toBe(`${modelId}@2`);
    // Three deployments touched it: the first, the aborted one, its rollback.
    await expect.poll(() => page.locator('[data-testid="device-deployment"]').count(), { timeout: 10_000 }).toBe(3);
    expect(await page.locator(`[data-testid="device-deployment"][data-deployment-id="${abortedId}"]`).getAttribute('data-state')).toBe('succeeded');
    await page.screenshot({ path: screenshotPath('e2e-deploy-device.png'), fullPage: true });
  }, 180_000);

  it('filters and sorts the fleet table by active model version', async () => {
    const { page, core } = app;
    const { devices } = await core.api.call('fleet.list', {});
    const onV1 = devices.filter((d) => d.model === `${modelId}@1`).map((d) => d.id).sort();
    expect(onV1).toContain(canaryId);
    await page.click('[data-testid="nav-fleet"]');
    await expect.poll(() => page.locator('[data-testid="device-row"]').count(), { timeout: 10_000 }).toBe(SIMULATED);
    await choose(page, 'filter-model', 'vww v1');
    await page.keyboard.press('Escape');
    await expect.poll(async () => (await page.locator('[data-testid="device-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-id')))).sort()).toEqual(onV1);
    await page.getByText('Clear filters').click();
    await page.click('[data-testid="sort-model"]');
    // Devices with a model first (by model, then version), those without last.
    const expected = [...devices].sort((a, b) => (a.model === null ? 1 : 0) - (b.model === null ? 1 : 0) || (a.model ?? '').localeCompare(b.model ?? '') || a.id.localeCompare(b.id)).map((d) => d.id);
    await expect.poll(() => page.locator('[data-testid="device-row"]').evaluateAll((rows) => [...rows].sort((x, y) => x.getBoundingClientRect().top - y.getBoundingClientRect().top).map((r) => r.getAttribute('data-device-id')))).toEqual(expected);
    expect(app.problems).toEqual([]);
  }, 60_000);
});
