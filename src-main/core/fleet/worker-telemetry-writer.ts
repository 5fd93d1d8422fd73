import { Worker } from 'node:worker_threads';
import { workerScript, type WorkerScript } from '../platform/worker-script';
import type { Store } from '../store';
import type { TelemetryBatch, TelemetryWriter } from './telemetry-writer';
import type { WriterReply, WriterRequest } from './telemetry-writer-worker';

/** The writer worker: `telemetry-writer-worker.js` in a build, the source through tsx otherwise. */
const writerScript = (): WorkerScript | null => workerScript(import.meta.url, 'telemetry-writer-worker', './telemetry-writer-worker.ts');

/**
 * Writes telemetry batches in a worker thread with its own connection to the app's database, so
 * SQLite's work for 10,000 samples a second (index updates, WAL writes, checkpoints) stays off the
 * thread that runs the broker, the fleet service and the API.
 */
export class WorkerTelemetryWriter implements TelemetryWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (storedAt: number) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private closed: Promise<void> | null = null;
  private failure: Error | null = null;

  /** A writer for this store, or null when it cannot have one (an in-memory store, no worker script in this build). */
  static forStore(store: Store): WorkerTelemetryWriter | null {
    const script = writerScript();
    if (!script || store.location.file === ':memory:') return null;
    return new WorkerTelemetryWriter(script, store.location);
  }

  private constructor(script: WorkerScript, location: Store['location']) {
    this.worker = new Worker(script.filename, { argv: script.argv, workerData: location });
    this.worker.on('message', (msg: WriterReply) => {
      if (msg.kind === 'closed') return;
      const pending = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.kind === 'written') pending?.resolve(msg.storedAt);
      else pending?.reject(new Error(`cannot store telemetry: ${msg.message}`));
    });
    this.worker.on('error', (err) => this.fail(new Error(`the telemetry writer failed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`the telemetry writer stopped (code ${code})`)));
  }

  write(batch: TelemetryBatch): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the telemetry writer is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'write', id, batch } satisfies WriterRequest);
    });
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.failure) {
        await this.worker.terminate();
        return;
      }
      // Messages are handled in order: 'closed' comes after every batch sent before it.
      const done = new Promise<void>((resolve) => this.worker.on('message', (msg: WriterReply) => msg.kind === 'closed' && resolve()));
      this.worker.postMessage({ kind: 'close' } satisfies WriterRequest);
      await done;
      await this.worker.terminate();
    })();
    return this.closed;
  }

  private fail(err: Error): void {
    if (this.closed && this.pending.size === 0) return;
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
