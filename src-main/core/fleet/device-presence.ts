import type { CommandRecord, DeviceStatus } from '../contract';
import { decodeStatus, decodeTelemetry, type StatusMessage, type TelemetryMessage } from '../protocol';
import type { Store } from '../store';
import type { DeviceEventLog } from './device-event-log';
import type { DeviceRouter, Disposable } from './device-router';
import { trustedDeviceTime } from './device-time';
import type { FleetChangeFeed } from './fleet-change-feed';
import type { TelemetryIngest } from './telemetry-ingest';

/** What presence needs. */
export interface DevicePresenceDeps {
  store: Store;
  router: DeviceRouter;
  ingest: TelemetryIngest;
  eventLog: DeviceEventLog;
  feed: FleetChangeFeed;
  clock?: () => number;
  /** Called after a device's birth was applied (queued commands go out then). */
  onOnline?: (deviceId: string) => void;
}

/**
 * Presence and device facts: the retained `status` topic (birth, goodbye, last will) sets a
 * device's status and what it reports about itself, and `telemetry` samples go to the ingest.
 * Presence changes are noted in the event log; relearning after a restart or a broker switch is
 * not news. Devices report their facts; the app changes one only when the device confirms it.
 */
export class DevicePresence {
  private readonly store: Store;
  private readonly clock: () => number;
  private readonly registrations: Disposable[];
  /** Devices reset from online to unknown until the broker confirms them: their re-birth is not news. */
  private relearning = new Set<string>();

  constructor(private readonly deps: DevicePresenceDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? Date.now;
    this.registrations = [
      deps.router.register('status', ({ deviceId, payload }) => {
        const d = decodeStatus(payload);
        if (d.ok) this.onStatus(deviceId, d.value);
        else deps.router.malformed(deviceId, d.error.message);
      }),
      deps.router.register('telemetry', ({ deviceId, payload }) => {
        const d = decodeTelemetry(payload);
        if (d.ok) this.onTelemetry(deviceId, d.value);
        else deps.router.malformed(deviceId, d.error.message);
      }),
    ];
  }

  /**
   * Online devices become `unknown` until the broker's retained status or a new birth says
   * otherwise (before subscribing to a broker: at start, after a switch). Returns their ids.
   */
  relearn(): string[] {
    const online = this.store.devices.list({ status: ['online'], sort: 'id', order: 'asc', offset: 0, limit: Number.MAX_SAFE_INTEGER }).devices.map((d) => d.id);
    this.store.devices.resetStatuses('online', 'unknown');
    this.relearning = new Set(online);
    return online;
  }

  /** Applies what a device confirmed by answering a command (today: its new telemetry interval). */
  applyCommandResult(record: CommandRecord): void {
    if (record.state !== 'ok' || record.command !== 'set_telemetry_interval') return;
    const ms = (record.result as { telemetryIntervalMs?: unknown } | undefined)?.telemetryIntervalMs;
    if (typeof ms !== 'number') return;
    this.store.devices.setTelemetryInterval(record.deviceId, ms);
    this.deps.feed.changed(record.deviceId);
  }

  /** Stops taking `status` and `telemetry` messages. */
  dispose(): void {
    for (const r of this.registrations) r.dispose();
  }

  private onTelemetry(deviceId: string, m: TelemetryMessage): void {
    this.deps.ingest.push({
      deviceId,
      ts: trustedDeviceTime(m.ts, this.clock()),
      seq: m.seq,
      battery: m.battery ?? null,
      temperature: m.temperature ?? null,
      rssi: m.rssi ?? null,
      freeHeap: m.freeHeap ?? null,
      inferenceMs: m.inferenceMs ?? null,
      prediction: m.prediction ?? null,
      confidence: m.confidence ?? null,
      metrics: m.metrics,
    });
  }

  private onStatus(deviceId: string, m: StatusMessage): void {
    const now = this.clock();
    const before = this.store.devices.get(deviceId);
    if (!before) return;
    const status: DeviceStatus = m.state;
    if (m.state === 'online') {
      this.store.devices.applyBirth(
        deviceId,
        {
          firmware: m.fw,
          runtime: m.runtime,
          mcu: m.mcu,
          sramFree: m.sramFree,
          flashFree: m.flashFree,
          slots: m.slots,
          telemetryIntervalMs: m.telemetryIntervalMs,
          proto: m.proto ?? '1.0',
          ...(m.personalized ? { personalized: m.personalized } : {}),
        },
        now,
      );
      if (m.mcu !== before.mcu) {
        this.deps.eventLog.append({ deviceId, ts: now, kind: 'mcu_mismatch', level: 'warn', message: `registered as ${before.mcu}, reports ${m.mcu}` });
      }
    } else {
      this.store.devices.setStatus(deviceId, status, now);
    }
    this.deps.feed.changed(deviceId);
    const confirmed = this.relearning.delete(deviceId) && status === 'online';
    if (before.status !== status && !confirmed) {
      const reason = m.state === 'offline' && m.reason ? ` (${m.reason})` : '';
      const text = status === 'online' ? `online, firmware ${m.state === 'online' ? m.fw : ''}` : status === 'lost' ? 'connection lost (last will)' : `offline${reason}`;
      this.deps.eventLog.append({ deviceId, ts: now, kind: 'presence', level: status === 'lost' ? 'warn' : 'info', message: text.trim(), data: { from: before.status, to: status } });
    }
    if (status === 'online') this.deps.onOnline?.(deviceId);
  }
}
