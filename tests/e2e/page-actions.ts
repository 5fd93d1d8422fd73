/**
 * What e2e tests do on TinyFleet's pages, as a user does it: find an input, pick an option of a
 * select, import a model through the Models page's picker, wait for the model's analysis.
 */
import { expect } from 'vitest';
import type { Page } from 'playwright-core';

/** The <input> of an Element Plus input, wherever its data-testid landed (wrapper or input). */
export function inputOf(page: Page, testId: string) {
  return page.locator(`[data-testid="${testId}"]`).locator('xpath=descendant-or-self::input').first();
}

/** Opens the Element Plus select with `testId` and picks the first visible option showing `text`. */
export async function choose(page: Page, testId: string, text: string | RegExp): Promise<void> {
  await page.locator(`[data-testid="${testId}"]`).click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: text }).first().click();
}

/** Imports a file through the Models page's file input and waits for its detail page. */
export async function importThroughPicker(page: Page, file: string): Promise<void> {
  await page.click('[data-testid="nav-models"]');
  await page.waitForSelector('[data-testid="models-page"]');
  await page.setInputFiles('[data-testid="model-file-input"]', file);
  await page.waitForSelector('[data-testid="model-page"] [data-testid="graph-summary"]', { timeout: 30_000 });
}

/** Waits until the analysis of the model shown has finished with a report. */
export async function analysisDone(page: Page, timeout = 90_000): Promise<void> {
  await expect.poll(() => page.locator('[data-testid="analysis"]').getAttribute('data-state'), { timeout, interval: 250 }).toBe('done');
  await page.waitForSelector('[data-testid="memory-timeline"] canvas');
}
