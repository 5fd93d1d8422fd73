import type { DeviceSummary } from '../contract';
import type { LatestTelemetry } from '../store';

/**
 * The fleet table's rows as last read from the store. Most row changes are telemetry only (each
 * device's latest values, once a second): those are applied here in memory, the way the store's
 * UPDATE applies them, instead of reading thousands of rows back from SQLite every second. Rows
 * whose other columns change are re-read by the fleet service and replace the cached ones.
 */
export class SummaryCache {
  private readonly rows = new Map<string, DeviceSummary>();

  /** Keeps rows just read from the store. */
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

  /**
   * The cached row with the latest telemetry applied (null measurements keep the old value and
   * lastSeen never goes back, as in DevicesRepo.updateLatest), or undefined when the row is not cached.
   */
  apply(latest: LatestTelemetry): DeviceSummary | undefined {
    const row = this.rows.get(latest.id);
    if (!row) return undefined;
    const next: DeviceSummary = {
      ...row,
      lastSeen: Math.max(row.lastSeen ?? 0, latest.lastSeen),
      battery: latest.battery ?? row.battery,
      temperature: latest.temperature ?? row.temperature,
      rssi: latest.rssi ?? row.rssi,
    };
    this.rows.set(latest.id, next);
    return next;
  }
}
