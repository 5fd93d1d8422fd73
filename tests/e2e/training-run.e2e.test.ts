/// <reference lib="dom" />
/**
 * Fleet learning from the UI in browser mode (headless Chromium, a real core, the app's simulated
 * fleet training in its compute workers): a two-round federated job created through the Training
 * form runs live to its end (rounds with their counts, accuracy and bytes, the versions' lineage,
 * "Deploy this version" opening the deployment form on that version); then a personalization
 * session started from Personalize devices shows before/after per device and kept or rolled back,
 * and "reset to global" returns a kept device to the global model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';
import { choose, inputOf } from './page-actions';
import { requireOrSkip } from '../support/require-tools';
import { untilDeployment } from '../support/ota-fleet';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { mnistFixture } from '../unit/train/fixtures';

const skip = requireOrSkip('training run e2e', browserUnavailableReason());

async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = inputOf(page, testId);
  await input.fill(String(value));
  await input.blur();
}

/** Opens a new job's form on the digits model with the `fl` devices as its cohort. */
async function openJobForm(page: Page): Promise<void> {
  await page.click('[data-testid="nav-training"]');
  await page.click('[data-testid="training-new"]');
  await choose(page, 'job-model', 'digits');
  await choose(page, 'job-tags', 'fl');
  await page.keyboard.press('Escape');
}

describe.skipIf(skip)('fleet learning from the UI', () => {
  let outDir: string;
  let app: BrowserApp;
  let modelId: string;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-training-run-out-'));
    app = await startBrowserApp({
      rendererDir: buildRenderer(outDir),
      simulate: 0,
      viewport: { width: 1440, height: 1100 },
      async beforeBrowser(core) {
        const imported = await core.api.call('models.import', { name: 'digits', fileName: 'digits.tflite', bytesBase64: Buffer.from(writeTflite(mnistFixture(1).model)).toString('base64') });
        modelId = imported.model.id;
        const group = await core.api.call('sim.start', { count: 3, profiles: ['stm32f746'], namePrefix: 'fl', tags: ['fl'], telemetryIntervalMs: 5000 });
        for (;;) {
          if ((await core.api.call('sim.status', {})).groups.find((g) => g.id === group.id)?.connected === 3) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const { deployment } = await core.api.call('deploy.create', { modelId, version: 1, targets: { tags: ['fl'] }, waves: { canary: { count: 3 }, steps: [] } });
        await untilDeployment(core.api, deployment!.id, (d) => d.state === 'succeeded', 90_000);
      },
    });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('runs a two-round job from the form and shows its rounds, lineage and "Deploy this version"', async () => {
    const { page } = app;
    await openJobForm(page);
    await expect.poll(() => page.locator('[data-testid="job-cohort-summary"]').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/3 matching, 3 eligible, 3 per round/);
    await page.click('[data-testid="job-next"]');
    // The scheme step: the cohort's one MCU class with its training memory.
    const classRow = page.locator('[data-testid="class-plan-row"]');
    await expect.poll(() => classRow.count(), { timeout: 30_000, interval: 250 }).toBe(1);
    expect(await classRow.textContent()).toMatch(/stm32f746/i);
    expect(await page.locator('[data-testid="class-plan-memory"]').first().textContent()).toMatch(/\d+(\.\d+)? ?(B|KiB|KB|kB|MiB|MB)/);
    await setNumber(page, 'job-samples', 40);
    await page.click('[data-testid="job-next"]');
    await setNumber(page, 'job-rounds', 2);
    await setNumber(page, 'job-deadline', 60);
    expect(await page.locator('[data-testid="job-review-rounds"]').textContent()).toContain('2 rounds, synchronous: each round waits up to 60 s');
    await page.click('[data-testid="job-submit"]');

    await page.waitForSelector('[data-testid="job-page"]');
    // Live progress: the first round's devices show in some state before the job ends.
    await expect.poll(() => page.locator('[data-testid="round-counts"]').first().textContent(), { timeout: 60_000, interval: 200 }).toMatch(/selected|training|uploaded|aggregated/);
    await expect.poll(() => page.locator('[data-testid="job-state"]').textContent(), { timeout: 180_000, interval: 500 }).toMatch(/done/i);
    const rounds = page.locator('[data-testid="job-rounds"] .el-table__body tr');
    expect(await rounds.count()).toBe(2);
    for (const i of [0, 1]) {
      // Each device once, in its latest state: all three aggregated, none still only selected.
      expect((await rounds.nth(i).locator('[data-testid="round-counts"]').textContent())?.trim()).toBe('aggregated 3');
      expect(await rounds.nth(i).locator('[data-testid="round-global-accuracy"]').textContent()).toMatch(/\d+(\.\d)?\s?%/);
      // Bytes per device with the ratio to a dense update.
      expect(await rounds.nth(i).locator('[data-testid="round-bytes-up"]').textContent()).toMatch(/\d.*B .*dense/);
    }
    const lineage = page.locator('[data-testid="lineage-row"]');
    await expect.poll(() => lineage.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: screenshotPath('e2e-training-run.png'), fullPage: true });
    await page.click('[data-testid="lineage-deploy-3"]');
    await page.waitForURL(/deployments\/new/);
    expect(page.url()).toContain(`model=${modelId}`);
    expect(page.url()).toContain('version=3');
    expect(app.problems).toEqual([]);
  }, 240_000);

  it('runs a buffered asynchronous job from the form: every two uploads make a version, each window shows what it took and how stale', async () => {
    const { page } = app;
    await openJobForm(page);
    // The devices run the last job's newest version, which the form proposes as the base.
    await expect.poll(() => page.locator('[data-testid="job-cohort-summary"]').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/3 matching, 3 eligible/);
    await page.click('[data-testid="job-next"]');
    await setNumber(page, 'job-samples', 40);
    await page.click('[data-testid="job-next"]');
    await setNumber(page, 'job-rounds', 2);
    await page.click('[data-testid="job-mode-async"]');
    await setNumber(page, 'job-async-buffer', 2);
    await setNumber(page, 'job-max-staleness', 2);
    await setNumber(page, 'job-deadline', 60);
    expect(await page.locator('[data-testid="job-review-rounds"]').textContent()).toContain('2 rounds, buffered asynchronous: every 2 uploads aggregate, uploads more than 2 versions old are refused');
    await page.click('[data-testid="job-submit"]');

    await page.waitForSelector('[data-testid="job-page"]');
    await expect.poll(() => page.locator('[data-testid="job-state"]').textContent(), { timeout: 180_000, interval: 500 }).toMatch(/done/i);
    const windows = page.locator('[data-testid="job-rounds"] .el-table__body tr');
    expect(await windows.count()).toBe(2);
    for (const i of [0, 1]) expect((await windows.nth(i).locator('[data-testid="round-staleness"]').textContent())?.trim()).toMatch(/^2 · \d\.\d\d$/);
    const [job] = await app.core.api.call('rounds.list', {});
    expect(job).toMatchObject({ mode: 'async', state: 'done' });
    await page.screenshot({ path: screenshotPath('e2e-training-async.png'), fullPage: true });
    expect(app.problems).toEqual([]);
  }, 240_000);

  it('runs a searched job from the form: the job page shows the calibration, then each class trains the searched scheme', async () => {
    const { page } = app;
    await openJobForm(page);
    await expect.poll(() => page.locator('[data-testid="job-cohort-summary"]').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/3 matching, 3 eligible/);
    await page.click('[data-testid="job-next"]');
    await choose(page, 'job-scheme', /^searched/);
    expect(await page.locator('[data-testid="job-searched-note"]').textContent()).toContain('measures, on calibration');
    await setNumber(page, 'job-samples', 40);
    await page.click('[data-testid="job-next"]');
    await setNumber(page, 'job-rounds', 1);
    await setNumber(page, 'job-deadline', 60);
    await page.click('[data-testid="job-submit"]');

    await page.waitForSelector('[data-testid="job-page"]');
    await expect.poll(() => page.locator('[data-testid="job-state"]').textContent(), { timeout: 60_000, interval: 100 }).toMatch(/Calibrating schemes · \d+ of \d+ trial runs/);
    await expect.poll(() => page.locator('[data-testid="job-state"]').textContent(), { timeout: 180_000, interval: 500 }).toMatch(/done/i);
    const [job] = await app.core.api.call('rounds.list', {});
    const detail = await app.core.api.call('rounds.get', { id: job!.id });
    expect(detail.spec.scheme).toBe('searched');
    expect(detail.classes.map((c) => [c.scheme, c.fits])).toEqual([[null, true]]);
    expect(app.problems).toEqual([]);
  }, 240_000);

  it('runs a personalization session from the UI: before/after per device, kept or rolled back, reset to global', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-training"]');
    await page.click('[data-testid="personalize-open"]');
    await page.waitForSelector('[data-testid="personalize-page"]');
    await choose(page, 'personalize-tags', 'fl');
    await page.keyboard.press('Escape');
    await setNumber(page, 'personalize-samples', 100);
    await setNumber(page, 'personalize-epochs', 2);
    await page.click('[data-testid="personalize-start"]');
    const session = page.locator('[data-testid="personalize-session"]').first();
    await expect.poll(() => session.textContent(), { timeout: 120_000, interval: 500 }).toMatch(/done/);
    const text = (await session.textContent())!;
    expect(text.match(/Kept|Rolled back/g)?.length).toBe(3);
    expect(text).toMatch(/\d+(\.\d)?\s?%/);
    await page.screenshot({ path: screenshotPath('e2e-personalize.png'), fullPage: true });
    const sessions = await app.core.api.call('personalize.list', {});
    const kept = sessions[0]!.devices.find((d) => d.kept);
    if (kept) {
      expect(text).toContain(`kept as v${kept.version}`);
      await page.click(`[data-testid="personalize-reset-${kept.deviceId}"]`);
      await page.locator('.el-message-box__btns .el-button--primary').click().catch(() => undefined);
      await expect.poll(async () => (await app.core.api.call('fleet.get', { id: kept.deviceId })).modelSlots.find((s) => s.active)?.digest, { timeout: 30_000, interval: 250 }).not.toBe(kept.digest);
    }
    expect(app.problems).toEqual([]);
  }, 180_000);
});
