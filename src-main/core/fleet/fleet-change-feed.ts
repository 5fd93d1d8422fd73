import { silentLogger, type Logger } from '../common/logger';
import type { FleetStats, TelemetryPoint } from '../contract';
import type { Events } from '../contract';
import type { EventSink } from '../common/event-sink';
import type { Store } from '../store';
import type { DeviceTraffic } from './device-router';
import { SummaryCache, withLatest } from './summary-cache';
import { toTelemetryPoint, type FlushReport, type TelemetryIngest } from './telemetry-ingest';

/** How often coalesced `fleet.devices` row changes are emitted at most (ms). */
const DEVICE_CHANGES_INTERVAL_MS = 250;

/** What the change feed needs. */
export interface FleetChangeFeedDeps {
  store: Store;
  ingest: TelemetryIngest;
  events: EventSink<Events>;
  /** The router's traffic counters, reported in `fleet.stats`. */
  traffic: () => Readonly<DeviceTraffic>;
  clock?: () => number;
  logger?: Logger;
  /** How often `fleet.stats` is emitted (ms, default 1000); `fleet.devices` goes out every 250 ms, or this often when shorter. */
  emitIntervalMs?: number;
}

/**
 * The UI's view of the fleet as a change feed. Services say which devices changed; the feed emits
 * `fleet.devices` with each changed row at most once per interval (rows with only new telemetry
 * are patched in memory, the rest re-read from the store), `fleet.stats` once per interval, and
 * each telemetry flush's samples to subscribers of `fleet.telemetry/<id>` only.
 */
export class FleetChangeFeed {
  private readonly store: Store;
  private readonly ingest: TelemetryIngest;
  private readonly events: EventSink<Events>;
  private readonly clock: () => number;
  private readonly logger: Logger;
  /** Devices whose rows must be read again from the store before the next `fleet.devices`. */
  private readonly dirty = new Set<string>();
  /** Devices whose cached rows got new telemetry since the last `fleet.devices`. */
  private readonly telemetryChanged = new Set<string>();
  private readonly removed = new Set<string>();
  private readonly summaries = new SummaryCache();
  private rate = { at: 0, stored: 0, perSec: 0 };
  private timers: NodeJS.Timeout[] = [];
  private offFlush: (() => void) | null = null;

  constructor(private readonly deps: FleetChangeFeedDeps) {
    this.store = deps.store;
    this.ingest = deps.ingest;
    this.events = deps.events;
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
  }

  /** Follows the ingest's flushes and starts emitting on the intervals. */
  start(): void {
    if (this.offFlush) return;
    this.rate = { at: this.clock(), stored: 0, perSec: 0 };
    this.offFlush = this.ingest.onFlush((report) => this.afterFlush(report));
    const interval = this.deps.emitIntervalMs ?? 1000;
    this.timers.push(setInterval(() => this.emitDeviceChanges(), Math.min(interval, DEVICE_CHANGES_INTERVAL_MS)));
    this.timers.push(setInterval(() => this.emitStats(), interval));
    for (const t of this.timers) t.unref?.();
  }

  /** A device's row changed in the store (presence, metadata, a confirmed setting): re-read it for the next emit. */
  changed(deviceId: string): void {
    this.dirty.add(deviceId);
  }

  /** Devices were provisioned. */
  added(deviceIds: readonly string[]): void {
    for (const id of deviceIds) {
      this.dirty.add(id);
      this.removed.delete(id);
    }
  }

  /** A device was removed: its row goes out as removed and is forgotten. */
  deviceRemoved(deviceId: string): void {
    this.dirty.delete(deviceId);
    this.telemetryChanged.delete(deviceId);
    this.summaries.forget(deviceId);
    this.removed.add(deviceId);
  }

  /** Counts by status and MCU, ingest health and the router's traffic counters. */
  stats(): FleetStats {
    const counts = this.store.devices.counts();
    const traffic = this.deps.traffic();
    return {
      devices: counts.total,
      ...counts.byStatus,
      byMcu: counts.byMcu,
      telemetryIngested: this.store.counters.get('telemetry.ingested'),
      telemetryPerSec: Math.round(this.rate.perSec * 10) / 10,
      unknownDeviceMessages: traffic.unknownDevice,
      malformedMessages: traffic.malformed,
      unroutedMessages: traffic.unrouted,
      ingestQueue: this.ingest.queued,
    };
  }

  /** Stops emitting. */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.offFlush?.();
    this.offFlush = null;
  }

  private afterFlush(report: FlushReport): void {
    for (const latest of report.latest.values()) {
      if (this.summaries.apply(latest)) this.telemetryChanged.add(latest.id);
      else this.dirty.add(latest.id);
    }
    let live: Map<string, TelemetryPoint[]> | null = null;
    for (const id of report.devices) {
      if (this.events.hasSubscribers(`fleet.telemetry/${id}`)) (live ??= new Map()).set(id, []);
    }
    if (!live) return;
    for (const s of report.samples) live.get(s.deviceId)?.push(toTelemetryPoint(s));
    for (const [deviceId, points] of live) this.events.emit(`fleet.telemetry/${deviceId}`, { deviceId, points });
  }

  /** Coalesced row changes; often enough that 10,000 devices arrive as a few thousand rows at a time. */
  private emitDeviceChanges(): void {
    try {
      if (this.dirty.size || this.telemetryChanged.size || this.removed.size) {
        const changed = this.store.devices.getSummaries(this.dirty).map((row) => withLatest(row, this.ingest.pendingLatest(row.id)));
        this.summaries.remember(changed);
        for (const id of this.telemetryChanged) {
          const row = this.dirty.has(id) ? undefined : this.summaries.get(id);
          if (row) changed.push(row);
        }
        const removed = [...this.removed];
        this.dirty.clear();
        this.telemetryChanged.clear();
        this.removed.clear();
        this.events.emit('fleet.devices', { changed, removed });
      }
    } catch (err) {
      this.logger.error(`fleet: failed to emit device changes: ${(err as Error).message}`);
    }
  }

  private emitStats(): void {
    try {
      const now = this.clock();
      const elapsed = now - this.rate.at;
      if (elapsed > 0) {
        this.rate = { at: now, stored: this.ingest.stored, perSec: ((this.ingest.stored - this.rate.stored) * 1000) / elapsed };
      }
      this.events.emit('fleet.stats', this.stats());
    } catch (err) {
      this.logger.error(`fleet: failed to emit stats: ${(err as Error).message}`);
    }
  }
}
