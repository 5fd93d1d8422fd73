/// <reference lib="dom" />
/**
 * The Training page in browser mode with headless Chromium on a real core: with no job it says what
 * to do; the create flow's dry run shows the cohort the core plans (devices left out by reason) as
 * the model and the cohort filters change. A two-round job and a personalization session run from
 * the UI are in training-run.e2e.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';
import { requireOrSkip } from '../support/require-tools';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { imuFixture } from '../unit/train/fixtures';
import { choose } from './page-actions';

const skip = requireOrSkip('training e2e', browserUnavailableReason());

describe.skipIf(skip)('Training in a browser', () => {
  let outDir: string;
  let app: BrowserApp;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-training-out-'));
    app = await startBrowserApp({
      rendererDir: buildRenderer(outDir),
      simulate: 0,
      viewport: { width: 1440, height: 1000 },
      async beforeBrowser(core) {
        const bytes = writeTflite(imuFixture(1).model);
        await core.api.call('models.import', { name: 'imu', fileName: 'imu.tflite', bytesBase64: Buffer.from(bytes).toString('base64') });
        await core.api.call('fleet.add', { id: 'lab-1', mcu: 'stm32f746', tags: ['lab'] });
        await core.api.call('fleet.add', { id: 'lab-2', mcu: 'stm32f412', tags: ['lab'] });
        await core.api.call('fleet.add', { id: 'field-1', mcu: 'stm32f746', tags: ['field'] });
      },
    });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('says what to do with no job, and the create flow shows the cohort the dry run plans', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-training"]');
    await page.waitForSelector('[data-testid="training-empty"]');
    expect(await page.locator('[data-testid="training-empty"]').textContent()).toContain('New federated job');

    await page.click('[data-testid="training-new"]');
    await choose(page, 'job-model', 'imu');
    const summary = page.locator('[data-testid="job-cohort-summary"]');
    // Devices that never came online are left out; with onlineOnly off, none runs the base yet.
    await expect.poll(() => summary.textContent(), { timeout: 60_000, interval: 250 }).toMatch(/3 matching, 0 eligible, 0 per round; left out: 3 OFFLINE/);
    await page.locator('[data-testid="job-online-only"]').click();
    await expect.poll(() => summary.textContent(), { timeout: 60_000, interval: 250 }).toMatch(/3 matching, 0 eligible.*3 NOT_ON_BASE/);
    await page.screenshot({ path: screenshotPath('e2e-training-create.png'), fullPage: true });
    await page.click('[data-testid="job-next"]');
    await page.click('[data-testid="job-next"]');
    expect(await page.locator('[data-testid="job-review-rounds"]').textContent()).toContain('5 rounds, synchronous: each round waits up to 120 s and needs 80% of its devices.');
    expect(await page.locator('[data-testid="job-submit"]').isDisabled()).toBe(true);
    expect(app.problems).toEqual([]);
  }, 180_000);
});
