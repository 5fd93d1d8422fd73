import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../src-main/core/host/csp';

const root = path.resolve(import.meta.dirname, '../..');
// A private output folder (out/ may be in use by a running `tinyfleet serve` or the e2e suite),
// inside the project so that the main bundle resolves its external dependencies from node_modules.
mkdirSync(path.join(root, '.cache'), { recursive: true });
const workDir = mkdtempSync(path.join(root, '.cache', 'build-test-'));
const out = path.join(workDir, 'out');
let build: ReturnType<typeof spawnSync>;

beforeAll(() => {
  const bin = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  build = spawnSync(process.execPath, [bin, 'build', '--outDir', out], { cwd: root, encoding: 'utf8', timeout: 300_000 });
}, 320_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('electron-vite build', () => {
  it('succeeds', () => {
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
  });

  it('emits the main process bundle that package.json points at', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };
    expect(pkg.main).toBe('./out/main/index.js');
    const main = readFileSync(path.join(out, 'main', 'index.js'), 'utf8');
    expect(main).toContain('tinyfleet:rpc');
    expect(main).toMatch(/sandbox: true/);
    // dependencies stay external (native better-sqlite3 must load from node_modules)
    expect(main).toMatch(/from "better-sqlite3"/);
  });

  it('emits a self-contained CommonJS preload (sandboxed preloads can only require electron)', () => {
    const preload = readFileSync(path.join(out, 'preload', 'index.cjs'), 'utf8');
    expect(preload).toContain('exposeInMainWorld');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    expect(preload).not.toMatch(/^import /m);
    expect(preload).not.toContain('zod');
  });

  it('emits the renderer: index.html with the CSP meta tag and the assets it references', () => {
    const html = readFileSync(path.join(out, 'renderer', 'index.html'), 'utf8');
    const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/);
    expect(meta?.[1].replaceAll('&#39;', "'")).toBe(contentSecurityPolicy({ meta: true }));
    const refs = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
    expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
    for (const ref of refs) expect(existsSync(path.join(out, 'renderer', ref)), ref).toBe(true);
    const assets = readdirSync(path.join(out, 'renderer', 'assets'));
    expect(assets.length).toBeGreaterThan(2);
    // no inline scripts: the CSP forbids them
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('the main bundle boots the core under Node (fake electron) and answers over the IPC channel', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', './tests/support/electron-bundle/register.mjs', 'tests/support/electron-bundle/run-main.ts', out],
      { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TINYFLEET_DATA_DIR: '' } },
    );
    // (stack lines in the child's stderr are defused: vitest would try to source-map them)
    expect(run.status, run.stderr.replace(/\bat /g, '@ ').slice(-3000)).toBe(0);
    const seen = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      webPreferences: Record<string, unknown>;
      loadedUrl: string;
      channel: string;
      answer: { t: string; output: { host: string; dataDir: string; broker: { connected: boolean } } };
      userData: string;
    };
    rmSync(seen.userData, { recursive: true, force: true });
    expect(seen.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, preload: path.join(out, 'preload', 'index.cjs') });
    expect(seen.loadedUrl).toBe(pathToFileURL(path.join(out, 'renderer', 'index.html')).href);
    expect(seen.channel).toBe('tinyfleet:rpc');
    expect(seen.answer).toMatchObject({ t: 'result', output: { host: 'electron', dataDir: seen.userData, broker: { connected: true } } });
  });
});
