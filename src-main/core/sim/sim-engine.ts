import type { FaultConfig, SimGroupConfig } from '../contract/sim';
import type { McuProfile } from '../common/mcu-profile';
import type { SimCredential } from './credentials';
import type { SimStats } from './sim-device';
import { SimRuntime, type GroupProgress } from './sim-runtime';
import { createSimUpdates, type SimUpdateSetup, type SimUpdates } from './sim-updates';

/** A running group as the service sees it (plain data: it crosses thread boundaries). */
export interface GroupSnapshot {
  id: string;
  config: SimGroupConfig;
  startedAt: number;
  connected: number;
  total: number;
  /** Being stopped, or stopped while it was starting. */
  stopping: boolean;
}

/** Result of a one-shot fault. */
export type InjectResult = 'ok' | 'not_online' | 'unknown_device';

/**
 * Where simulated devices run: in this thread (`InlineSimEngine`) or in a worker thread
 * (`WorkerSimEngine`), so that ten thousand MQTT clients do not share the thread of the broker and
 * the ingest. Reads (`groups`, `stats`) are synchronous; in a worker they are a mirror updated a
 * few times a second.
 */
export interface SimEngine {
  start(groupId: string, config: SimGroupConfig, credentials: SimCredential[], profiles: McuProfile[], onProgress?: (p: GroupProgress) => void): Promise<GroupSnapshot>;
  stop(groupId: string): Promise<void>;
  setFaults(groupId: string, faults: FaultConfig, deviceIds?: string[]): Promise<GroupSnapshot>;
  inject(deviceId: string, fault: 'disconnect' | 'power_loss'): Promise<InjectResult>;
  groups(): GroupSnapshot[];
  stats(): SimStats;
  /** Called (possibly often) whenever counts or groups change. */
  onChange(listener: () => void): void;
  dispose(): Promise<void>;
}

/**
 * Runs the devices in the calling thread; with `updates` they speak protocol v1.1 and take model
 * packages, their self-tests and inferences running in the engine's own compute pool.
 */
export class InlineSimEngine implements SimEngine {
  private readonly runtime: SimRuntime;
  private readonly updates: SimUpdates | null;
  private readonly listeners = new Set<() => void>();

  constructor(brokerUrl: string, updates?: SimUpdateSetup) {
    this.updates = updates ? createSimUpdates(updates) : null;
    this.runtime = new SimRuntime({
      brokerUrl,
      onChange: () => this.listeners.forEach((l) => l()),
      ...(this.updates ? { updates: this.updates.context } : {}),
    });
  }

  async start(groupId: string, config: SimGroupConfig, credentials: SimCredential[], profiles: McuProfile[], onProgress?: (p: GroupProgress) => void): Promise<GroupSnapshot> {
    const group = await this.runtime.start(groupId, config, credentials, profiles, onProgress);
    return this.snapshot(groupId) ?? { id: group.id, config: group.config, startedAt: group.startedAt, connected: group.connected, total: group.devices.length, stopping: true };
  }

  stop(groupId: string): Promise<void> {
    return this.runtime.stop(groupId);
  }

  async setFaults(groupId: string, faults: FaultConfig, deviceIds?: string[]): Promise<GroupSnapshot> {
    this.runtime.setFaults(groupId, faults, deviceIds);
    return this.snapshot(groupId)!;
  }

  async inject(deviceId: string, fault: 'disconnect' | 'power_loss'): Promise<InjectResult> {
    const device = this.runtime.device(deviceId);
    if (!device) return 'unknown_device';
    return device.inject(fault) ? 'ok' : 'not_online';
  }

  groups(): GroupSnapshot[] {
    return this.runtime.list().map((g) => ({ id: g.id, config: g.config, startedAt: g.startedAt, connected: g.connected, total: g.devices.length, stopping: g.stopping }));
  }

  stats(): SimStats {
    return { ...this.runtime.stats };
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  async dispose(): Promise<void> {
    this.listeners.clear();
    await this.runtime.dispose();
    await this.updates?.close();
  }

  private snapshot(groupId: string): GroupSnapshot | undefined {
    return this.groups().find((g) => g.id === groupId);
  }
}
