import { AppError } from '../common/errors';
import { openFilesLimit } from '../platform/open-files-limit';
import type { FaultConfig, SimGroup, SimGroupConfig, SimStatus } from '../contract/sim';
import type { McuProfile } from '../common/mcu-profile';
import type { EventSink } from '../common/event-sink';
import type { Events } from '../contract';
import type { DeviceProvisioner, SimDeviceSpec } from './credentials';
import type { SimStats } from './sim-device';
import { InlineSimEngine, type GroupSnapshot, type SimEngine } from './sim-engine';
import type { GroupProgress } from './sim-runtime';
import type { SimUpdateSetup } from './sim-updates';
import { WorkerSimEngine } from './worker-sim-engine';

/** Tag every simulated device carries in the registry. */
export const SIM_TAG = 'sim';
/** `sim.status` events are coalesced to at most one per this many ms. */
const STATUS_EVENT_MS = 250;

/** Where the devices run: a worker thread (default when this build has the worker script) or inline. */
export type SimEngineMode = 'worker' | 'inline';

export interface SimulatorServiceOptions {
  /** URL of the broker the devices connect to (the embedded broker's, usually); read at each start. */
  brokerUrl: () => string;
  provisioner: DeviceProvisioner;
  profiles: readonly McuProfile[];
  events?: EventSink<Events>;
  engine?: SimEngineMode;
  /** Model updates for every device (protocol v1.1): slot storage and the installation's key. */
  updates?: SimUpdateSetup;
}

/** Options of one start. */
export interface StartOptions {
  signal?: AbortSignal;
  onProgress?: (progress: GroupProgress) => void;
}

/**
 * The simulator as the app runs it: provisions a group of simulated devices through the fleet
 * registry, runs them against the broker (in a worker thread, so ten thousand MQTT clients do not
 * slow the broker and the ingest), and reports `sim.status` events. Group ids are the groups' name
 * prefixes; device ids are `<prefix>-00001`, `<prefix>-00002`, ...
 */
export class SimulatorService {
  private engine: SimEngine | null = null;
  private engineUrl = '';
  /** Groups being provisioned or connecting, so stop can cancel them. */
  private readonly starting = new Map<string, AbortController>();
  private statusTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(private readonly options: SimulatorServiceOptions) {}

  /** Where devices run in this process. */
  get engineMode(): SimEngineMode {
    return this.options.engine ?? (WorkerSimEngine.available() ? 'worker' : 'inline');
  }

  /** Running groups and connection counts. */
  status(): SimStatus {
    const groups = (this.engine?.groups() ?? []).filter((g) => !g.stopping).map(toSimGroup);
    let connected = 0;
    let total = 0;
    for (const g of groups) {
      connected += g.connected;
      total += g.total;
    }
    return { groups, connected, total };
  }

  /** Counters of the device runtime (published telemetry, faults, last error). */
  stats(): SimStats | null {
    return this.engine?.stats() ?? null;
  }

  /**
   * Provisions and starts a group; resolves when every device made its first connection attempt.
   * Rejects with CANCELLED when the group is stopped (or `signal` aborts) before that.
   */
  async start(config: SimGroupConfig, options: StartOptions = {}): Promise<SimGroup> {
    if (this.disposed) throw new AppError('UNAVAILABLE', 'the simulator has been shut down');
    const groupId = config.namePrefix;
    if (this.starting.has(groupId) || this.engine?.groups().some((g) => g.id === groupId)) {
      throw new AppError('CONFLICT', `a simulated group with prefix "${groupId}" is already running; stop it or pick another prefix`);
    }
    this.checkDescriptors(config.count);
    const profiles = this.pickProfiles(config.profiles);
    const abort = new AbortController();
    const onAbort = (): void => void this.stop(groupId).catch(() => undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.starting.set(groupId, abort);
    try {
      const width = Math.max(5, String(config.count).length);
      const specs: SimDeviceSpec[] = Array.from({ length: config.count }, (_, i) => {
        const n = String(i + 1).padStart(width, '0');
        return { id: `${groupId}-${n}`, name: `${groupId} ${n}`, mcu: profiles[i % profiles.length].id, tags: [...new Set([SIM_TAG, ...config.tags])] };
      });
      const credentials = await this.options.provisioner.provisionSimulated(specs, abort.signal);
      if (abort.signal.aborted) throw cancelled(groupId);
      const engine = this.ensureEngine();
      const group = await engine.start(groupId, config, credentials, [...this.options.profiles], (p) => {
        options.onProgress?.(p);
        this.statusChanged();
      });
      if (group.stopping || abort.signal.aborted) throw cancelled(groupId);
      return toSimGroup(group);
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (abort.signal.aborted) throw cancelled(groupId);
      throw new AppError('BAD_REQUEST', err instanceof Error ? err.message : String(err));
    } finally {
      this.starting.delete(groupId);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops every group before the app switches brokers and returns how to start each again: the
   * devices follow the app to the new broker (`brokerUrl` then names it).
   */
  async leaveBroker(): Promise<Array<() => Promise<SimGroup>>> {
    const running = this.status().groups.map((g) => g.config);
    if (running.length > 0) await this.stop();
    return running.map((config) => () => this.start(config));
  }

  /** Stops one group (or all); its devices go offline gracefully. A start in progress is cancelled. */
  async stop(groupId?: string): Promise<SimStatus> {
    const running = this.engine?.groups().map((g) => g.id) ?? [];
    const ids = groupId === undefined ? [...new Set([...running, ...this.starting.keys()])] : [groupId];
    if (groupId !== undefined && !running.includes(groupId) && !this.starting.has(groupId)) {
      throw new AppError('NOT_FOUND', `no simulated group "${groupId}"`);
    }
    for (const id of ids) this.starting.get(id)?.abort();
    const engine = this.engine;
    if (engine) await Promise.all(ids.filter((id) => running.includes(id)).map((id) => engine.stop(id)));
    this.statusChanged();
    return this.status();
  }

  /** Changes the faults of a group or of some of its devices. */
  async setFaults(groupId: string, faults: FaultConfig, deviceIds?: readonly string[]): Promise<SimGroup> {
    const engine = this.engine;
    if (!engine?.groups().some((g) => g.id === groupId)) throw new AppError('NOT_FOUND', `no simulated group "${groupId}"`);
    try {
      const group = await engine.setFaults(groupId, faults, deviceIds ? [...deviceIds] : undefined);
      this.statusChanged();
      return toSimGroup(group);
    } catch (err) {
      throw new AppError('BAD_REQUEST', err instanceof Error ? err.message : String(err));
    }
  }

  /** A one-shot disconnect or power loss on one simulated device; ok false when it is not online. */
  async inject(deviceId: string, fault: 'disconnect' | 'power_loss'): Promise<{ ok: boolean }> {
    const result = this.engine ? await this.engine.inject(deviceId, fault) : 'unknown_device';
    if (result === 'unknown_device') throw new AppError('NOT_FOUND', `"${deviceId}" is not a running simulated device`);
    return { ok: result === 'ok' };
  }

  /** Stops every group and releases timers and the worker. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const abort of this.starting.values()) abort.abort();
    await this.engine?.dispose();
    this.engine = null;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
  }

  /**
   * Each in-app simulated device holds a socket here and, with the embedded broker, another one in
   * the same process: refuse a fleet that would run this process out of file descriptors (it would
   * fail later, with EMFILE somewhere unrelated) and say what to do instead.
   */
  private checkDescriptors(count: number): void {
    const limit = openFilesLimit();
    if (limit === null) return;
    const running = this.engine?.groups().reduce((n, g) => n + g.total, 0) ?? 0;
    const needed = 2 * (running + count) + DESCRIPTOR_RESERVE;
    if (needed > limit) {
      const fits = Math.max(0, Math.floor((limit - DESCRIPTOR_RESERVE) / 2) - running);
      throw new AppError(
        'BAD_REQUEST',
        `${count} more simulated devices need about ${needed} open files in this process, over its limit of ${limit} (ulimit -n); ` +
          `start at most ${fits} here, or run a large fleet as its own process: tinyfleet sim --data-dir DIR --broker URL --count N`,
      );
    }
  }

  private pickProfiles(ids: readonly string[]): readonly McuProfile[] {
    const all = this.options.profiles;
    if (ids.length === 0) return all;
    return ids.map((id) => {
      const p = all.find((q) => q.id === id);
      if (!p) throw new AppError('BAD_REQUEST', `unknown MCU profile "${id}" (known: ${all.map((q) => q.id).join(', ')})`);
      return p;
    });
  }

  private ensureEngine(): SimEngine {
    const url = this.options.brokerUrl();
    if (this.engine && this.engineUrl !== url && this.engine.groups().length === 0) {
      void this.engine.dispose();
      this.engine = null;
    }
    if (!this.engine) {
      const { updates } = this.options;
      this.engine = this.engineMode === 'worker' ? new WorkerSimEngine(url, updates) : new InlineSimEngine(url, updates);
      this.engine.onChange(() => this.statusChanged());
      this.engineUrl = url;
    }
    return this.engine;
  }

  private statusChanged(): void {
    if (!this.options.events || this.statusTimer || this.disposed) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.options.events?.emit('sim.status', this.status());
    }, STATUS_EVENT_MS);
  }
}

/** Descriptors kept for everything else (database, HTTP and WebSocket clients, workers, files). */
const DESCRIPTOR_RESERVE = 1024;

function cancelled(groupId: string): AppError {
  return new AppError('CANCELLED', `starting simulated group "${groupId}" was cancelled`);
}

function toSimGroup(group: GroupSnapshot): SimGroup {
  return { id: group.id, config: group.config, startedAt: group.startedAt, connected: group.connected, total: group.total };
}
