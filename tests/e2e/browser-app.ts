/**
 * Runs TinyFleet in browser mode for UI tests and benchmarks: a real core (temp data dir, embedded
 * broker on a free port, simulated devices), the browser-mode server over a renderer built by
 * `electron-vite build`, and headless Debian Chromium driven by playwright-core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { BrowserServer } from '../../src-main/core/host/browser-server';
import { createMemoryLogger } from '../../src-main/core/common/logger';
import { createTestCore, type TestCore } from '../support/core';

export const projectRoot = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Why browser tests cannot run here, or null when they can. */
export function browserUnavailableReason(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} is missing (apt-get install chromium)`;
}

/**
 * Builds the app with electron-vite into its own directory (not out/, which other tests build
 * concurrently) and returns the renderer folder. The caller removes `outDir` when done.
 */
export function buildRenderer(outDir: string): string {
  const bin = path.join(projectRoot, 'node_modules', '.bin', 'electron-vite');
  execFileSync(bin, ['build', '--outDir', outDir], { cwd: projectRoot, stdio: 'pipe', timeout: 300_000 });
  const renderer = path.join(outDir, 'renderer');
  if (!existsSync(path.join(renderer, 'index.html'))) throw new Error(`electron-vite build produced no ${renderer}/index.html`);
  return renderer;
}

export interface BrowserApp {
  core: TestCore;
  server: BrowserServer;
  url: string;
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  close(): Promise<void>;
}

export interface BrowserAppOptions {
  rendererDir: string;
  /** Simulated devices started with the core. */
  simulate: number;
  /** Event batching of the core (the desktop default is 150 ms). */
  batchMs?: number;
  viewport?: { width: number; height: number };
  /** Validate every output and event against the contract (on by default, as in tests). */
  validate?: boolean;
  /** Data directory to run on (kept afterwards); a fresh temporary one by default. */
  dataDir?: string;
  /** Runs once the core serves, before Chromium starts (e.g. bring a simulated fleet online). */
  beforeBrowser?: (core: TestCore) => Promise<void>;
}

/** Starts a core, serves the renderer and opens it in a fresh Chromium profile. */
export async function startBrowserApp(options: BrowserAppOptions): Promise<BrowserApp> {
  const core = await createTestCore({
    simulate: options.simulate,
    batchMs: options.batchMs ?? 150,
    validate: options.validate ?? true,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  const server = new BrowserServer({
    dispatcher: core.dispatcher,
    bus: core.bus,
    logger: createMemoryLogger(),
    rendererDir: options.rendererDir,
    port: 0,
  });
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-chromium-'));
  let context: BrowserContext | undefined;
  try {
    const { url } = await server.listen();
    await options.beforeBrowser?.(core);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: options.viewport ?? { width: 1440, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);
    const opened = context;
    return {
      core,
      server,
      url,
      context: opened,
      page,
      problems,
      async close() {
        await opened.close().catch(() => undefined);
        await server.close();
        await core.dispose();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close().catch(() => undefined);
    await server.close().catch(() => undefined);
    await core.dispose();
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Where screenshots go (gitignored). */
export function screenshotPath(name: string): string {
  const dir = path.join(projectRoot, 'test-results');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** A browser app with no simulated devices, and a scratch folder for files a test hands to the page. */
export interface AppWithFiles {
  app: BrowserApp;
  filesDir: string;
}

/**
 * Registers the suite's beforeAll/afterAll: builds the renderer, starts the app and a files folder
 * before the tests, closes and removes them after. The returned object is filled in beforeAll.
 */
export function useAppWithFiles(label: string): AppWithFiles {
  const fixture = {} as AppWithFiles;
  let outDir: string | undefined;
  beforeAll(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), `tinyfleet-e2e-${label}-out-`));
    fixture.filesDir = mkdtempSync(path.join(tmpdir(), `tinyfleet-e2e-${label}-files-`));
    fixture.app = await startBrowserApp({ rendererDir: buildRenderer(outDir), simulate: 0, viewport: { width: 1440, height: 1000 } });
  }, 300_000);
  afterAll(async () => {
    await fixture.app?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    if (fixture.filesDir) rmSync(fixture.filesDir, { recursive: true, force: true });
  });
  return fixture;
}
