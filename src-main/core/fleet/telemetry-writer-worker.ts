/**
 * Worker-thread side of WorkerTelemetryWriter: its own SQLite connection to the app's database
 * (WAL lets it write while the main thread reads), one transaction per batch, in arrival order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Store, type StoreOptions } from '../store';
import { writeTelemetryBatch, type TelemetryBatch } from './telemetry-writer';

/** Messages from the main thread. */
export type WriterRequest = { kind: 'write'; id: number; batch: TelemetryBatch } | { kind: 'close' };
/** Answers to the main thread. */
export type WriterReply = { kind: 'written'; id: number; storedAt: number } | { kind: 'failed'; id: number; message: string } | { kind: 'closed' };

const port = parentPort;
if (!port) throw new Error('telemetry-writer-worker must run in a worker thread');
const { file, ...options } = workerData as { file: string } & StoreOptions;
const store = Store.openFile(file, options);

/**
 * Batches that arrive while one is written wait and are then written together, in one
 * transaction: a writer that fell behind catches up with fewer commits, and holds SQLite's write
 * lock in fewer, separate stretches, so the app's own writes get their turn.
 */
let waiting: Array<{ id: number; batch: TelemetryBatch }> = [];
let scheduled = false;

function writeWaiting(): void {
  scheduled = false;
  const group = waiting;
  waiting = [];
  try {
    store.transaction(() => {
      for (const { batch } of group) writeTelemetryBatch(store, batch);
    });
    const storedAt = Date.now();
    for (const { id } of group) port!.postMessage({ kind: 'written', id, storedAt } satisfies WriterReply);
  } catch {
    // One bad batch must not take the others with it: write them one by one.
    for (const { id, batch } of group) {
      try {
        writeTelemetryBatch(store, batch);
        port!.postMessage({ kind: 'written', id, storedAt: Date.now() } satisfies WriterReply);
      } catch (err) {
        port!.postMessage({ kind: 'failed', id, message: (err as Error).message } satisfies WriterReply);
      }
    }
  }
}

port.on('message', (req: WriterRequest) => {
  if (req.kind === 'close') {
    if (waiting.length) writeWaiting();
    store.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply);
    return;
  }
  waiting.push({ id: req.id, batch: req.batch });
  if (!scheduled) {
    scheduled = true;
    setImmediate(writeWaiting);
  }
});
