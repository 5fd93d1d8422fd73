import path from 'node:path';
import { app, dialog, ipcMain, session, type BrowserWindow } from 'electron';
import { createCore, type Core, type CoreConfig } from '../core/host/create-core';
import { contentSecurityPolicy } from '../core/host/csp';
import { createStreamLogger, type Logger } from '../core/common/logger';
import { resolveDataDir } from '../core/store/data-dir';
import { resolveAppPage, type AppPage } from './app-page';
import { IpcTransport } from './ipc-transport';
import { hardenSession, hardenWebContents } from './security';
import { createMainWindow } from './window';

export interface DesktopAppOptions {
  /** electron-vite's output folder (holds main/, preload/ and renderer/). */
  outDir: string;
  /** electron-vite dev server URL (ELECTRON_RENDERER_URL) during `electron-vite dev`. */
  devServerUrl?: string;
  /** Overrides of the core configuration (tests: broker port, simulated devices). */
  core?: Partial<Omit<CoreConfig, 'host'>>;
  logger?: Logger;
}

/** The running desktop app: its core, its window, and the orderly way out. */
export interface DesktopApp {
  core: Core;
  page: AppPage;
  window(): BrowserWindow | null;
  /** Closes the IPC transport, then the core. */
  shutdown(): Promise<void>;
}

/**
 * The Electron host: hardens every web contents and the session, starts the core in the main
 * process (data in userData unless --data-dir/TINYFLEET_DATA_DIR say otherwise), serves the
 * contract over one IPC channel and opens the window. Returns null when another instance runs.
 */
export async function startDesktopApp(options: DesktopAppOptions): Promise<DesktopApp | null> {
  const logger = options.logger ?? createStreamLogger('info');
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  app.enableSandbox();
  const page = resolveAppPage({
    rendererIndex: path.join(options.outDir, 'renderer', 'index.html'),
    devServerUrl: options.devServerUrl,
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, page));

  await app.whenReady();
  hardenSession(session.defaultSession, contentSecurityPolicy({ dev: Boolean(options.devServerUrl) }));

  let core: Core;
  try {
    core = await createCore({
      dataDir: resolveDataDir({ flag: dataDirFlag(process.argv), electronUserData: app.getPath('userData') }),
      version: app.getVersion(),
      logger,
      sqliteNativeBinding: process.env.TINYFLEET_SQLITE_BINDING || undefined,
      // The bundle lives in out/main, so source-relative paths do not hold: use the app folder.
      mcuCatalogPath: path.join(app.getAppPath(), 'resources', 'mcu-profiles.json'),
      ...options.core,
      host: 'electron',
    });
  } catch (error) {
    dialog.showErrorBox('TinyFleet cannot start', error instanceof Error ? error.message : String(error));
    app.quit();
    return null;
  }
  const transport = new IpcTransport({ ipcMain, page, dispatcher: core.dispatcher, bus: core.bus, logger });

  const preloadPath = path.join(options.outDir, 'preload', 'index.cjs');
  let mainWindow: BrowserWindow | null = createMainWindow(page, preloadPath);
  const track = (win: BrowserWindow) => win.on('closed', () => (mainWindow = mainWindow === win ? null : mainWindow));
  track(mainWindow);

  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('activate', () => {
    if (mainWindow) return;
    mainWindow = createMainWindow(page, preloadPath);
    track(mainWindow);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let stopping: Promise<void> | null = null;
  const shutdown = () =>
    (stopping ??= (async () => {
      transport.dispose();
      await core.dispose();
    })());
  app.on('will-quit', (event) => {
    if (stopping) return;
    // Keep the process alive until the store is closed and the broker has said goodbye.
    event.preventDefault();
    void shutdown().finally(() => app.quit());
  });

  return { core, page, window: () => mainWindow, shutdown };
}

/** `--data-dir DIR` or `--data-dir=DIR` on Electron's command line. */
function dataDirFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--data-dir') return argv[i + 1];
    if (argv[i].startsWith('--data-dir=')) return argv[i].slice('--data-dir='.length);
  }
  return undefined;
}
