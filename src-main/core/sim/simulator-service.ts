import { AppError } from '../contract/errors';
import type { FaultConfig, SimGroup, SimGroupConfig, SimStatus } from '../contract/sim';
import type { McuProfile } from '../engine/mcu-profiles';
import type { EventSink } from '../host/event-sink';
import type { DeviceProvisioner, SimDeviceSpec } from './credentials';
import { SimRuntime, type GroupProgress, type RuntimeGroup } from './sim-runtime';

/** Tag every simulated device carries in the registry. */
export const SIM_TAG = 'sim';
/** `sim.status` events are coalesced to at most one per this many ms. */
const STATUS_EVENT_MS = 250;

export interface SimulatorServiceOptions {
  /** URL of the broker the devices connect to (the embedded broker's, usually); read at each start. */
  brokerUrl: () => string;
  provisioner: DeviceProvisioner;
  profiles: readonly McuProfile[];
  events?: EventSink;
}

/** Options of one start. */
export interface StartOptions {
  signal?: AbortSignal;
  onProgress?: (progress: GroupProgress) => void;
}

/**
 * The simulator as the app runs it: provisions a group of simulated devices through the fleet
 * registry, runs them against the broker, and reports `sim.status` events. Group ids are the
 * groups' name prefixes; device ids are `<prefix>-00001`, `<prefix>-00002`, ...
 */
export class SimulatorService {
  private runtime: SimRuntime | null = null;
  private runtimeUrl = '';
  /** Groups being provisioned (not yet in the runtime), so stop can cancel them. */
  private readonly provisioning = new Map<string, AbortController>();
  private statusTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(private readonly options: SimulatorServiceOptions) {}

  /** Running groups and connection counts. */
  status(): SimStatus {
    const groups = this.runtime?.list().map(toSimGroup) ?? [];
    const counts = this.runtime?.counts() ?? { connected: 0, total: 0 };
    return { groups, ...counts };
  }

  /**
   * Provisions and starts a group; resolves when every device made its first connection attempt.
   * Rejects with CANCELLED when the group is stopped (or `signal` aborts) before that.
   */
  async start(config: SimGroupConfig, options: StartOptions = {}): Promise<SimGroup> {
    if (this.disposed) throw new AppError('UNAVAILABLE', 'the simulator has been shut down');
    const groupId = config.namePrefix;
    if (this.provisioning.has(groupId) || this.runtime?.get(groupId)) {
      throw new AppError('CONFLICT', `a simulated group with prefix "${groupId}" is already running; stop it or pick another prefix`);
    }
    const profiles = this.pickProfiles(config.profiles);
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.provisioning.set(groupId, abort);
    try {
      const width = Math.max(5, String(config.count).length);
      const specs: SimDeviceSpec[] = Array.from({ length: config.count }, (_, i) => {
        const n = String(i + 1).padStart(width, '0');
        return { id: `${groupId}-${n}`, name: `${groupId} ${n}`, mcu: profiles[i % profiles.length].id, tags: [...new Set([SIM_TAG, ...config.tags])] };
      });
      const credentials = await this.options.provisioner.provisionSimulated(specs, abort.signal);
      if (abort.signal.aborted) throw new AppError('CANCELLED', `starting simulated group "${groupId}" was cancelled`);
      const runtime = this.ensureRuntime();
      this.provisioning.delete(groupId);
      const started = runtime.start(groupId, config, credentials, this.options.profiles, (p) => {
        options.onProgress?.(p);
        this.statusChanged();
      });
      const cancel = (): void => void this.stop(groupId);
      abort.signal.addEventListener('abort', cancel, { once: true });
      const group = await started;
      abort.signal.removeEventListener('abort', cancel);
      if (group.stopping) throw new AppError('CANCELLED', `simulated group "${groupId}" was stopped while starting`);
      return toSimGroup(group);
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (abort.signal.aborted) throw new AppError('CANCELLED', `starting simulated group "${groupId}" was cancelled`);
      throw new AppError('BAD_REQUEST', err instanceof Error ? err.message : String(err));
    } finally {
      this.provisioning.delete(groupId);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops one group (or all); its devices go offline gracefully. */
  async stop(groupId?: string): Promise<SimStatus> {
    const pending = groupId === undefined ? [...this.provisioning.values()] : [this.provisioning.get(groupId)].filter((a) => a !== undefined);
    for (const abort of pending) abort.abort();
    const runtime = this.runtime;
    if (runtime) {
      const ids = groupId === undefined ? runtime.list().map((g) => g.id) : [groupId];
      if (groupId !== undefined && !runtime.get(groupId) && pending.length === 0) {
        throw new AppError('NOT_FOUND', `no simulated group "${groupId}"`);
      }
      await Promise.all(ids.map((id) => runtime.stop(id)));
    } else if (groupId !== undefined && pending.length === 0) {
      throw new AppError('NOT_FOUND', `no simulated group "${groupId}"`);
    }
    return this.status();
  }

  /** Changes the faults of a group or of some of its devices. */
  setFaults(groupId: string, faults: FaultConfig, deviceIds?: readonly string[]): SimGroup {
    const runtime = this.runtime;
    if (!runtime?.get(groupId)) throw new AppError('NOT_FOUND', `no simulated group "${groupId}"`);
    try {
      const group = runtime.setFaults(groupId, faults, deviceIds);
      this.statusChanged();
      return toSimGroup(group);
    } catch (err) {
      throw new AppError('BAD_REQUEST', err instanceof Error ? err.message : String(err));
    }
  }

  /** A one-shot disconnect or power loss on one simulated device; ok false when it is not online. */
  inject(deviceId: string, fault: 'disconnect' | 'power_loss'): { ok: boolean } {
    const device = this.runtime?.device(deviceId);
    if (!device) throw new AppError('NOT_FOUND', `"${deviceId}" is not a running simulated device`);
    return { ok: device.inject(fault) };
  }

  /** Counters of the device runtime (published telemetry, faults, ...). */
  stats(): SimRuntime['stats'] | null {
    return this.runtime?.stats ?? null;
  }

  /** Stops every group and releases timers. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const abort of this.provisioning.values()) abort.abort();
    await this.runtime?.dispose();
    this.runtime = null;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
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

  private ensureRuntime(): SimRuntime {
    const url = this.options.brokerUrl();
    if (this.runtime && this.runtimeUrl !== url && this.runtime.list().length === 0) this.runtime = null;
    if (!this.runtime) {
      this.runtime = new SimRuntime({ brokerUrl: url, onChange: () => this.statusChanged() });
      this.runtimeUrl = url;
    }
    return this.runtime;
  }

  private statusChanged(): void {
    if (!this.options.events || this.statusTimer || this.disposed) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.options.events?.emit('sim.status', this.status());
    }, STATUS_EVENT_MS);
  }
}

function toSimGroup(group: RuntimeGroup): SimGroup {
  return { id: group.id, config: group.config, startedAt: group.startedAt, connected: group.connected, total: group.devices.length };
}
