/// <reference lib="dom" />
/**
 * The Models page in browser mode with headless Chromium: import .tflite files through the file
 * input (a model the project builds itself, and person_detect from the published models), see the
 * graph summary, the memory timeline chart and the fit matrix; a malformed file is refused with its
 * reason; a long analysis shows progress and can be cancelled. Screenshots go to test-results/.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import type { Model } from '../../src-main/core/engine/ir';
import { IrBuilder, buildTinyMobilenet } from '../support/ir-builder';
import { browserUnavailableReason, projectRoot, screenshotPath, useAppWithFiles } from './browser-app';
import { requireOrSkip } from '../support/require-tools';
import { analysisDone, importThroughPicker } from './page-actions';

const skip = requireOrSkip('models e2e', browserUnavailableReason());
const sharedModels = path.resolve(projectRoot, '../shared/models');
const personDetect = path.join(sharedModels, 'person_detect.tflite');
const sharedReason = existsSync(personDetect) ? null : `${personDetect} is absent`;

/** A deep stack of inverted residual blocks: many patch candidates, so its analysis takes seconds. */
function buildDeepModel(blocks: number, size: number): Model {
  const b = new IrBuilder('deep', 7);
  let y = b.conv(b.input([1, size, size, 3]), { outChannels: 16, stride: 2 });
  for (let i = 0; i < blocks; i++) {
    const e = b.depthwise(b.conv(y, { outChannels: 64, kernel: 1 }));
    y = b.add(y, b.conv(e, { outChannels: 16, kernel: 1, activation: 'none' }));
  }
  return b.build([b.softmax(b.fullyConnected(b.reshape(b.avgPool(y, size / 2), [1, 16]), 4))]);
}

describe.skipIf(skip)('Models page in a browser', () => {
  const fx = useAppWithFiles('models');

  it('imports a model built by the engine and shows its summary, timeline and fit matrix', async () => {
    const { page } = fx.app;
    const model = buildTinyMobilenet(1, 96);
    const file = path.join(fx.filesDir, 'tiny_mobilenet.tflite');
    writeFileSync(file, writeTflite(model));
    await importThroughPicker(page, file);
    expect(await page.locator('[data-testid="model-name"]').textContent()).toContain('tiny_mobilenet');
    expect(await page.locator('[data-testid="summary-ops"]').textContent()).toContain(String(model.ops.length));
    expect(await page.locator('[data-testid="summary-input"]').first().textContent()).toContain('1×96×96×3');
    await analysisDone(page);
    const timeline = page.locator('[data-testid="memory-timeline"]');
    expect(await timeline.getAttribute('data-series')).toMatch(/^naive,ours/);
    expect(await timeline.getAttribute('data-lines')).toContain('stm32f746');
    expect(await page.locator('[data-testid="fit-row"]').count()).toBe(7);
    expect(await page.locator('[data-testid="fit-row"][data-mcu="stm32f746"]').getAttribute('data-fits')).toBe('true');
    expect(await page.locator('[data-testid="layer-table"] tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('e2e-models-tiny.png'), fullPage: true });
  }, 120_000);

  it('imports person_detect and shows a timeline with the patch-based plan', async (ctx) => {
    if (requireOrSkip('models e2e: person_detect', sharedReason)) return ctx.skip();
    const { page } = fx.app;
    await importThroughPicker(page, personDetect);
    expect(await page.locator('[data-testid="model-name"]').textContent()).toContain('person_detect');
    expect(await page.locator('[data-testid="summary-input"]').first().textContent()).toContain('1×96×96×1');
    await analysisDone(page);
    expect(await page.locator('[data-testid="peak-sram"]').textContent()).toMatch(/KB/);
    expect(await page.locator('[data-testid="fit-row"]').count()).toBe(7);
    await page.locator('[data-testid="memory-timeline"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('e2e-models-person-detect.png'), fullPage: true });
    await page.click('[data-testid="nav-models"]');
    await expect.poll(() => page.locator('[data-testid="model-row"]').allTextContents(), { timeout: 10_000 }).toEqual(
      expect.arrayContaining(['person_detect', 'tiny_mobilenet']),
    );
    await page.screenshot({ path: screenshotPath('e2e-models-list.png') });
  }, 120_000);

  it('takes a dropped file; the same name gets a new version', async () => {
    const { page } = fx.app;
    await page.click('[data-testid="nav-models"]');
    await page.waitForSelector('[data-testid="models-page"]');
    const bytes = Buffer.from(writeTflite(buildTinyMobilenet(2, 96))).toString('base64');
    const dataTransfer = await page.evaluateHandle(({ name, b64 }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
      return dt;
    }, { name: 'tiny_mobilenet.tflite', b64: bytes });
    await page.dispatchEvent('[data-testid="model-drop"]', 'drop', { dataTransfer });
    await page.waitForSelector('[data-testid="model-page"] [data-testid="graph-summary"]', { timeout: 30_000 });
    expect(await page.locator('[data-testid="model-name"]').textContent()).toContain('tiny_mobilenet');
    await expect.poll(() => page.locator('[data-testid="model-version"]').textContent(), { timeout: 10_000 }).toContain('v2');
    await analysisDone(page);
  }, 120_000);

  it('refuses a malformed file with its reason and adds nothing', async () => {
    const { page } = fx.app;
    const bad = path.join(fx.filesDir, 'broken.tflite');
    writeFileSync(bad, Buffer.from('this is not a flatbuffer at all, just text'));
    await page.click('[data-testid="nav-models"]');
    await page.waitForSelector('[data-testid="models-page"]');
    const before = await page.locator('[data-testid="model-row"]').count();
    await page.setInputFiles('[data-testid="model-file-input"]', bad);
    await expect.poll(() => page.locator('.tf-toast--error').textContent(), { timeout: 15_000 }).toMatch(/broken\.tflite: the file is not a TFLite model/);
    expect(await page.locator('[data-testid="model-row"]').count()).toBe(before);
    expect(await page.locator('[data-testid="models-page"]').count()).toBe(1);
  }, 60_000);

  it('shows the progress of a long analysis and cancels it', async () => {
    const { page } = fx.app;
    const file = path.join(fx.filesDir, 'deep_blocks.tflite');
    writeFileSync(file, writeTflite(buildDeepModel(20, 192)));
    // Cancel from inside the page the moment the button renders: a fast machine would otherwise
    // finish the analysis between a poll from here and the click.
    await page.evaluate(() => {
      const observer = new MutationObserver(() => {
        const cancel = document.querySelector<HTMLElement>('[data-testid="analysis-cancel"]');
        if (!cancel) return;
        observer.disconnect();
        cancel.click();
      });
      observer.observe(document.body, { subtree: true, childList: true });
    });
    await importThroughPicker(page, file);
    await expect.poll(() => page.locator('[data-testid="analysis"]').getAttribute('data-state'), { timeout: 10_000 }).toBe('cancelled');
    // The page still answers: a new analysis can be started and finishes.
    await page.click('[data-testid="analysis-run"]');
    await analysisDone(page);
  }, 120_000);

  it('keeps the page usable while MobileNetV2-224 is analysed, with the progress bar moving', async (ctx) => {
    const mobilenet = path.join(sharedModels, 'mobilenet_v2_int8_224.tflite');
    if (requireOrSkip('models e2e: MobileNetV2', existsSync(mobilenet) ? null : `${mobilenet} is absent`)) return ctx.skip();
    const { page } = fx.app;
    // Every percentage the bar shows is recorded inside the page as it renders, so a fast machine
    // that finishes between two polls from here still proves the bar moved.
    await page.evaluate(() => {
      const seen = new Set<string>();
      (window as unknown as { analysisPercents: Set<string> }).analysisPercents = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="analysis-progress"] .el-progress__text')?.textContent?.trim();
        if (text) seen.add(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await importThroughPicker(page, mobilenet);
    // The page answers while the worker compiles: each evaluate is a round trip through its main thread.
    const finished = ['done', 'failed', 'cancelled'];
    while (!finished.includes((await page.locator('[data-testid="analysis"]').getAttribute('data-state')) ?? '')) {
      const answered = await page.evaluate(() => new Promise<boolean>((resolve) => requestAnimationFrame(() => resolve(true))));
      expect(answered).toBe(true);
      await page.waitForTimeout(100);
    }
    const percents = await page.evaluate(() => [...(window as unknown as { analysisPercents: Set<string> }).analysisPercents]);
    expect(percents.length).toBeGreaterThan(1);
    await analysisDone(page);
    expect(await page.locator('[data-testid="layer-table"] tbody tr').count()).toBeGreaterThan(60);
    expect(await page.locator('[data-testid="memory-timeline"]').getAttribute('data-series')).toBe('naive,ours,patch');
    // 3.5 MB of weights: no 1 MB-Flash part can hold it, whatever the SRAM plan.
    const f746 = page.locator('[data-testid="fit-row"][data-mcu="stm32f746"]');
    expect(await f746.getAttribute('data-fits')).toBe('false');
    expect(await f746.textContent()).toMatch(/Flash too small|too small/);
    await page.locator('[data-testid="analysis"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('e2e-models-mobilenet.png'), fullPage: true });
  }, 180_000);

  it('ran without page errors or CSP violations', () => {
    expect(fx.app.problems).toEqual([]);
  });
});
