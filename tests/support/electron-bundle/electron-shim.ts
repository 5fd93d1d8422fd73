/** What `import ... from 'electron'` gives the built main bundle when it runs under Node in tests. */
import { createFakeElectron, type FakeElectron } from '../fake-electron';

const fake = createFakeElectron();
(globalThis as { tinyfleetFakeElectron?: FakeElectron }).tinyfleetFakeElectron = fake;
const m = fake.module;

export const app = m.app;
export const BrowserWindow = m.BrowserWindow;
export const ipcMain = m.ipcMain;
export const ipcRenderer = m.ipcRenderer;
export const contextBridge = m.contextBridge;
export const session = m.session;
export const shell = m.shell;
export const dialog = m.dialog;
