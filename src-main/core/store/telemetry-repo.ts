import type { Database, Statement } from 'better-sqlite3';
import type { TelemetryPoint } from '../contract';
import { parseJsonColumn } from './json';

/** One telemetry message as stored: absent measurements are null. */
export interface TelemetrySample {
  deviceId: string;
  ts: number;
  seq: number;
  battery: number | null;
  temperature: number | null;
  rssi: number | null;
  freeHeap: number | null;
  inferenceMs: number | null;
  /** What the device's active model predicted, when it runs one (absent: not reported). */
  prediction?: number | null;
  confidence?: number | null;
  metrics: Record<string, number>;
}

/** The fixed measurements of a sample, in column order. */
export const TELEMETRY_FIELDS = ['battery', 'temperature', 'rssi', 'freeHeap', 'inferenceMs'] as const;
export type TelemetryField = (typeof TELEMETRY_FIELDS)[number];

/**
 * A partial 1-minute aggregate: sums and counts, so that partial aggregates of the same minute
 * (late samples, several flushes, a restart) merge exactly by addition.
 */
export interface MinuteAggregate {
  deviceId: string;
  /** Start of the minute, ms since the epoch. */
  minute: number;
  count: number;
  sums: Record<TelemetryField, number>;
  counts: Record<TelemetryField, number>;
  /** Custom metrics: name → [sum, count]. */
  metrics: Record<string, [number, number]>;
}

/** Name of the SQL function that adds two metric-sum JSON objects (registered by the Store). */
export const MERGE_METRICS_SQL_FUNCTION = 'tf_merge_metric_sums';

/** Adds two `{ name: [sum, count] }` JSON objects; registered as an SQL function for the 1-minute upsert. */
export function mergeMetricSums(a: string | null, b: string | null): string {
  const left = parseJsonColumn<Record<string, [number, number]>>(a, {});
  const right = parseJsonColumn<Record<string, [number, number]>>(b, {});
  for (const [name, [sum, n]] of Object.entries(right)) {
    const prev = left[name];
    left[name] = prev ? [prev[0] + sum, prev[1] + n] : [sum, n];
  }
  return JSON.stringify(left);
}

interface RawRow {
  ts: number;
  battery: number | null;
  temperature: number | null;
  rssi: number | null;
  free_heap: number | null;
  inference_ms: number | null;
  prediction: number | null;
  confidence: number | null;
  metrics: string | null;
}

interface MinuteRow {
  minute: number;
  battery_sum: number;
  battery_n: number;
  temperature_sum: number;
  temperature_n: number;
  rssi_sum: number;
  rssi_n: number;
  free_heap_sum: number;
  free_heap_n: number;
  inference_ms_sum: number;
  inference_ms_n: number;
  metrics: string;
}

const mean = (sum: number, n: number): number | null => (n > 0 ? sum / n : null);

/** Telemetry history: raw samples (kept for hours) and 1-minute aggregates (kept for days). */
export class TelemetryRepo {
  private readonly insertRawStmt: Statement;
  private readonly upsertMinuteStmt: Statement;

  constructor(private readonly db: Database) {
    this.insertRawStmt = db.prepare(
      `INSERT INTO telemetry_raw (device_id, ts, seq, battery, temperature, rssi, free_heap, inference_ms, prediction, confidence, metrics)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertMinuteStmt = db.prepare(
      `INSERT INTO telemetry_1m (device_id, minute, count, battery_sum, battery_n, temperature_sum, temperature_n, rssi_sum, rssi_n,
         free_heap_sum, free_heap_n, inference_ms_sum, inference_ms_n, metrics)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, minute) DO UPDATE SET
         count = count + excluded.count,
         battery_sum = battery_sum + excluded.battery_sum, battery_n = battery_n + excluded.battery_n,
         temperature_sum = temperature_sum + excluded.temperature_sum, temperature_n = temperature_n + excluded.temperature_n,
         rssi_sum = rssi_sum + excluded.rssi_sum, rssi_n = rssi_n + excluded.rssi_n,
         free_heap_sum = free_heap_sum + excluded.free_heap_sum, free_heap_n = free_heap_n + excluded.free_heap_n,
         inference_ms_sum = inference_ms_sum + excluded.inference_ms_sum, inference_ms_n = inference_ms_n + excluded.inference_ms_n,
         metrics = ${MERGE_METRICS_SQL_FUNCTION}(metrics, excluded.metrics)`,
    );
  }

  /** Appends raw samples (call inside the ingest transaction). */
  insertRaw(samples: Iterable<TelemetrySample>): void {
    for (const s of samples) {
      let metrics: string | null = null;
      for (const _ in s.metrics) {
        metrics = JSON.stringify(s.metrics);
        break;
      }
      this.insertRawStmt.run(s.deviceId, s.ts, s.seq, s.battery, s.temperature, s.rssi, s.freeHeap, s.inferenceMs, s.prediction ?? null, s.confidence ?? null, metrics);
    }
  }

  /** Adds partial 1-minute aggregates to the stored ones (call inside the ingest transaction). */
  mergeMinutes(aggregates: Iterable<MinuteAggregate>): void {
    for (const a of aggregates) {
      this.upsertMinuteStmt.run(
        a.deviceId,
        a.minute,
        a.count,
        a.sums.battery,
        a.counts.battery,
        a.sums.temperature,
        a.counts.temperature,
        a.sums.rssi,
        a.counts.rssi,
        a.sums.freeHeap,
        a.counts.freeHeap,
        a.sums.inferenceMs,
        a.counts.inferenceMs,
        JSON.stringify(a.metrics),
      );
    }
  }

  /** The latest `limit` raw samples of a device within [since, until], oldest first. */
  raw(deviceId: string, since: number, until: number, limit: number): TelemetryPoint[] {
    const rows = this.db
      .prepare(
        `SELECT ts, battery, temperature, rssi, free_heap, inference_ms, prediction, confidence, metrics FROM telemetry_raw
         WHERE device_id = ? AND ts >= ? AND ts <= ? ORDER BY ts DESC, rowid DESC LIMIT ?`,
      )
      .all(deviceId, since, until, limit) as RawRow[];
    return rows.reverse().map((r) => ({
      ts: r.ts,
      battery: r.battery,
      temperature: r.temperature,
      rssi: r.rssi,
      freeHeap: r.free_heap,
      inferenceMs: r.inference_ms,
      ...(r.prediction !== null ? { prediction: r.prediction, confidence: r.confidence ?? 0 } : {}),
      metrics: parseJsonColumn<Record<string, number>>(r.metrics, {}),
    }));
  }

  /** The latest `limit` 1-minute aggregates (means) of a device within [since, until], oldest first. */
  minutes(deviceId: string, since: number, until: number, limit: number): TelemetryPoint[] {
    const rows = this.db
      .prepare(`SELECT * FROM telemetry_1m WHERE device_id = ? AND minute >= ? AND minute <= ? ORDER BY minute DESC LIMIT ?`)
      .all(deviceId, since, until, limit) as MinuteRow[];
    return rows.reverse().map((r) => {
      const metrics: Record<string, number> = {};
      for (const [name, [sum, n]] of Object.entries(parseJsonColumn<Record<string, [number, number]>>(r.metrics, {}))) {
        if (n > 0) metrics[name] = sum / n;
      }
      return {
        ts: r.minute,
        battery: mean(r.battery_sum, r.battery_n),
        temperature: mean(r.temperature_sum, r.temperature_n),
        rssi: mean(r.rssi_sum, r.rssi_n),
        freeHeap: mean(r.free_heap_sum, r.free_heap_n),
        inferenceMs: mean(r.inference_ms_sum, r.inference_ms_n),
        metrics,
      };
    });
  }

  /** Number of stored samples per minute of a device (for tests and diagnostics). */
  minuteCount(deviceId: string, minute: number): number {
    return (this.db.prepare('SELECT count FROM telemetry_1m WHERE device_id = ? AND minute = ?').pluck().get(deviceId, minute) as number | undefined) ?? 0;
  }

  /** Number of raw samples stored (all devices, or one). */
  rawCount(deviceId?: string): number {
    return deviceId === undefined
      ? (this.db.prepare('SELECT count(*) FROM telemetry_raw').pluck().get() as number)
      : (this.db.prepare('SELECT count(*) FROM telemetry_raw WHERE device_id = ?').pluck().get(deviceId) as number);
  }

  /**
   * Deletes at most `limit` raw samples older than `before`; returns how many. Bounded so that
   * retention runs in small steps and never stalls ingest.
   */
  pruneRaw(before: number, limit: number): number {
    return this.db
      .prepare('DELETE FROM telemetry_raw WHERE rowid IN (SELECT rowid FROM telemetry_raw WHERE ts < ? ORDER BY ts LIMIT ?)')
      .run(before, limit).changes;
  }

  /** Deletes at most `limit` 1-minute aggregates of minutes before `before`; returns how many. */
  pruneMinutes(before: number, limit: number): number {
    return this.db
      .prepare(
        'DELETE FROM telemetry_1m WHERE (device_id, minute) IN (SELECT device_id, minute FROM telemetry_1m WHERE minute < ? ORDER BY minute LIMIT ?)',
      )
      .run(before, limit).changes;
  }
}
