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

port.on('message', (req: WriterRequest) => {
  if (req.kind === 'close') {
    store.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply);
    return;
  }
  try {
    writeTelemetryBatch(store, req.batch);
    port.postMessage({ kind: 'written', id: req.id, storedAt: Date.now() } satisfies WriterReply);
  } catch (err) {
    port.postMessage({ kind: 'failed', id: req.id, message: (err as Error).message } satisfies WriterReply);
  }
});
