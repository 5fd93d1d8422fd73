import { Worker } from 'node:worker_threads';
import type { FaultConfig, SimGroupConfig } from '../contract/sim';
import type { McuProfile } from '../common/mcu-profile';
import { workerScript, type WorkerScript } from '../platform/worker-script';
import type { SimCredential } from './credentials';
import type { SimStats } from './sim-device';
import type { GroupSnapshot, InjectResult, SimEngine } from './sim-engine';
import type { GroupProgress } from './sim-runtime';
import type { SimUpdateSetup } from './sim-updates';
import type { SimWorkerData, WorkerReply, WorkerRequest } from './worker-protocol';

type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: (p: GroupProgress) => void;
}

const EMPTY_STATS: SimStats = {
  telemetryPublished: 0,
  telemetryDropped: 0,
  commandsAnswered: 0,
  connects: 0,
  connectFailures: 0,
  disconnects: 0,
  powerLosses: 0,
  lastError: null,
};

/** The simulator worker: `sim-worker.js` in a build, the source through tsx otherwise. */
const simWorkerScript = (): WorkerScript | null => workerScript(import.meta.url, 'sim-worker', './sim-worker.ts');

/**
 * Runs the simulated devices in a worker thread: their MQTT clients, timers and JSON never touch
 * the thread of the broker and the ingest (their self-tests and inferences run in a pool of the
 * worker's own, see InlineSimEngine). Mirrors the worker's groups and counters for
 * synchronous reads.
 */
export class WorkerSimEngine implements SimEngine {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<() => void>();
  private nextId = 1;
  private mirror: { groups: GroupSnapshot[]; stats: SimStats } = { groups: [], stats: EMPTY_STATS };
  private failure: Error | null = null;

  /** True when the worker script can be found from this build. */
  static available(): boolean {
    return simWorkerScript() !== null;
  }

  constructor(brokerUrl: string, updates?: SimUpdateSetup) {
    const script = simWorkerScript();
    if (!script) throw new Error('the simulator worker script is not part of this build');
    this.worker = new Worker(script.filename, { argv: script.argv, workerData: { brokerUrl, updates } satisfies SimWorkerData });
    this.worker.on('message', (msg: WorkerReply) => this.onMessage(msg));
    this.worker.on('error', (err) => this.fail(new Error(`simulator worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`simulator worker exited (code ${code})`)));
  }

  start(groupId: string, config: SimGroupConfig, credentials: SimCredential[], profiles: McuProfile[], onProgress?: (p: GroupProgress) => void): Promise<GroupSnapshot> {
    return this.request({ op: 'start', groupId, config, credentials, profiles }, onProgress) as Promise<GroupSnapshot>;
  }

  async stop(groupId: string): Promise<void> {
    await this.request({ op: 'stop', groupId });
  }

  setFaults(groupId: string, faults: FaultConfig, deviceIds?: string[]): Promise<GroupSnapshot> {
    return this.request({ op: 'setFaults', groupId, faults, deviceIds }) as Promise<GroupSnapshot>;
  }

  inject(deviceId: string, fault: 'disconnect' | 'power_loss'): Promise<InjectResult> {
    return this.request({ op: 'inject', deviceId, fault }) as Promise<InjectResult>;
  }

  groups(): GroupSnapshot[] {
    return this.mirror.groups;
  }

  stats(): SimStats {
    return this.mirror.stats;
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  async dispose(): Promise<void> {
    if (!this.failure) {
      await this.request({ op: 'dispose' }).catch(() => undefined);
    }
    this.listeners.clear();
    await this.worker.terminate();
  }

  private request(body: RequestBody, onProgress?: (p: GroupProgress) => void): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  private onMessage(msg: WorkerReply): void {
    if (msg.kind === 'state') {
      this.mirror = { groups: msg.groups, stats: msg.stats };
      for (const l of this.listeners) l();
    } else if (msg.kind === 'progress') {
      this.pending.get(msg.id)?.onProgress?.(msg.progress);
    } else {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error));
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.mirror = { groups: [], stats: this.mirror.stats };
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const l of this.listeners) l();
  }
}
