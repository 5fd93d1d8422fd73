import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { SystemInfo } from '../../../src-main/core/contract';
import type { TinyFleetBridge } from '../../../src-main/core/contract/wire';

const fake = await vi.hoisted(async () => (await import('../../support/fake-electron')).createFakeElectron());
vi.mock('electron', () => fake.module);

const { FakeEvent } = await import('../../support/fake-electron');
const { startDesktopApp } = await import('../../../src-main/electron/desktop-app');
const { contentSecurityPolicy } = await import('../../../src-main/core/host/csp');
const { createMemoryLogger } = await import('../../../src-main/core/common/logger');

delete process.env.TINYFLEET_DATA_DIR;
const outDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-out-'));
const desktop = await startDesktopApp({
  outDir,
  logger: createMemoryLogger(),
  core: { broker: { mode: 'embedded', port: 0, listenAll: false }, simulate: 0 },
});
if (!desktop) throw new Error('desktop app did not start');
const win = fake.windows[0];
fake.rendererContents = win.webContents;
await import('../../../src-main/preload/index');
const bridge = fake.exposed.get('tinyfleet') as TinyFleetBridge;

afterAll(async () => {
  await desktop.shutdown();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(fake.userData, { recursive: true, force: true });
});

describe('desktop app (Electron main against a fake electron)', () => {
  it('enables the sandbox everywhere and holds the single-instance lock', () => {
    expect(fake.sandboxEnabled).toBe(true);
    expect(fake.windows).toHaveLength(1);
  });

  it('opens one secure window on the built page with the preload', () => {
    expect(win.options.webPreferences).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      preload: path.join(outDir, 'preload', 'index.cjs'),
    });
    expect(win.loadedUrl).toBe(pathToFileURL(path.join(outDir, 'renderer', 'index.html')).href);
  });

  it('hardens every web contents and the session', () => {
    expect(win.webContents.tryNavigate('https://evil.example/')).toBe(false);
    expect(win.webContents.windowOpenHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    let granted: boolean | null = null;
    fake.session.permissionRequestHandler?.({}, 'media', (g: boolean) => (granted = g));
    expect(granted).toBe(false);
    let headers: Record<string, string[]> = {};
    fake.session.headersReceived?.({ responseHeaders: {} }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']).toEqual([contentSecurityPolicy()]);
  });

  it('runs the real core in the main process, in userData, reachable through the preload bridge', async () => {
    const outcome = await bridge.call('system.info');
    expect(outcome.ok).toBe(true);
    const info = (outcome as { output: SystemInfo }).output;
    expect(info).toMatchObject({ host: 'electron', dataDir: fake.userData, version: '0.0.0-test' });
    expect(info.broker.connected).toBe(true);
    expect(await bridge.call('fleet.get', { id: 'Not Valid' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const profiles = await bridge.call('profiles.list');
    expect(profiles.ok && (profiles.output as unknown[]).length).toBeGreaterThanOrEqual(7);
  });

  it('holds quitting until the core is disposed, then quits', async () => {
    const event = new FakeEvent();
    fake.app.emit('will-quit', event);
    expect(event.defaultPrevented).toBe(true);
    await vi.waitFor(() => expect(fake.quitCalls).toBe(1), { timeout: 10_000 });
    expect(fake.ipcMain.listenerCount('tinyfleet:rpc')).toBe(0);
  });
});
