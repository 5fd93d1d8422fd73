import { AppError, type TelemetryPoint } from '../contract';
import type { Store } from '../store';

/** A time-range query of one device's stored telemetry. */
export interface TelemetryQuery {
  id: string;
  /** Epoch ms, inclusive; the oldest stored sample when absent. */
  since?: number;
  /** Epoch ms, inclusive; the newest when absent. */
  until?: number;
  /** Raw samples or 1-minute aggregates. */
  resolution: 'raw' | '1m';
  /** At most this many points: the latest ones. */
  limit: number;
}

/**
 * One device's telemetry history in a time range, oldest first, straight from the store (the app's
 * `fleet.telemetry` and the CLI read it the same way). Throws NOT_FOUND for an id not provisioned.
 */
export function readTelemetry(store: Store, query: TelemetryQuery): TelemetryPoint[] {
  if (!store.devices.has(query.id)) throw new AppError('NOT_FOUND', `no device "${query.id}"`);
  const since = query.since ?? 0;
  const until = query.until ?? Number.MAX_SAFE_INTEGER;
  return query.resolution === 'raw' ? store.telemetry.raw(query.id, since, until, query.limit) : store.telemetry.minutes(query.id, since, until, query.limit);
}
