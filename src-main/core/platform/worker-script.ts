import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** URL of tsx's ESM API (its CJS build cannot register hooks from an eval worker). */
function tsxEsmApi(): string | null {
  try {
    if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  } catch {
    // fall through to require.resolve (e.g. under a test runner without import.meta.resolve)
  }
  try {
    const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
    const mjs = cjs.replace(/\.cjs$/, '.mjs');
    return existsSync(mjs) ? pathToFileURL(mjs).href : null;
  } catch {
    return null;
  }
}

/** What `new Worker(code, { eval })` needs to start a worker script. */
export interface WorkerScript {
  code: string;
  eval: boolean;
}

/**
 * How to start a worker thread from where the calling module runs: a compiled `<name>.js` next to
 * it (electron-vite builds each worker as its own main-process entry), or the TypeScript source
 * `<source>` through tsx (CLI, tests, browser mode from the source tree). Null when neither exists,
 * e.g. inside a single-file bundle: callers then do the work inline.
 *
 * @param from the caller's `import.meta.url`
 * @param name the built entry's name, e.g. `sim-worker`
 * @param source the source file relative to `from`, e.g. `./sim-worker.ts`
 */
export function workerScript(from: string, name: string, source: string): WorkerScript | null {
  const js = new URL(`./${name}.js`, from);
  if (existsSync(fileURLToPath(js))) return { code: fileURLToPath(js), eval: false };
  const ts = new URL(source, from);
  if (!existsSync(fileURLToPath(ts))) return null;
  const tsxApi = tsxEsmApi();
  if (!tsxApi) return null;
  // tsx hooks registered in this thread do not reach workers: register them inside the worker.
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ts.href)}); });`;
  return { code, eval: true };
}
