import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { requireWorkerScript, workerScript } from '../../../src-main/core/platform/worker-script';
import { WorkerPool } from '../../../src-main/core/platform/worker-pool';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const platform = path.resolve(import.meta.dirname, '../../../src-main/core/platform');
const modelsDir = path.resolve(import.meta.dirname, '../../../src-main/core/models');

describe('workerScript (the one worker locator)', () => {
  it('prefers the built entry beside the calling module', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tf-worker-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'thing-worker.js'), '');
    writeFileSync(path.join(dir, 'thing.ts'), '');
    const from = pathToFileURL(path.join(dir, 'caller.js')).href;
    expect(workerScript(from, 'thing-worker', './thing.ts')).toEqual({ filename: path.join(dir, 'thing-worker.js'), argv: [] });
  });

  it('else starts the TypeScript source through the tsx bootstrap, which runs it in a worker and in piscina', async () => {
    const from = pathToFileURL(path.join(modelsDir, 'analysis-pool.ts')).href;
    const script = workerScript(from, 'model-worker', './worker/analysis-task.ts');
    expect(script).toEqual({
      filename: path.join(platform, 'worker-bootstrap.mjs'),
      argv: ['--tinyfleet-worker-source', pathToFileURL(path.join(modelsDir, 'worker/analysis-task.ts')).href],
    });
    const pool = new WorkerPool(script!, { idleTimeout: 1_000 });
    try {
      await expect(pool.run({ kind: 'inspect', bytes: new Uint8Array(8), name: 'junk' })).resolves.toMatchObject({ ok: false, reason: 'malformed' });
    } finally {
      await pool.close();
    }
  });

  it('is null when neither exists, and requireWorkerScript names both places', () => {
    const from = pathToFileURL(path.join(platform, 'caller.ts')).href;
    expect(workerScript(from, 'ghost-worker', './ghost.ts')).toBeNull();
    expect(() => requireWorkerScript(from, 'ghost-worker', './ghost.ts')).toThrow(
      `ghost-worker not found: neither ${path.join(platform, 'ghost-worker.js')} (built entry) nor ${path.join(platform, 'ghost.ts')} (source tree, through tsx) exists`,
    );
  });

  it('the bootstrap refuses to start without the module to load', async () => {
    const worker = new Worker(path.join(platform, 'worker-bootstrap.mjs'));
    const error = await new Promise<Error>((resolve) => worker.once('error', resolve));
    expect(error.message).toMatch(/needs --tinyfleet-worker-source/);
  });
});
