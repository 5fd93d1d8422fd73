/**
 * Issue 12 item 7, a command to a device that is not online, as an operator sends it from the
 * device page: a lost device's command queued with an expiry goes out when the device is back; an
 * offline device's command is refused at once with a plain sentence (nothing waits for a timeout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserUnavailableReason, buildRenderer, screenshotPath, startBrowserApp, type BrowserApp } from './browser-app';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('commands offline e2e', browserUnavailableReason());

/** Opens a device's page from the fleet table and waits until it shows `status`. */
async function openDevice(page: Page, id: string, status: string): Promise<void> {
  await page.click('[data-testid="nav-fleet"]');
  await page.locator(`[data-testid="device-row"][data-device-id="${id}"]`).click();
  await page.waitForSelector(`[data-testid="device-page"][data-device-id="${id}"]`);
  await expect.poll(() => page.locator('[data-testid="device-status"]').getAttribute('data-status'), { timeout: 20_000 }).toBe(status);
}

/** Picks what happens to a command for a device that is not online. */
async function chooseQueue(page: Page, label: string): Promise<void> {
  await page.click('[data-testid="cmd-queue-for"]');
  await page.locator('.el-select-dropdown__item:visible', { hasText: label }).first().click();
}

/** The newest row of the command list for `command`. */
const newestRow = (page: Page, command: string) => page.locator(`[data-testid="command-row"][data-command="${command}"]`).first();

describe.skipIf(skip)('a command to a device that is not online', () => {
  let outDir: string;
  let app: BrowserApp;
  /** The two simulated devices (provisioned before the app serves; they come online meanwhile). */
  let ids: string[];

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-offline-'));
    app = await startBrowserApp({ rendererDir: buildRenderer(outDir), simulate: 2 });
    ids = (await app.core.api.call('fleet.list', {})).devices.map((d) => d.id).sort();
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('queues a ping for a lost device with an expiry, and the device answers it once it is back', async () => {
    const { page, core } = app;
    const id = ids[0];
    await openDevice(page, id, 'online');
    await chooseQueue(page, 'Queue for 15 minutes');

    // Power is cut: the broker publishes the device's last will; it reboots a few seconds later.
    expect(await core.api.call('sim.inject', { deviceId: id, fault: 'power_loss' })).toEqual({ ok: true });
    await expect.poll(() => page.locator('[data-testid="device-status"]').getAttribute('data-status'), { timeout: 10_000 }).toBe('lost');
    expect(await page.locator('[data-testid="cmd-away"]').textContent()).toContain('This device is lost');
    expect(await page.locator('[data-testid="cmd-away"]').textContent()).toContain('go out when it reconnects');
    await page.click('[data-testid="cmd-ping"]');

    const row = newestRow(page, 'ping');
    await row.waitFor({ timeout: 10_000 });
    if ((await row.getAttribute('data-state')) === 'queued') expect(await row.textContent()).toMatch(/until \d/);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 60_000 }).toBe('ok');
    await expect.poll(() => page.locator('[data-testid="device-status"]').getAttribute('data-status'), { timeout: 10_000 }).toBe('online');
    // It was queued (it carries its expiry, 15 minutes after it was asked for), then sent and answered.
    const [ping] = (await core.api.call('fleet.commands', { id })).filter((c) => c.command === 'ping');
    expect(ping.state).toBe('ok');
    expect(ping.expiresAt).toBeGreaterThan(Date.now());
    expect(ping.expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    expect(await page.locator('[data-testid="cmd-error"]').count()).toBe(0);
  }, 120_000);

  it('says at once that an offline device is offline, and queues only when asked', async () => {
    const { page, core } = app;
    const id = ids[1];
    await openDevice(page, id, 'online');
    await core.api.call('sim.stop', {});
    await expect.poll(() => page.locator('[data-testid="device-status"]').getAttribute('data-status'), { timeout: 20_000 }).toBe('offline');
    expect(await page.locator('[data-testid="cmd-away"]').textContent()).toContain('This device is offline');

    await chooseQueue(page, 'Do not queue');
    await page.click('[data-testid="cmd-ping"]');
    const error = page.locator('[data-testid="cmd-error"]');
    await error.waitFor({ timeout: 5_000 });
    const text = (await error.textContent()) ?? '';
    expect(text).toContain(`device "${id}" is offline`);
    expect(text).toContain('"ping" was not sent');
    expect(text).not.toMatch(/DEVICE_OFFLINE|timed out|timeout/i);
    // Refused, not sent and left to time out: nothing was recorded for the device.
    expect(await core.api.call('fleet.commands', { id })).toEqual([]);
    expect(await page.locator('[data-testid="command-row"]').count()).toBe(0);

    await chooseQueue(page, 'Queue for 1 hour');
    await page.click('[data-testid="cmd-get-info"]');
    const row = newestRow(page, 'get_info');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('queued');
    expect(await row.textContent()).toMatch(/until \d/);
    expect(await error.count()).toBe(0);
    const [queued] = await core.api.call('fleet.commands', { id });
    expect(queued).toMatchObject({ command: 'get_info', state: 'queued' });
    expect(queued.expiresAt! - queued.sentAt).toBe(3_600_000);
    await page.screenshot({ path: screenshotPath('commands-offline.png'), fullPage: true });
    expect(app.problems).toEqual([]);
  }, 120_000);
});
