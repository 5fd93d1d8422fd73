/**
 * Issue 12 item 7, the operator papercuts, done as an operator would: a device that never came
 * online (its charts and command form), the new-device dialog (how the device connects), CSV
 * export and import, chart units and ticks, the simulator's fault form.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserUnavailableReason, buildRenderer, startBrowserApp, type BrowserApp } from './browser-app';
import { inputOf } from './page-actions';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('operator e2e', browserUnavailableReason());


describe.skipIf(skip)('operator papercuts', () => {
  let outDir: string;
  let filesDir: string;
  let app: BrowserApp;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-operator-'));
    filesDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-operator-files-'));
    app = await startBrowserApp({
      rendererDir: buildRenderer(outDir),
      simulate: 2,
      beforeBrowser: async (core) => void (await core.api.call('fleet.add', { id: 'never-seen', name: 'Never seen', mcu: 'rp2040' })),
    });
    await app.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(app.url).origin });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    if (filesDir) rmSync(filesDir, { recursive: true, force: true });
  });

  it('shows "No telemetry yet" and an annotated, disabled command form for a device never seen', async () => {
    const { page } = app;
    await page.locator('[data-testid="device-row"][data-device-id="never-seen"]').click();
    await page.waitForSelector('[data-testid="device-page"][data-device-id="never-seen"]');
    await expect.poll(() => page.locator('[data-testid="chart-empty"]').count(), { timeout: 10_000 }).toBe(5);
    expect(await page.locator('[data-testid="chart-battery"] [data-testid="chart-empty"]').textContent()).toContain('No telemetry yet');
    expect(await page.locator('[data-testid="cmd-unreachable"]').textContent()).toContain('never connected');
    expect(await page.locator('[data-testid="cmd-ping"]').isDisabled()).toBe(true);
    expect(await page.locator('[data-testid="cmd-free-send"]').isDisabled()).toBe(true);
  }, 60_000);

  it('shows one unit and round ticks on a live chart; an online device takes commands', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-fleet"]');
    await page.locator('[data-testid="device-row"][data-status="online"]').first().click();
    await expect.poll(() => page.locator('[data-testid="device-status"]').getAttribute('data-status'), { timeout: 15_000 }).toBe('online');
    const heap = page.locator('[data-testid="chart-freeHeap"]');
    await expect.poll(async () => Number(await heap.getAttribute('data-samples')), { timeout: 15_000 }).toBeGreaterThan(1);
    expect(await page.locator('[data-testid="latest-freeHeap"]').textContent()).toMatch(/^\s*\d+\.\d KB\s*$/);
    for (const field of ['freeHeap', 'temperature', 'battery', 'rssi']) {
      const chart = page.locator(`[data-testid="chart-${field}"]`);
      await expect.poll(() => chart.getAttribute('data-y-ticks'), { timeout: 10_000 }).toBeTruthy();
      const ticks = (await chart.getAttribute('data-y-ticks'))!.split(' ').map(Number);
      const step = ticks[1] - ticks[0];
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `${field} step ${step}`).toBe(true);
      for (const t of ticks) expect(Math.abs(t / step - Math.round(t / step)), `${field} tick ${t}`).toBeLessThan(1e-6);
    }
    expect(await page.locator('[data-testid="cmd-unreachable"]').count()).toBe(0);
    expect(await page.locator('[data-testid="cmd-ping"]').isDisabled()).toBe(false);

    // Issue 12 item 8: its telemetry history as CSV, ISO times, the last hour.
    const id = await page.locator('[data-testid="device-page"]').getAttribute('data-device-id');
    const download = page.waitForEvent('download');
    await page.click('[data-testid="export-telemetry"]');
    const file = path.join(filesDir, 'telemetry.csv');
    await (await download).saveAs(file);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^device_id,time,battery,temperature,rssi,free_heap,inference_ms/);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines.slice(1)) {
      const [device, time] = line.split(',');
      expect(device).toBe(id);
      expect(Date.now() - Date.parse(time)).toBeLessThan(3_600_000);
      expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  }, 60_000);

  it('tells how a new device connects (host, port, username, topics) and copies it', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-fleet"]');
    await page.click('[data-testid="add-device"]');
    await page.click('[data-testid="add-mcu"]');
    await page.locator('.el-select-dropdown__item:visible').first().click();
    await inputOf(page, 'add-id').fill('door-7');
    await page.click('[data-testid="add-submit"]');
    const conn = page.locator('[data-testid="device-connection"]');
    await conn.waitFor({ timeout: 10_000 });
    const brokerPort = new URL(app.core.info().broker.url).port;
    expect((await page.locator('[data-testid="conn-host"]').textContent())?.trim()).toBe('127.0.0.1');
    expect((await page.locator('[data-testid="conn-port"]').textContent())?.trim()).toBe(brokerPort);
    expect((await page.locator('[data-testid="conn-username"]').textContent())?.trim()).toBe('door-7');
    expect((await page.locator('[data-testid="conn-subtree"]').textContent())?.trim()).toBe('tf/v1/door-7/#');
    expect(await conn.textContent()).toContain('tf/v1/door-7/telemetry');
    expect(await conn.textContent()).toContain('tf/v1/door-7/cmd');
    await page.click('[data-testid="connection-copy"]');
    await expect.poll(() => page.locator('[data-testid="connection-copy"]').textContent()).toContain('Copied');
    const secret = await inputOf(page, 'secret-value').inputValue();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toContain(`port: ${brokerPort}`);
    expect(copied).toContain('username: door-7');
    expect(copied).toContain(`password: ${secret}`);
    await page.keyboard.press('Escape');
  }, 60_000);

  it('exports CSV with ISO 8601 times', async () => {
    const { page } = app;
    const download = page.waitForEvent('download');
    await page.click('[data-testid="export-devices"]');
    const file = path.join(filesDir, 'export.csv');
    await (await download).saveAs(file);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('id,name,mcu,tags,status,firmware,model,simulated,created_at,last_seen');
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      expect(cells.at(-2), line).toMatch(iso);
      if (cells.at(-1) !== '') expect(cells.at(-1), line).toMatch(iso);
    }
    expect(lines.find((l) => l.startsWith('sim-'))!.split(',').at(-1)).toMatch(iso);
  }, 60_000);

  it('says which imported rows got a generated id', async () => {
    const { page } = app;
    const file = path.join(filesDir, 'import.csv');
    writeFileSync(file, 'id,name,mcu,tags\npump-1,Pump,rp2040,\n,Anonymous,rp2040,\n');
    await page.click('[data-testid="import-devices"]');
    await page.setInputFiles('[data-testid="import-file"]', file);
    const notes = page.locator('[data-testid="import-notes"]');
    await notes.waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="import-summary"]').textContent()).toContain('2 device(s) added (1 under an id TinyFleet generated');
    const text = await notes.textContent();
    expect(text).toContain('3');
    expect(text).toMatch(/no id given: the device was added as "[a-z0-9_-]+"/);
    await page.keyboard.press('Escape');
  }, 60_000);

  it('offers a real simulated device id as the fault form example', async () => {
    const { page } = app;
    await page.click('[data-testid="nav-simulator"]');
    const placeholder = await inputOf(page, 'inject-device').getAttribute('placeholder');
    const example = /e\.g\. (\S+)$/.exec(placeholder ?? '')?.[1];
    expect(example).toBeTruthy();
    const { devices } = await app.core.api.call('fleet.list', {});
    expect(devices.filter((d) => d.simulated).map((d) => d.id)).toContain(example);
  }, 60_000);

  it('ran without page errors or CSP violations', () => {
    expect(app.problems).toEqual([]);
  });
});
