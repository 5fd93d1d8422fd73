import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The flag worker-bootstrap.mjs reads the TypeScript module to load from. */
const SOURCE_FLAG = '--tinyfleet-worker-source';

/** How to start a worker thread: the script file and the argv it needs (`new Worker` and piscina take both). */
export interface WorkerScript {
  filename: string;
  argv: string[];
}

/** Whether tsx can be loaded (it is a dependency of the source tree, not of a packaged app). */
function hasTsx(): boolean {
  try {
    createRequire(import.meta.url).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

/**
 * The one way to find a worker thread's script from where the calling module runs: the compiled
 * `<name>.js` beside it (electron-vite builds every worker as its own main-process entry into
 * out/main, beside the bundle), else the TypeScript source `<source>` through the tsx bootstrap
 * `worker-bootstrap.mjs` (CLI, tests, browser mode from the source tree). Null when neither exists,
 * e.g. inside a single-file bundle: callers then do the work inline, or use `requireWorkerScript`.
 *
 * @param from the caller's `import.meta.url`
 * @param name the built entry's name, e.g. `sim-worker`
 * @param source the source file relative to `from`, e.g. `./sim-worker.ts`
 */
export function workerScript(from: string, name: string, source: string): WorkerScript | null {
  const built = fileURLToPath(new URL(`./${name}.js`, from));
  if (existsSync(built)) return { filename: built, argv: [] };
  const ts = new URL(source, from);
  const bootstrap = fileURLToPath(new URL('./worker-bootstrap.mjs', import.meta.url));
  if (!existsSync(fileURLToPath(ts)) || !existsSync(bootstrap) || !hasTsx()) return null;
  return { filename: bootstrap, argv: [SOURCE_FLAG, ts.href] };
}

/** Like `workerScript`, but throws naming both places it looked when the worker is in neither. */
export function requireWorkerScript(from: string, name: string, source: string): WorkerScript {
  const script = workerScript(from, name, source);
  if (script) return script;
  const built = fileURLToPath(new URL(`./${name}.js`, from));
  const ts = fileURLToPath(new URL(source, from));
  throw new Error(`${name} not found: neither ${built} (built entry) nor ${ts} (source tree, through tsx) exists`);
}
