import type { FaultConfig, SimGroupConfig } from '../contract/sim';
import type { McuProfile } from '../common/mcu-profile';
import type { SimCredential } from './credentials';
import { deriveSeed, Prng } from './prng';
import { emptyUpdateStats, type UpdateStats } from './model-updater';
import { SimDevice, type SimDeviceContext, type SimStats, type SimUpdateContext } from './sim-device';
import { TimerWheel } from './timer-wheel';
import { systemClock, type Clock } from '../common/clock';

/** How many connection attempts may be in flight while a group starts. */
const CONNECTS_IN_FLIGHT = 100;
/** Progress is reported every this many attempted devices. */
const PROGRESS_EVERY = 200;
/** How many devices say goodbye at once while a group stops. */
const STOP_BATCH = 1000;

/** Connection progress of one group. */
export interface GroupProgress {
  groupId: string;
  /** Devices whose first connection attempt has finished (connected or failed). */
  attempted: number;
  connected: number;
  total: number;
}

/** One running group inside the runtime. */
export interface RuntimeGroup {
  id: string;
  config: SimGroupConfig;
  startedAt: number;
  devices: SimDevice[];
  connected: number;
  /** Set while the group is being stopped (also cancels a start in progress). */
  stopping: boolean;
}

export interface SimRuntimeOptions {
  brokerUrl: string;
  /** Wall clock for message timestamps; tests may pin it. */
  now?: Clock;
  /** Called (unthrottled) whenever a device goes online or offline, or a group starts or ends. */
  onChange?: () => void;
  /** Model updates (protocol v1.1); without them devices speak v1.0. */
  updates?: Omit<SimUpdateContext, 'stats'>;
}

/**
 * Runs simulated devices: one timer wheel for all of them, groups that connect through a sliding window, and
 * live counters. It knows nothing about provisioning; callers hand it credentials.
 */
export class SimRuntime {
  readonly stats: SimStats = {
    telemetryPublished: 0,
    telemetryDropped: 0,
    commandsAnswered: 0,
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    powerLosses: 0,
    lastError: null,
  };
  /** Counters of the model-update path over all devices. */
  readonly updateStats: UpdateStats = emptyUpdateStats();
  private readonly wheel = new TimerWheel();
  private readonly groups = new Map<string, RuntimeGroup>();
  private readonly byDevice = new Map<string, { device: SimDevice; group: RuntimeGroup }>();
  private readonly ctx: SimDeviceContext;

  constructor(private readonly options: SimRuntimeOptions) {
    this.ctx = {
      wheel: this.wheel,
      brokerUrl: options.brokerUrl,
      stats: this.stats,
      now: options.now ?? systemClock,
      onlineChanged: (device, delta) => {
        const entry = this.byDevice.get(device.id);
        if (entry) entry.group.connected += delta;
        options.onChange?.();
      },
      ...(options.updates ? { updates: { ...options.updates, stats: this.updateStats } } : {}),
    };
  }

  /** The running groups. */
  list(): RuntimeGroup[] {
    return [...this.groups.values()];
  }

  get(groupId: string): RuntimeGroup | undefined {
    return this.groups.get(groupId);
  }

  /** The device with this id, in whichever group runs it. */
  device(deviceId: string): SimDevice | undefined {
    return this.byDevice.get(deviceId)?.device;
  }

  /**
   * Starts a group: creates its devices (profiles taken in turn unless a credential names one) and
   * connects them through a sliding window. Resolves when every device has made its first attempt, or early
   * (with `stopping` set on the group) when the group is stopped meanwhile.
   */
  async start(
    groupId: string,
    config: SimGroupConfig,
    credentials: readonly SimCredential[],
    profiles: readonly McuProfile[],
    onProgress?: (progress: GroupProgress) => void,
  ): Promise<RuntimeGroup> {
    if (this.groups.has(groupId)) throw new Error(`simulated group "${groupId}" is already running`);
    const clash = credentials.find((c) => this.byDevice.has(c.id));
    if (clash) throw new Error(`device "${clash.id}" is already simulated by another group`);
    const byId = new Map(profiles.map((p) => [p.id, p]));
    const group: RuntimeGroup = { id: groupId, config, startedAt: Date.now(), devices: [], connected: 0, stopping: false };
    credentials.forEach((cred, i) => {
      const profile = byId.get(cred.mcu);
      if (!profile) throw new Error(`device "${cred.id}" uses unknown MCU profile "${cred.mcu}"`);
      const device = new SimDevice(
        cred.id,
        cred.secret,
        profile,
        config.telemetryIntervalMs,
        config.faults,
        this.ctx,
        new Prng(deriveSeed(config.seed, i, 0)),
        new Prng(deriveSeed(config.seed, i, 1)),
        deriveSeed(config.seed, i, 2),
      );
      group.devices.push(device);
    });
    this.groups.set(groupId, group);
    for (const device of group.devices) this.byDevice.set(device.id, { device, group });
    this.wheel.start();
    this.options.onChange?.();

    // A sliding window of connects in flight: a busy broker slows the start down instead of
    // timing out a whole batch (which would turn into a reconnect storm).
    let attempted = 0;
    let next = 0;
    const report = (): void => onProgress?.({ groupId, attempted, connected: group.connected, total: group.devices.length });
    const lane = async (): Promise<void> => {
      while (next < group.devices.length && !group.stopping) {
        await group.devices[next++].start();
        attempted++;
        if (attempted % PROGRESS_EVERY === 0 || attempted === group.devices.length) report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONNECTS_IN_FLIGHT, group.devices.length) }, lane));
    if (attempted % PROGRESS_EVERY !== 0 && attempted !== group.devices.length) report();
    return group;
  }

  /** Stops one group: every device says goodbye; a start in progress stops connecting more. */
  async stop(groupId: string): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) return;
    group.stopping = true;
    for (let i = 0; i < group.devices.length; i += STOP_BATCH) {
      await Promise.all(group.devices.slice(i, i + STOP_BATCH).map((d) => d.stop()));
    }
    for (const device of group.devices) this.byDevice.delete(device.id);
    this.groups.delete(groupId);
    if (this.groups.size === 0) this.wheel.stop();
    this.options.onChange?.();
  }

  /** Changes the faults of a whole group (its default) or of some of its devices. */
  setFaults(groupId: string, faults: FaultConfig, deviceIds?: readonly string[]): RuntimeGroup {
    const group = this.groups.get(groupId);
    if (!group) throw new Error(`no simulated group "${groupId}"`);
    if (!deviceIds) {
      group.config = { ...group.config, faults };
      for (const device of group.devices) device.setFaults(faults);
      return group;
    }
    const targets = deviceIds.map((id) => {
      const entry = this.byDevice.get(id);
      if (!entry || entry.group !== group) throw new Error(`device "${id}" is not in simulated group "${groupId}"`);
      return entry.device;
    });
    for (const device of targets) device.setFaults(faults);
    return group;
  }

  /** Total devices and online devices over all groups. */
  counts(): { connected: number; total: number } {
    let connected = 0;
    let total = 0;
    for (const g of this.groups.values()) {
      connected += g.connected;
      total += g.devices.length;
    }
    return { connected, total };
  }

  /** Stops every group. */
  async dispose(): Promise<void> {
    for (const id of [...this.groups.keys()]) await this.stop(id);
    this.wheel.stop();
  }
}
