import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FaultConfig, SimGroupConfig } from '../contract/sim';
import type { McuProfile } from '../engine/mcu-profiles';
import type { SimCredential } from './credentials';
import type { SimStats } from './sim-device';
import type { GroupSnapshot, InjectResult, SimEngine } from './sim-engine';
import type { GroupProgress } from './sim-runtime';
import type { WorkerReply, WorkerRequest } from './worker-protocol';

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

/** URL of tsx's ESM API (its CJS build cannot register hooks from an eval worker). */
function tsxEsmApi(): string | null {
  try {
    if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  } catch {
    // fall through to require.resolve (e.g. under a test runner without import.meta.resolve)
  }
  try {
    const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
    const mjs = cjs.replace(/\.cjs$/, '.mjs');
    return existsSync(mjs) ? pathToFileURL(mjs).href : null;
  } catch {
    return null;
  }
}

/**
 * How to start the simulator worker from where this module runs: a compiled `sim-worker.js` next to
 * it, or the TypeScript source through tsx (CLI, tests, browser mode from the source tree). Null
 * when neither exists, e.g. inside a single-file bundle: the simulator then runs inline.
 */
function workerScript(): { code: string; eval: boolean } | null {
  const js = new URL('./sim-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { code: fileURLToPath(js), eval: false };
  const ts = new URL('./sim-worker.ts', import.meta.url);
  if (!existsSync(fileURLToPath(ts))) return null;
  const tsxApi = tsxEsmApi();
  if (!tsxApi) return null;
  // tsx hooks registered in this thread do not reach workers: register them inside the worker.
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(ts.href)}); });`;
  return { code, eval: true };
}

/**
 * Runs the simulated devices in a worker thread: their MQTT clients, timers and JSON never touch
 * the thread of the broker and the ingest. Mirrors the worker's groups and counters for
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
    return workerScript() !== null;
  }

  constructor(brokerUrl: string) {
    const script = workerScript();
    if (!script) throw new Error('the simulator worker script is not part of this build');
    this.worker = new Worker(script.code, { eval: script.eval, workerData: { brokerUrl } });
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
