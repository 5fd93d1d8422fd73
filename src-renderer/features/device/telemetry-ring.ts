import type { TelemetryPoint } from '@contract';

/** The telemetry fields charted on the device page. */
export const TELEMETRY_FIELDS = ['battery', 'temperature', 'rssi', 'freeHeap', 'inferenceMs'] as const;
export type TelemetryField = (typeof TELEMETRY_FIELDS)[number];

/** What the device's active model last predicted, from the newest sample that says. */
export interface LatestPrediction {
  ts: number;
  prediction: number;
  confidence: number;
}

/**
 * The last `capacity` telemetry samples of one device in fixed-size typed arrays. Every value is
 * written twice (at i and i + capacity), so the samples in time order are always one contiguous
 * subarray: charts read them without copying and nothing is allocated per sample.
 * Missing values are stored as NaN and counted, so a reader knows when a window has gaps.
 * The model's prediction is not charted: only the newest one is kept, for the page's headline.
 */
export class TelemetryRing {
  private readonly ts: Float64Array;
  private readonly columns: Record<TelemetryField, Float64Array>;
  private readonly gaps: Record<TelemetryField, number>;
  private start = 0;
  private count = 0;
  private revision = 0;
  private prediction: LatestPrediction | null = null;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, got ${capacity}`);
    this.ts = new Float64Array(capacity * 2);
    this.columns = Object.fromEntries(TELEMETRY_FIELDS.map((f) => [f, new Float64Array(capacity * 2)])) as Record<
      TelemetryField,
      Float64Array
    >;
    this.gaps = Object.fromEntries(TELEMETRY_FIELDS.map((f) => [f, 0])) as Record<TelemetryField, number>;
  }

  /** Samples held. */
  get length(): number {
    return this.count;
  }

  /** Increments on every accepted sample; lets readers skip redraws when nothing changed. */
  get version(): number {
    return this.revision;
  }

  /** Timestamp of the newest sample, or -Infinity when empty. */
  get lastTs(): number {
    return this.count === 0 ? -Infinity : this.ts[this.start + this.count - 1];
  }

  /**
   * Appends a sample. Samples not newer than the last one are ignored: history and live events
   * overlap when a page opens, and charts need increasing timestamps. Returns whether it was kept.
   */
  push(point: TelemetryPoint): boolean {
    if (!(point.ts > this.lastTs)) return false;
    const cap = this.capacity;
    let slot: number;
    if (this.count < cap) {
      slot = (this.start + this.count) % cap;
      this.count++;
    } else {
      slot = this.start;
      for (const field of TELEMETRY_FIELDS) if (Number.isNaN(this.columns[field][slot])) this.gaps[field]--;
      this.start = (this.start + 1) % cap;
    }
    this.ts[slot] = point.ts;
    this.ts[slot + cap] = point.ts;
    for (const field of TELEMETRY_FIELDS) {
      const raw = point[field];
      const value = raw === null || !Number.isFinite(raw) ? NaN : raw;
      if (Number.isNaN(value)) this.gaps[field]++;
      this.columns[field][slot] = value;
      this.columns[field][slot + cap] = value;
    }
    if (point.prediction !== undefined) this.prediction = { ts: point.ts, prediction: point.prediction, confidence: point.confidence ?? 0 };
    this.revision++;
    return true;
  }

  /** The newest sample's model prediction (samples without one keep the previous), or null. */
  get latestPrediction(): LatestPrediction | null {
    return this.prediction;
  }

  /** Appends samples in order; returns how many were kept. */
  pushAll(points: readonly TelemetryPoint[]): number {
    let kept = 0;
    for (const point of points) if (this.push(point)) kept++;
    return kept;
  }

  /** Timestamps (ms) in time order, as a view into the ring (valid until the next push). */
  timestamps(): Float64Array {
    return this.ts.subarray(this.start, this.start + this.count);
  }

  /** One field in time order, NaN where missing, as a view into the ring. */
  values(field: TelemetryField): Float64Array {
    return this.columns[field].subarray(this.start, this.start + this.count);
  }

  /** Whether the held samples of a field have missing values. */
  hasGaps(field: TelemetryField): boolean {
    return this.gaps[field] > 0;
  }

  /** The newest value of a field, or null when missing or empty. */
  latest(field: TelemetryField): number | null {
    if (this.count === 0) return null;
    const v = this.columns[field][this.start + this.count - 1];
    return Number.isNaN(v) ? null : v;
  }

  /** Forgets every sample. */
  clear(): void {
    this.start = 0;
    this.count = 0;
    for (const field of TELEMETRY_FIELDS) this.gaps[field] = 0;
    this.prediction = null;
    this.revision++;
  }
}
