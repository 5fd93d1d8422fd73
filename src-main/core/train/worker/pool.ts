import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { BaseModelRecipe } from '../base-model';
import type { FloatProgress } from '../float/trainer';
import type { BaseModelTaskResult } from './base-model-task';
import type { LocalTask, LocalTaskResult } from './local-task';
import type { SparseProgress } from '../sparse/trainer';

/** Options of the training pool. */
export interface TrainingPoolOptions {
  /** Worker threads (default 1: float training of one model is single-threaded). */
  maxThreads?: number;
}

/**
 * Runs training in worker threads (piscina) so that the app's main thread stays responsive:
 * base-model training and devices' local sparse updates. Progress comes back over a MessagePort,
 * cancellation aborts the task.
 */
export class TrainingPool {
  private readonly pool: Piscina;

  constructor(options: TrainingPoolOptions = {}) {
    const threads = options.maxThreads ?? 1;
    this.pool = new Piscina({ filename: fileURLToPath(new URL('./entry.mjs', import.meta.url)), minThreads: 0, maxThreads: threads, idleTimeout: 5_000 });
  }

  /** Trains a base model in a worker. Rejects with an AbortError when `signal` fires. */
  async trainBase(recipe: BaseModelRecipe, opts: { signal?: AbortSignal; onProgress?: (p: FloatProgress) => void } = {}): Promise<BaseModelTaskResult> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (p: FloatProgress) => opts.onProgress?.(p));
    try {
      return (await this.pool.run({ kind: 'base', task: { recipe, progress: port2 } }, { transferList: [port2], signal: opts.signal })) as BaseModelTaskResult;
    } finally {
      port1.close();
    }
  }

  /**
   * Runs one simulated device's local sparse update in a worker (several run in parallel up to
   * `maxThreads`). Rejects with an AbortError when `signal` fires.
   */
  async trainLocal(task: Omit<LocalTask, 'progress'>, opts: { signal?: AbortSignal; onProgress?: (p: SparseProgress) => void } = {}): Promise<LocalTaskResult> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (p: SparseProgress) => opts.onProgress?.(p));
    try {
      return (await this.pool.run({ kind: 'local', task: { ...task, progress: port2 } }, { transferList: [port2], signal: opts.signal })) as LocalTaskResult;
    } finally {
      port1.close();
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
