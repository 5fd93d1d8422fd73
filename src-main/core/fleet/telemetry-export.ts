import type { TelemetryPoint } from '../contract';
import type { Store } from '../store';
import { csvTime, formatCsv } from './csv';
import { readTelemetry } from './telemetry-history';

/** Rows per device in one export (the telemetry call's own maximum): the latest ones are kept. */
export const MAX_EXPORT_ROWS_PER_DEVICE = 100_000;

const FIXED_COLUMNS = ['device_id', 'time', 'battery', 'temperature', 'rssi', 'free_heap', 'inference_ms', 'prediction', 'confidence'] as const;

/** The telemetry history of some devices in a time range, as read for an export. */
export interface TelemetryExport {
  /** Per device (in the order given, duplicates once), its points oldest first. */
  devices: { id: string; points: TelemetryPoint[] }[];
  /** The custom metric names seen, sorted. */
  metrics: string[];
  /** Points in all. */
  rows: number;
  /** Devices whose range held more than MAX_EXPORT_ROWS_PER_DEVICE: only their latest rows are in. */
  truncated: string[];
}

/**
 * Reads the history of some devices for an export. Throws NOT_FOUND, naming the id, when one is
 * not provisioned (before anything is written anywhere).
 */
export function collectTelemetry(
  store: Store,
  input: { ids: readonly string[]; since?: number; until?: number; resolution: 'raw' | '1m' },
): TelemetryExport {
  const devices: TelemetryExport['devices'] = [];
  const truncated: string[] = [];
  const metricNames = new Set<string>();
  let rows = 0;
  for (const id of new Set(input.ids)) {
    // A full page of the latest samples: the range may hold older ones that were left out.
    const points = readTelemetry(store, { id, since: input.since, until: input.until, resolution: input.resolution, limit: MAX_EXPORT_ROWS_PER_DEVICE });
    if (points.length === MAX_EXPORT_ROWS_PER_DEVICE) truncated.push(id);
    for (const p of points) for (const name of Object.keys(p.metrics)) metricNames.add(name);
    devices.push({ id, points });
    rows += points.length;
  }
  return { devices, metrics: [...metricNames].sort(), rows, truncated };
}

/**
 * An export as one CSV: a row per sample (or per minute), times in ISO 8601 UTC, the standard
 * fields, the active model's prediction and confidence (empty when not reported), then one
 * `metric:<name>` column per custom metric seen.
 */
export function telemetryCsv(data: TelemetryExport): string {
  const rows: (string | number | null)[][] = [];
  for (const { id, points } of data.devices) {
    for (const p of points) {
      rows.push([id, csvTime(p.ts), p.battery, p.temperature, p.rssi, p.freeHeap, p.inferenceMs, p.prediction ?? null, p.confidence ?? null, ...data.metrics.map((m) => p.metrics[m] ?? null)]);
    }
  }
  return formatCsv([...FIXED_COLUMNS, ...data.metrics.map((m) => `metric:${m}`)], rows);
}

/** `fleet.exportTelemetry`: the history of some devices as CSV, with the row count and the devices cut short. */
export function exportTelemetryCsv(
  store: Store,
  input: { ids: readonly string[]; since?: number; until?: number; resolution: 'raw' | '1m' },
): { csv: string; rows: number; truncated: string[] } {
  const data = collectTelemetry(store, input);
  return { csv: telemetryCsv(data), rows: data.rows, truncated: data.truncated };
}
