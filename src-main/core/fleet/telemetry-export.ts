import type { TelemetryPoint } from '../contract';
import { csvTime, formatCsv } from './csv';
import type { FleetService } from './fleet-service';

/** Rows per device in one export (the telemetry call's own maximum): the latest ones are kept. */
export const MAX_EXPORT_ROWS_PER_DEVICE = 100_000;

const FIXED_COLUMNS = ['device_id', 'time', 'battery', 'temperature', 'rssi', 'free_heap', 'inference_ms'] as const;

/**
 * The telemetry history of some devices as one CSV: a row per sample (or per minute), times in
 * ISO 8601 UTC, the standard fields, then one `metric:<name>` column per custom metric seen.
 * Throws NOT_FOUND (through FleetService) for an id that is not provisioned.
 */
export function exportTelemetryCsv(
  fleet: FleetService,
  input: { ids: readonly string[]; since?: number; until?: number; resolution: 'raw' | '1m' },
): { csv: string; rows: number; truncated: string[] } {
  const perDevice: { id: string; points: TelemetryPoint[] }[] = [];
  const truncated: string[] = [];
  const metricNames = new Set<string>();
  for (const id of new Set(input.ids)) {
    // A full page of the latest samples: the range may hold older ones that were left out.
    const { points } = fleet.telemetry({ id, since: input.since, until: input.until, resolution: input.resolution, limit: MAX_EXPORT_ROWS_PER_DEVICE });
    if (points.length === MAX_EXPORT_ROWS_PER_DEVICE) truncated.push(id);
    for (const p of points) for (const name of Object.keys(p.metrics)) metricNames.add(name);
    perDevice.push({ id, points });
  }
  const metrics = [...metricNames].sort();
  const rows: (string | number | null)[][] = [];
  for (const { id, points } of perDevice) {
    for (const p of points) {
      rows.push([id, csvTime(p.ts), p.battery, p.temperature, p.rssi, p.freeHeap, p.inferenceMs, ...metrics.map((m) => p.metrics[m] ?? null)]);
    }
  }
  return { csv: formatCsv([...FIXED_COLUMNS, ...metrics.map((m) => `metric:${m}`)], rows), rows: rows.length, truncated };
}
