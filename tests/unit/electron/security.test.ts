import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { FakeWebContents } from '../../support/fake-electron';

const fake = await vi.hoisted(async () => (await import('../../support/fake-electron')).createFakeElectron());
vi.mock('electron', () => fake.module);

const { resolveAppPage } = await import('../../../src-main/electron/app-page');
const { hardenSession, hardenWebContents, isSafeExternalUrl } = await import('../../../src-main/electron/security');
const { createMainWindow } = await import('../../../src-main/electron/window');
const { contentSecurityPolicy } = await import('../../../src-main/core/host/csp');
const { FakeEvent } = await import('../../support/fake-electron');

const rendererIndex = path.resolve('/opt/tinyfleet/out/renderer/index.html');
const page = resolveAppPage({ rendererIndex });
const appUrl = pathToFileURL(rendererIndex).href;

describe('Electron window and security', () => {
  it('creates the window sandboxed, isolated, without Node and with web security', () => {
    const win = createMainWindow(page, '/opt/tinyfleet/out/preload/index.cjs') as unknown as { options: { webPreferences: Record<string, unknown> }; loadedUrl: string };
    const prefs = win.options.webPreferences;
    expect(prefs).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: '/opt/tinyfleet/out/preload/index.cjs',
    });
    expect(win.loadedUrl).toBe(appUrl);
  });

  it('recognises only the app page as the app', () => {
    expect(page.isAppUrl(appUrl)).toBe(true);
    expect(page.isAppUrl(`${appUrl}#/devices/dev-1`)).toBe(true);
    expect(page.isAppUrl(pathToFileURL('/opt/tinyfleet/out/renderer/other.html').href)).toBe(false);
    expect(page.isAppUrl(pathToFileURL('/etc/passwd').href)).toBe(false);
    expect(page.isAppUrl('https://evil.example/index.html')).toBe(false);
    expect(page.isAppUrl('not a url')).toBe(false);
    const dev = resolveAppPage({ rendererIndex, devServerUrl: 'http://localhost:5173/' });
    expect(dev.isAppUrl('http://localhost:5173/#/fleet')).toBe(true);
    expect(dev.isAppUrl('http://localhost:5174/')).toBe(false);
  });

  it('denies navigation away from the app and every new window; https links go to the browser', () => {
    const win = createMainWindow(page, '/p.cjs') as unknown as { webContents: FakeWebContents };
    const contents = win.webContents;
    hardenWebContents(contents as never, page);
    expect(contents.tryNavigate('https://evil.example/')).toBe(false);
    expect(contents.tryNavigate('file:///etc/passwd')).toBe(false);
    expect(contents.tryNavigate(`${appUrl}#/settings`)).toBe(true);
    const attach = new FakeEvent();
    contents.emit('will-attach-webview', attach, {}, {});
    expect(attach.defaultPrevented).toBe(true);
    expect(contents.windowOpenHandler?.({ url: 'https://docs.example/tinyfleet' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler?.({ url: 'http://plain.example/' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler?.({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(fake.openedExternally).toEqual(['https://docs.example/tinyfleet']);
  });

  it('validates external links', () => {
    expect(isSafeExternalUrl('https://example.com/a?b')).toBe(true);
    expect(isSafeExternalUrl('https://user:pw@example.com/')).toBe(false);
    expect(isSafeExternalUrl('smb://share/x')).toBe(false);
    expect(isSafeExternalUrl('')).toBe(false);
  });

  it('denies permission requests and checks, and adds the shared CSP to responses', () => {
    hardenSession(fake.session as never, contentSecurityPolicy());
    const answers: boolean[] = [];
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read']) {
      fake.session.permissionRequestHandler?.({}, permission, (granted: boolean) => answers.push(granted));
    }
    expect(answers).toEqual([false, false, false, false]);
    expect(fake.session.permissionCheckHandler?.({}, 'media', 'file://', {})).toBe(false);
    let headers: Record<string, string[]> = {};
    fake.session.headersReceived?.({ responseHeaders: { 'Content-Type': ['text/html'] } }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']).toEqual([contentSecurityPolicy()]);
    expect(headers['Content-Type']).toEqual(['text/html']);
    expect(headers['Content-Security-Policy'][0]).toMatch(/script-src 'self'(;|$)/);
    expect(headers['Content-Security-Policy'][0]).not.toContain('unsafe-eval');
  });
});
