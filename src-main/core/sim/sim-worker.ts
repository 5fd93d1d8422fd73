/**
 * Worker-thread side of WorkerSimEngine: runs an InlineSimEngine and answers requests from the
 * main thread. Started by WorkerSimEngine only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InlineSimEngine } from './sim-engine';
import type { SimWorkerData, WorkerReply, WorkerRequest } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('sim-worker must run in a worker thread');
const data = workerData as SimWorkerData;
const engine = new InlineSimEngine(data.brokerUrl, data.updates);

/** State updates are coalesced: at most one per STATE_MS. */
const STATE_MS = 100;
let stateTimer: NodeJS.Timeout | null = null;
const postState = (): void => {
  if (stateTimer) clearTimeout(stateTimer);
  stateTimer = null;
  port.postMessage({ kind: 'state', groups: engine.groups(), stats: engine.stats() } satisfies WorkerReply);
};
engine.onChange(() => {
  stateTimer ??= setTimeout(postState, STATE_MS);
});

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case 'start':
      return engine.start(req.groupId, req.config, req.credentials, req.profiles, (progress) =>
        port!.postMessage({ kind: 'progress', id: req.id, progress } satisfies WorkerReply),
      );
    case 'stop':
      return engine.stop(req.groupId);
    case 'setFaults':
      return engine.setFaults(req.groupId, req.faults, req.deviceIds);
    case 'inject':
      return engine.inject(req.deviceId, req.fault);
    case 'dispose':
      return engine.dispose();
  }
}

port.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (value) => {
      postState(); // the mirror is current before the caller sees the answer
      port.postMessage({ kind: 'reply', id: req.id, ok: true, value } satisfies WorkerReply);
    },
    (err: unknown) => {
      postState();
      port.postMessage({ kind: 'reply', id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
    },
  );
});
