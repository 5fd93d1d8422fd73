/**
 * Boots the built main bundle (out/main/index.js) under Node against the fake electron, makes one
 * contract call over the IPC channel as the app page would, quits, and prints what it saw as JSON.
 * Usage: node --import tsx --import ./tests/support/electron-bundle/register.mjs \
 *          tests/support/electron-bundle/run-main.ts <outDir>
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FakeEvent, type FakeElectron } from '../fake-electron';

const outDir = path.resolve(process.argv[2] ?? 'out');
const until = async (what: string, check: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

await import(pathToFileURL(path.join(outDir, 'main', 'index.js')).href);
const fake = (globalThis as { tinyfleetFakeElectron?: FakeElectron }).tinyfleetFakeElectron;
if (!fake) throw new Error('the bundle did not import electron');
await until('the main window', () => fake.windows.length === 1);
const win = fake.windows[0];
fake.rendererContents = win.webContents;
fake.sendFromRenderer('tinyfleet:rpc', [{ t: 'call', id: 1, name: 'system.info' }]);
await until('the answer to system.info', () => win.webContents.sent.some((m) => (m.args[0] as { id?: number }).id === 1));
const answer = win.webContents.sent.find((m) => (m.args[0] as { id?: number }).id === 1)!;
fake.app.emit('will-quit', new FakeEvent());
await until('quit after shutdown', () => fake.quitCalls === 1);
process.stdout.write(
  `${JSON.stringify({ webPreferences: win.options.webPreferences, loadedUrl: win.loadedUrl, channel: answer.channel, answer: answer.args[0], userData: fake.userData })}\n`,
);
process.exit(0);
