import { MessageChannel, type MessagePort, type Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { WorkerScript } from './worker-script';

/** Options of a worker pool. */
export interface WorkerPoolOptions {
  /** Worker threads (default 1: the app shares its cores with the broker, the fleet and the UI). */
  maxThreads?: number;
  /** How long an idle worker lives before it exits, in ms. */
  idleTimeout: number;
}

/**
 * A piscina pool of worker threads running one worker script (see `workerScript`): the one place
 * the core builds a pool, so compute (model analysis and builds, training) runs the same way from the
 * source tree and from a built app. Workers start on demand and exit when idle; an aborted task
 * terminates its worker.
 */
export class WorkerPool {
  private readonly pool: Piscina;

  constructor(script: WorkerScript, options: WorkerPoolOptions) {
    this.pool = new Piscina({
      filename: script.filename,
      argv: script.argv,
      minThreads: 0,
      maxThreads: options.maxThreads ?? 1,
      idleTimeout: options.idleTimeout,
    });
  }

  /** Runs one task. Rejects with an AbortError when `signal` fires. */
  async run<T>(task: object, opts: { signal?: AbortSignal; transferList?: Transferable[] } = {}): Promise<T> {
    return (await this.pool.run(task, { signal: opts.signal, transferList: opts.transferList as never })) as T;
  }

  /**
   * Runs one task that reports progress over a MessagePort: `task` gets the port to put in the task
   * (it is transferred), and each message it posts reaches `onProgress`.
   */
  async runWithProgress<T, P>(task: (progress: MessagePort) => object, opts: { signal?: AbortSignal; onProgress?: (p: P) => void } = {}): Promise<T> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (p: P) => opts.onProgress?.(p));
    try {
      return await this.run<T>(task(port2), { signal: opts.signal, transferList: [port2] });
    } finally {
      port1.close();
    }
  }

  /** Stops the workers (running tasks are aborted). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
