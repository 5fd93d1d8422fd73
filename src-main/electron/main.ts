/**
 * Electron entry point (built by electron-vite into out/main/index.js). Everything else lives in
 * desktop-app.ts so it can be tested against a fake electron module.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDesktopApp } from './desktop-app';

const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
startDesktopApp({ outDir, devServerUrl: process.env.ELECTRON_RENDERER_URL }).catch((error: unknown) => {
  process.stderr.write(`TinyFleet failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
