import type { DeviceDetail, DeviceSummary } from '../contract';
import type { LatestTelemetry } from '../store';

/**
 * A device row with newer telemetry applied, the way DevicesRepo.updateLatest applies it: a null
 * measurement keeps the old value and lastSeen never goes back. Detail rows also get the
 * measurements only they carry.
 */
export function withLatest<T extends DeviceSummary | DeviceDetail>(row: T, latest: LatestTelemetry | undefined): T {
  if (!latest) return row;
  const next = {
    ...row,
    lastSeen: Math.max(row.lastSeen ?? 0, latest.lastSeen),
    battery: latest.battery ?? row.battery,
    temperature: latest.temperature ?? row.temperature,
    rssi: latest.rssi ?? row.rssi,
  };
  if ('freeHeap' in next) {
    next.freeHeap = latest.freeHeap ?? next.freeHeap;
    next.inferenceMs = latest.inferenceMs ?? next.inferenceMs;
    next.prediction = latest.prediction ?? next.prediction;
    next.confidence = latest.confidence ?? next.confidence;
  }
  return next;
}

/**
 * The fleet table's rows as last emitted. Most row changes are telemetry only (each device's latest
 * values, every flush): those are applied here in memory instead of reading thousands of rows back
 * from SQLite every second. Rows whose other columns change are re-read by the fleet service and
 * replace the cached ones.
 */
export class SummaryCache {
  private readonly rows = new Map<string, DeviceSummary>();

  /** Keeps rows just read from the store (with any telemetry not yet stored applied). */
  remember(rows: Iterable<DeviceSummary>): void {
    for (const row of rows) this.rows.set(row.id, row);
  }

  /** A cached row. */
  get(id: string): DeviceSummary | undefined {
    return this.rows.get(id);
  }

  /** Drops a removed device's row. */
  forget(id: string): void {
    this.rows.delete(id);
  }

  /** The cached row with newer telemetry applied, or undefined when the row is not cached. */
  apply(latest: LatestTelemetry): DeviceSummary | undefined {
    const row = this.rows.get(latest.id);
    if (!row) return undefined;
    const next = withLatest(row, latest);
    this.rows.set(latest.id, next);
    return next;
  }
}
