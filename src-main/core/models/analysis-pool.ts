import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { AnalysisOptions } from '../contract/models';
import type { CompileProgress } from '../engine/compile';
import type { McuProfile } from '../common/mcu-profile';
import type { AnalyzeResult, BuildResult, InspectResult } from './worker/analysis-task';
import type { BuildTask } from './worker/build-task';

/**
 * The worker script: `model-worker.js` beside this module when a bundler built the worker as its own
 * entry (electron-vite: entry `model-worker` = worker/analysis-task.ts), else the source tree's
 * tsx entry. Throws naming both places when neither exists, rather than failing on the first task.
 */
function workerFilename(): string {
  const bundled = fileURLToPath(new URL('./model-worker.js', import.meta.url));
  if (existsSync(bundled)) return bundled;
  const source = fileURLToPath(new URL('./worker/entry.mjs', import.meta.url));
  if (existsSync(source)) return source;
  throw new Error(`model worker not found: neither ${bundled} (bundled) nor ${source} (source tree) exists`);
}

/** Options of the model worker pool. */
export interface ModelPoolOptions {
  /** Worker threads (default 1: the app shares its cores with the broker, the fleet and the UI). */
  maxThreads?: number;
}

/**
 * Runs TFLite parsing and compilation in worker threads (piscina) so that the core's thread stays
 * responsive however large the model; progress comes back over a MessagePort and an abort
 * terminates the task's worker.
 */
export class ModelWorkerPool {
  private readonly pool: Piscina;

  constructor(options: ModelPoolOptions = {}) {
    this.pool = new Piscina({
      filename: workerFilename(),
      minThreads: 0,
      maxThreads: options.maxThreads ?? 1,
      idleTimeout: 10_000,
    });
  }

  /** Parses model bytes and summarizes the graph, or says why the file is refused. */
  async inspect(bytes: Uint8Array, name: string, signal?: AbortSignal): Promise<InspectResult> {
    return (await this.pool.run({ kind: 'inspect', bytes, name }, { signal })) as InspectResult;
  }

  /** Compiles a stored model file. Rejects with an AbortError when `signal` fires. */
  async analyze(
    file: string,
    name: string,
    options: AnalysisOptions,
    profiles: McuProfile[],
    opts: { signal?: AbortSignal; onProgress?: (p: CompileProgress) => void } = {},
  ): Promise<AnalyzeResult> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (p: CompileProgress) => opts.onProgress?.(p));
    try {
      return (await this.pool.run({ kind: 'analyze', file, name, options, profiles, progress: port2 }, { transferList: [port2], signal: opts.signal })) as AnalyzeResult;
    } finally {
      port1.close();
    }
  }

  /** Builds a stored model for an MCU (C bundle, cross compile, signed package). */
  async build(task: Omit<BuildTask, 'kind'>, signal?: AbortSignal): Promise<BuildResult> {
    return (await this.pool.run({ ...task, kind: 'build' }, { signal })) as BuildResult;
  }

  /** Stops the workers (running tasks are aborted). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
