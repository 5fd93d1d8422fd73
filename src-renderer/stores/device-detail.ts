import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { CommandRecord, DeviceDetail, DeviceEvent, TelemetryPoint } from '@contract';
import { errorMessage, useApi } from '../app/api-context';
import { FrameBatcher } from '../lib/frame-batcher';
import { TelemetryRing } from '../features/device/telemetry-ring';

/** Samples kept per device page: an hour at one sample per second. */
export const TELEMETRY_CAPACITY = 3600;
const MAX_EVENTS = 200;
const MAX_COMMANDS = 50;

/**
 * The device page: detail, live telemetry in a ring buffer, recent events and commands of the one
 * device shown. `open` subscribes to that device's keyed events; `close` lets go of them.
 */
export const useDeviceDetailStore = defineStore('deviceDetail', () => {
  const api = useApi();
  const deviceId = ref<string | null>(null);
  const detail = shallowRef<DeviceDetail | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);
  /** The ring is swapped per device; `telemetryVersion` moves at most once per frame. */
  const ring = shallowRef(new TelemetryRing(TELEMETRY_CAPACITY));
  const telemetryVersion = ref(0);
  const events = shallowRef<DeviceEvent[]>([]);
  const commands = shallowRef<CommandRecord[]>([]);

  let unsubscribers: (() => void)[] = [];
  let telemetryBatcher: FrameBatcher<TelemetryPoint[]> | null = null;
  let commandsUnsubscribe: (() => void) | null = null;

  function upsertCommands(records: readonly CommandRecord[]): void {
    const id = deviceId.value;
    const mine = records.filter((r) => r.deviceId === id);
    if (mine.length === 0) return;
    const byId = new Map(commands.value.map((c) => [c.id, c]));
    for (const record of mine) byId.set(record.id, record);
    commands.value = [...byId.values()].sort((a, b) => b.sentAt - a.sentAt).slice(0, MAX_COMMANDS);
  }

  function addEvents(incoming: readonly DeviceEvent[]): void {
    const seen = new Set(events.value.map((e) => e.id));
    const fresh = incoming.filter((e) => !seen.has(e.id));
    if (fresh.length === 0) return;
    events.value = [...fresh, ...events.value].sort((a, b) => b.ts - a.ts || b.id - a.id).slice(0, MAX_EVENTS);
  }

  /** Shows one device: subscribes first (nothing is missed), then loads detail and history. */
  async function open(id: string): Promise<void> {
    close();
    deviceId.value = id;
    error.value = null;
    loading.value = true;
    const currentRing = new TelemetryRing(TELEMETRY_CAPACITY);
    ring.value = currentRing;
    const live: TelemetryPoint[] = [];
    let historyLoaded = false;
    const batcher = new FrameBatcher<TelemetryPoint[]>((chunks) => {
      if (!historyLoaded) return void live.push(...chunks.flat());
      if (currentRing.pushAll(chunks.flat()) > 0) telemetryVersion.value++;
    });
    telemetryBatcher = batcher;
    unsubscribers = [
      api.subscribe(`fleet.telemetry/${id}`, (p) => batcher.push(p.points)),
      api.subscribe(`fleet.deviceEvents/${id}`, (p) => addEvents(p.events)),
    ];
    commandsUnsubscribe ??= api.subscribe('fleet.commands', (p) => upsertCommands(p.commands));
    try {
      const [d, history, recentEvents, recentCommands] = await Promise.all([
        api.call('fleet.get', { id }),
        api.call('fleet.telemetry', { id, resolution: 'raw', limit: TELEMETRY_CAPACITY }),
        api.call('fleet.events', { id, limit: 100 }),
        api.call('fleet.commands', { id, limit: MAX_COMMANDS }),
      ]);
      if (deviceId.value !== id) return;
      detail.value = d;
      currentRing.pushAll([...history.points].sort((a, b) => a.ts - b.ts));
      historyLoaded = true;
      currentRing.pushAll(live.sort((a, b) => a.ts - b.ts));
      telemetryVersion.value++;
      addEvents(recentEvents);
      upsertCommands(recentCommands);
    } catch (e) {
      if (deviceId.value === id) error.value = errorMessage(e);
    } finally {
      if (deviceId.value === id) loading.value = false;
    }
  }

  /** Re-reads the detail (after a reboot brings a new birth message, for instance). */
  async function refreshDetail(): Promise<void> {
    const id = deviceId.value;
    if (!id) return;
    try {
      const d = await api.call('fleet.get', { id });
      if (deviceId.value === id) detail.value = d;
    } catch (e) {
      if (deviceId.value === id) error.value = errorMessage(e);
    }
  }

  /**
   * Sends a command and resolves with its final record (the call waits for the answer or the
   * timeout); the pending record shows up meanwhile through `fleet.commands` events. An offline
   * device refuses it (DEVICE_OFFLINE) unless `queueForMs` queues it: the `queued` record comes back at once.
   */
  async function sendCommand(
    command: string,
    params: Record<string, unknown>,
    options: { timeoutMs?: number; queueForMs?: number } = {},
  ): Promise<CommandRecord> {
    const id = deviceId.value;
    if (!id) throw new Error('no device is open');
    const record = await api.call('fleet.command', { id, command, params, timeoutMs: options.timeoutMs ?? 10_000, queueForMs: options.queueForMs });
    upsertCommands([record]);
    if (command === 'set_telemetry_interval' && record.state === 'ok') void refreshDetail();
    return record;
  }

  /** Stops following the device shown. */
  function close(): void {
    for (const unsubscribe of unsubscribers) unsubscribe();
    unsubscribers = [];
    telemetryBatcher?.dispose();
    telemetryBatcher = null;
    deviceId.value = null;
    detail.value = null;
    events.value = [];
    commands.value = [];
  }

  /** Stops everything, including the commands subscription. */
  function dispose(): void {
    close();
    commandsUnsubscribe?.();
    commandsUnsubscribe = null;
  }

  return {
    deviceId,
    detail,
    error,
    loading,
    ring,
    telemetryVersion,
    events,
    commands,
    open,
    refreshDetail,
    sendCommand,
    close,
    dispose,
  };
});
