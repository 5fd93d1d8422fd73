import type { AnalysisOptions } from '../contract/models';
import type { CompileProgress } from '../engine/compile';
import type { McuProfile } from '../common/mcu-profile';
import { WorkerPool } from '../platform/worker-pool';
import { requireWorkerScript } from '../platform/worker-script';
import type { AnalyzeResult, BuildResult, InspectResult } from './worker/analysis-task';
import type { BuildTask } from './worker/build-task';

/** Options of the model worker pool. */
export interface ModelPoolOptions {
  /** Worker threads (default 1: the app shares its cores with the broker, the fleet and the UI). */
  maxThreads?: number;
}

/**
 * Runs TFLite parsing and compilation in worker threads so that the core's thread stays responsive
 * however large the model; progress comes back over a MessagePort and an abort terminates the
 * task's worker. The worker is `model-worker.js` beside the bundle (electron-vite entry
 * `model-worker` = worker/analysis-task.ts), else that source through tsx; a pool without either
 * fails when it is created, naming both places.
 */
export class ModelWorkerPool {
  private readonly pool: WorkerPool;

  constructor(options: ModelPoolOptions = {}) {
    this.pool = new WorkerPool(requireWorkerScript(import.meta.url, 'model-worker', './worker/analysis-task.ts'), { maxThreads: options.maxThreads, idleTimeout: 10_000 });
  }

  /** Parses model bytes and summarizes the graph, or says why the file is refused. */
  inspect(bytes: Uint8Array, name: string, signal?: AbortSignal): Promise<InspectResult> {
    return this.pool.run({ kind: 'inspect', bytes, name }, { signal });
  }

  /** Compiles a stored model file. Rejects with an AbortError when `signal` fires. */
  analyze(
    file: string,
    name: string,
    options: AnalysisOptions,
    profiles: McuProfile[],
    opts: { signal?: AbortSignal; onProgress?: (p: CompileProgress) => void } = {},
  ): Promise<AnalyzeResult> {
    return this.pool.runWithProgress((progress) => ({ kind: 'analyze', file, name, options, profiles, progress }), opts);
  }

  /** Builds a stored model for an MCU (C bundle, cross compile, signed package). */
  build(task: Omit<BuildTask, 'kind'>, signal?: AbortSignal): Promise<BuildResult> {
    return this.pool.run({ ...task, kind: 'build' }, { signal });
  }

  /** Stops the workers (running tasks are aborted). */
  close(): Promise<void> {
    return this.pool.close();
  }
}
