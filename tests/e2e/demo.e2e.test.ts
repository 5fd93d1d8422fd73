/// <reference lib="dom" />
/**
 * The guided demo from an empty app in browser mode (headless Chromium, a real core on a fresh data
 * directory with no device): the fleet's empty state offers "Run the demo", which opens the demo page
 * and starts it; cancel stops it; a quick run then goes through every step, federated rounds
 * included, and ends with the accuracy and bytes table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('demo e2e', browserUnavailableReason());

describe.skipIf(skip)('the demo in a browser', () => {
  let outDir: string;
  let app: BrowserApp;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-demo-out-'));
    app = await startBrowserApp({ rendererDir: buildRenderer(outDir), simulate: 0, viewport: { width: 1440, height: 1000 } });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('starts from the empty fleet, cancels, then runs a quick demo to its table', async () => {
    const { page } = app;
    const step = (id: string) => page.locator(`[data-testid="demo-step-${id}"]`);
    await page.click('[data-testid="run-demo"]');
    await page.waitForSelector('[data-testid="demo-steps"]');
    await expect.poll(() => step('fleet').getAttribute('data-state'), { timeout: 30_000, interval: 100 }).toBe('running');
    expect(page.url()).not.toContain('run=1');
    await page.click('[data-testid="demo-cancel"]');
    const run = page.locator('[data-testid="demo-steps"]');
    await expect.poll(() => run.getAttribute('data-state'), { timeout: 120_000, interval: 200 }).toBe('canceled');
    expect(await step('rounds').getAttribute('data-state')).toBe('canceled');
    expect(await page.locator('[data-testid^="demo-step-"][data-state="running"]').count()).toBe(0);

    await page.locator('[data-testid="demo-devices"] input').fill('4');
    await page.locator('[data-testid="demo-fast"]').click();
    await page.click('[data-testid="demo-run"]');
    await expect.poll(() => step('summary').getAttribute('data-state'), { timeout: 240_000, interval: 500 }).toBe('done');
    for (const id of ['fleet', 'model', 'deploy', 'rounds', 'personalize']) expect(await step(id).getAttribute('data-state')).toBe('done');
    expect(await step('rounds').textContent()).toMatch(/2 rounds, \d+\.\d% -> \d+\.\d% global accuracy \(v3\)/);
    const table = page.locator('[data-testid="demo-figures"]');
    expect(await table.textContent()).toContain('Round 2: global accuracy (v3)');
    expect(await table.textContent()).toMatch(/Round 1: bytes per device up \/ down \(dense [\d.]+ KiB\)/);
    await page.screenshot({ path: screenshotPath('e2e-demo.png'), fullPage: true });

    // The demo's devices are in the fleet now: the empty state is gone.
    await page.click('[data-testid="nav-fleet"]');
    await expect.poll(() => page.locator('[data-testid="device-table-empty"]').count(), { timeout: 10_000 }).toBe(0);
    expect(app.problems).toEqual([]);
  }, 300_000);
});
