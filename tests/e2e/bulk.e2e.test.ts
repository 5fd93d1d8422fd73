/**
 * Issue 12 item 8 (bulk actions): select devices in the fleet table (one by one, a shift-click
 * range, or every device the filter matches) and ping, tag or delete them at once, or export their
 * telemetry history.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserUnavailableReason, buildRenderer, startBrowserApp, type BrowserApp } from './browser-app';
import { inputOf } from './page-actions';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('bulk e2e', browserUnavailableReason());
const SIMULATED = 4;

/** The selection box of a device's row. */
function rowBox(page: Page, id: string) {
  return page.locator(`[data-testid="device-row"][data-device-id="${id}"] [data-testid="row-select"]`);
}

describe.skipIf(skip)('bulk actions in the fleet table', () => {
  let outDir: string;
  let app: BrowserApp;
  let ids: string[];

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-bulk-'));
    app = await startBrowserApp({
      rendererDir: buildRenderer(outDir),
      simulate: SIMULATED,
      beforeBrowser: async (core) => {
        for (const id of ['spare-1', 'spare-2']) await core.api.call('fleet.add', { id, mcu: 'rp2040' });
      },
    });
    ids = (await app.core.api.call('fleet.list', {})).devices.filter((d) => d.simulated).map((d) => d.id);
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('selects a shift-click range and pings it, reporting per device', async () => {
    const { page } = app;
    await expect.poll(() => page.locator('[data-testid="device-row"][data-status="online"]').count(), { timeout: 30_000 }).toBe(SIMULATED);
    await rowBox(page, ids[0]).click();
    await rowBox(page, ids[2]).click({ modifiers: ['Shift'] });
    expect(await page.locator('[data-testid="bulk-count"]').textContent()).toBe('3 selected');
    expect(await page.locator('[data-testid="device-page"]').count()).toBe(0); // selecting does not open the device
    await page.click('[data-testid="bulk-ping"]');
    await expect.poll(() => page.locator('.tf-toast--success').textContent(), { timeout: 20_000 }).toContain('Ping: 3 device(s) done');

    // Their telemetry history as one CSV: the last hour, ISO 8601 times, only the selected devices.
    await page.locator('[data-testid="bulk-bar"] [data-testid="export-telemetry-range"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'Last hour' }).first().click();
    const download = page.waitForEvent('download');
    await page.locator('[data-testid="bulk-bar"] [data-testid="export-telemetry"]').click();
    const file = path.join(outDir, 'selection.csv');
    await (await download).saveAs(file);
    const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
    expect(header).toMatch(/^device_id,time,battery,temperature,rssi,free_heap,inference_ms/);
    expect(new Set(rows.map((r) => r.split(',')[0]))).toEqual(new Set(ids.slice(0, 3)));
    for (const row of rows) {
      const time = row.split(',')[1];
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.now() - Date.parse(time)).toBeLessThan(3_600_000);
    }
    await expect.poll(() => page.locator('.tf-toast--success').filter({ hasText: 'telemetry row(s) of 3 devices' }).count(), { timeout: 10_000 }).toBe(1);
  }, 60_000);

  it('tags every device the filter matches, also a never-seen one, and reports failures per device', async () => {
    const { page } = app;
    await page.click('[data-testid="bulk-clear"]');
    await inputOf(page, 'fleet-search').fill('spare');
    await expect.poll(() => page.locator('[data-testid="device-row"]').count(), { timeout: 10_000 }).toBe(2);
    await page.click('[data-testid="select-all"]');
    expect(await page.locator('[data-testid="bulk-count"]').textContent()).toBe('2 selected');
    await inputOf(page, 'bulk-tag-input').fill('site-b');
    await page.click('[data-testid="bulk-tag"]');
    await expect.poll(async () => (await app.core.api.call('fleet.get', { id: 'spare-2' })).tags, { timeout: 10_000 }).toEqual(['site-b']);
    expect((await app.core.api.call('fleet.get', { id: 'spare-1' })).tags).toEqual(['site-b']);
    // A never-seen device takes no ping: the report names it.
    await page.click('[data-testid="bulk-ping"]');
    await expect.poll(() => page.locator('.tf-toast--warning').textContent(), { timeout: 30_000 }).toMatch(/Ping: 0 done, 2 failed.*spare-1/);
  }, 60_000);

  it('deletes the selected devices after a confirmation', async () => {
    const { page } = app;
    await page.click('[data-testid="bulk-delete"]');
    await page.locator('.el-message-box__btns .el-button--primary').click();
    await expect.poll(() => page.locator('[data-testid="device-row"]').count(), { timeout: 10_000 }).toBe(0);
    await expect(app.core.api.call('fleet.get', { id: 'spare-1' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await page.locator('[data-testid="bulk-bar"]').count()).toBe(0);
  }, 60_000);

  it('ran without page errors or CSP violations', () => {
    expect(app.problems).toEqual([]);
  });
});
