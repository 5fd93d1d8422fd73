import { BrowserWindow } from 'electron';
import type { AppPage } from './app-page';
import { secureWebPreferences } from './security';

/** Creates the main window with the secure preferences and loads the app's page into it. */
export function createMainWindow(page: AppPage, preloadPath: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1360,
    height: 860,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'TinyFleet',
    backgroundColor: '#ffffff',
    webPreferences: { ...secureWebPreferences, preload: preloadPath },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(page.url);
  return window;
}
