import type { Model } from '../../engine/ir';
import { WorkerPool } from '../../platform/worker-pool';
import { requireWorkerScript } from '../../platform/worker-script';
import type { BaseModelRecipe } from '../base-model';
import type { FloatProgress } from '../float/trainer';
import type { SparseProgress } from '../sparse/trainer';
import type { BaseModelTaskResult } from './base-model-task';
import type { LocalTask, LocalTaskResult } from './local-task';
import { encodeModel } from '../quant/model-io';
import type { TrainingJob } from './training-task';
import type { CalibrationProgress } from './calibration-task';
import type { Contributions } from '../scheme/search';

/** Options of the training pool. */
export interface TrainingPoolOptions {
  /** Worker threads (default 1: float training of one model is single-threaded). */
  maxThreads?: number;
}

/**
 * Runs training in worker threads so that the app's main thread stays responsive: base-model
 * training, devices' local sparse updates, the server-side evaluation of new versions and scheme
 * calibrations. Progress comes back over a MessagePort, cancellation
 * aborts the task. The worker is `training-worker.js` beside the bundle (electron-vite entry
 * `training-worker` = training-task.ts), else that source through tsx.
 */
export class TrainingPool {
  private readonly pool: WorkerPool;

  constructor(options: TrainingPoolOptions = {}) {
    this.pool = new WorkerPool(requireWorkerScript(import.meta.url, 'training-worker', './training-task.ts'), { maxThreads: options.maxThreads, idleTimeout: 5_000 });
  }

  /** Trains a base model in a worker. Rejects with an AbortError when `signal` fires. */
  trainBase(recipe: BaseModelRecipe, opts: { signal?: AbortSignal; onProgress?: (p: FloatProgress) => void } = {}): Promise<BaseModelTaskResult> {
    return this.pool.runWithProgress((progress) => ({ kind: 'base', task: { recipe, progress } }) satisfies TrainingJob, opts);
  }

  /**
   * Runs one simulated device's local sparse update in a worker (several run in parallel up to
   * `maxThreads`). Rejects with an AbortError when `signal` fires.
   */
  trainLocal(task: Omit<LocalTask, 'progress'>, opts: { signal?: AbortSignal; onProgress?: (p: SparseProgress) => void } = {}): Promise<LocalTaskResult> {
    return this.pool.runWithProgress((progress) => ({ kind: 'local', task: { ...task, progress } }) satisfies TrainingJob, opts);
  }

  /** A model's accuracy on the server-side test split (evaluateOnServer), in a worker; null for an unknown task. */
  evaluate(model: Model): Promise<number | null> {
    return this.pool.run({ kind: 'evaluate', task: { modelFile: encodeModel(model) } } satisfies TrainingJob);
  }

  /**
   * Measures a model's scheme contributions on calibration data in a worker (the scheme search's
   * input; progress counts trial runs). Rejects with an AbortError when `signal` fires, and naming
   * the problem when the model's task is unknown.
   */
  calibrate(model: Model, opts: { signal?: AbortSignal; onProgress?: (p: CalibrationProgress) => void } = {}): Promise<Contributions> {
    return this.pool.runWithProgress((progress) => ({ kind: 'calibrate', task: { modelFile: encodeModel(model), progress } }) satisfies TrainingJob, opts);
  }

  /** Stops the workers (running tasks are aborted). */
  close(): Promise<void> {
    return this.pool.close();
  }
}
