import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../src-main/core/host/csp';

const root = path.resolve(import.meta.dirname, '../..');
// A private output folder: out/ may be in use by a running `tinyfleet serve` or the e2e suite.
const workDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-build-'));
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
});
