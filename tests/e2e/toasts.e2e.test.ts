/**
 * Issue 12 item 6: a refused model file is explained in a sentence (no error code, no parser
 * jargon up front, "truncated" when it is), with the precise cause under "Details"; toasts stay
 * clear of the header and do not pile up.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTflite } from '../../src-main/core/engine/tflite/writer';
import { buildTinyMobilenet } from '../support/ir-builder';
import { browserUnavailableReason, useAppWithFiles } from './browser-app';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('toasts e2e', browserUnavailableReason());
/** What the toast helper lets stand at once (app/toasts.ts MAX_TOASTS). */
const MAX_TOASTS = 3;

describe.skipIf(skip)('toasts', () => {
  const fx = useAppWithFiles('toasts');

  it('explains a truncated model in a sentence, with the precise cause under Details', async () => {
    const { page } = fx.app;
    const whole = writeTflite(buildTinyMobilenet());
    const file = path.join(fx.filesDir, 'trunc.tflite');
    writeFileSync(file, whole.subarray(0, whole.byteLength >> 1));
    await page.click('[data-testid="nav-models"]');
    await page.waitForSelector('[data-testid="models-page"]');
    await page.setInputFiles('[data-testid="model-file-input"]', file);

    const toast = page.locator('.tf-toast--error').last();
    await toast.waitFor({ timeout: 15_000 });
    expect(await toast.locator('.el-notification__title').textContent()).toBe('Could not import trunc.tflite');
    expect(await toast.locator('[data-testid="toast-message"]').textContent()).toBe('trunc.tflite: the file is truncated: it ends before the data it refers to');
    const details = toast.locator('[data-testid="toast-details"]');
    expect(await details.getAttribute('open')).toBeNull();
    const pre = details.locator('pre');
    expect(await pre.isVisible()).toBe(false);
    await details.locator('summary').click();
    expect(await pre.isVisible()).toBe(true);
    expect(await pre.textContent()).toMatch(/^truncated: .* at offset \d+ \(\+\d+\) lies past the end of the \d+-byte file\nerror code BAD_REQUEST$/);
    // The code is for Details only; the visible sentence carries no code and no doubled prefix.
    expect(await toast.locator('[data-testid="toast-message"]').textContent()).not.toMatch(/BAD_REQUEST|not a TFLite model: not a TFLite model/);
  }, 60_000);

  it('keeps toasts off the header and stacks at most a few', async () => {
    const { page } = fx.app;
    for (let i = 0; i < 6; i++) {
      const file = path.join(fx.filesDir, `noise-${i}.tflite`);
      writeFileSync(file, Buffer.from(`not a model ${i}`.padEnd(64, '.')));
      await page.setInputFiles('[data-testid="model-file-input"]', file);
      await expect.poll(() => page.locator('.tf-toast--error').filter({ hasText: `noise-${i}.tflite` }).count(), { timeout: 15_000 }).toBe(1);
    }
    await expect.poll(() => page.locator('.tf-toast').count(), { timeout: 5_000 }).toBeLessThanOrEqual(MAX_TOASTS);
    expect(await page.locator('.tf-toast').filter({ hasText: 'noise-5.tflite' }).count()).toBe(1);
    // A file that is no model at all is said to be so once, not as "not a valid TFLite model: not a TFLite model:".
    const noise = (await page.locator('.tf-toast').filter({ hasText: 'noise-5.tflite' }).locator('[data-testid="toast-message"]').textContent()) ?? '';
    expect(noise).toMatch(/not a TFLite model/i);
    expect(noise).not.toMatch(/TFLite model.*TFLite model/i);
    const header = await page.locator('header.header').boundingBox();
    expect(header).not.toBeNull();
    for (const box of await page.locator('.tf-toast').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect))) {
      expect(box.top).toBeGreaterThanOrEqual(header!.y + header!.height);
    }
    // The same failure again replaces its toast instead of adding one.
    const count = await page.locator('.tf-toast').count();
    await page.setInputFiles('[data-testid="model-file-input"]', path.join(fx.filesDir, 'noise-5.tflite'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await page.locator('.tf-toast').filter({ hasText: 'noise-5.tflite' }).count()).toBe(1);
    expect(await page.locator('.tf-toast').count()).toBe(count);
  }, 90_000);

  it('ran without page errors or CSP violations', () => {
    expect(fx.app.problems).toEqual([]);
  });
});
