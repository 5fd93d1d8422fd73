/**
 * Issue 12 item 5: a second tab, a browser without the token, and an old tab after a restart each
 * say plainly what to do instead of looking like an outage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserServer } from '../../src-main/core/host/browser-server';
import { createMemoryLogger } from '../../src-main/core/common/logger';
import { browserUnavailableReason, buildRenderer, CHROMIUM_ARGS, CHROMIUM_PATH, startBrowserApp, type BrowserApp } from './browser-app';
import { requireOrSkip } from '../support/require-tools';

const skip = requireOrSkip('access e2e', browserUnavailableReason());

describe.skipIf(skip)('access to browser mode', () => {
  let outDir: string;
  let rendererDir: string;
  let app: BrowserApp;

  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-e2e-access-'));
    rendererDir = buildRenderer(outDir);
    app = await startBrowserApp({ rendererDir, simulate: 2 });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('works in a second tab opened at the plain address', async () => {
    await app.page.waitForSelector('[data-testid="device-row"]');
    const second = await app.context.newPage();
    try {
      await second.goto(`http://127.0.0.1:${app.server.address().port}/`);
      await expect.poll(() => second.locator('[data-testid="device-row"]').count(), { timeout: 15_000 }).toBe(2);
      await expect.poll(() => second.locator('[data-testid="broker-status"]').getAttribute('data-state'), { timeout: 10_000 }).toBe('ok');
      expect(await second.locator('[data-testid="link-banner"]').count()).toBe(0);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('tells a browser without the token to open the printed URL', async () => {
    const profile = mkdtempSync(path.join(tmpdir(), 'tinyfleet-chromium-'));
    const other = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    try {
      const page = other.pages()[0] ?? (await other.newPage());
      const response = await page.goto(`http://127.0.0.1:${app.server.address().port}/`);
      expect(response?.status()).toBe(403);
      const text = await page.locator('body').textContent();
      expect(text).toContain("This address needs TinyFleet's access token");
      expect(text).toContain('Open the URL that TinyFleet printed in the terminal');
    } finally {
      await other.close();
      rmSync(profile, { recursive: true, force: true });
    }
  }, 60_000);

  it('tells an old tab after a restart to open the newly printed URL, without spinning', async () => {
    const { page } = app;
    const port = app.server.address().port;
    await app.server.close();
    const restarted = new BrowserServer({
      dispatcher: app.core.dispatcher,
      bus: app.core.bus,
      logger: createMemoryLogger(),
      rendererDir,
      port,
      token: 'a-new-launch-has-a-new-token',
    });
    await restarted.listen();
    try {
      const refused = page.locator('[data-testid="access-refused"]');
      await refused.waitFor({ timeout: 20_000 });
      expect(await refused.getAttribute('data-refusal')).toBe('wrong-token');
      expect(await refused.textContent()).toContain('TinyFleet was restarted');
      expect(await refused.textContent()).toContain('Open the URL TinyFleet printed in the terminal');
      expect(await page.locator('[data-testid="link-banner"]').count()).toBe(0);
      expect(await page.locator('[data-testid="device-table"]').count()).toBe(0);
      expect(await page.locator('[data-testid="broker-status"]').textContent()).toContain('No access');
    } finally {
      await restarted.close();
    }
  }, 60_000);
});
