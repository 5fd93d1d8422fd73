import type { TelemetryPoint } from '../contract';
import type { LatestTelemetry, MinuteAggregate, Store, TelemetryField, TelemetrySample } from '../store';
import { TELEMETRY_FIELDS } from '../store';
import { InlineTelemetryWriter, type TelemetryBatch, type TelemetryWriter } from './telemetry-writer';

/** Tuning of the ingest; the defaults sustain 10,000 devices at one message per second. */
export interface IngestOptions {
  /** Flush period (ms). */
  flushIntervalMs?: number;
  /** Flush early once this many samples wait. */
  maxBatch?: number;
  /** Above this many waiting samples new ones are dropped (and counted): the store cannot keep up. */
  maxQueue?: number;
  /** Late samples for a minute are merged for this long after it ends before the minute is written. */
  minuteGraceMs?: number;
  /**
   * The devices table's latest-telemetry columns are written at most this often (ms): one UPDATE
   * per device per interval, however many samples arrived. Listeners get each flush's latest
   * values at once (FlushReport.latest), so the live fleet table does not wait for this write;
   * it only bounds how stale the stored columns (sorting, the detail page) can be.
   */
  latestIntervalMs?: number;
  /**
   * Where batches are written (the ingest closes it): default the store's own connection on this
   * thread; the app passes a WorkerTelemetryWriter.
   */
  writer?: TelemetryWriter;
  clock?: () => number;
}

/** What one flush stored, for listeners (live charts, benchmarks). */
export interface FlushReport {
  /** Samples in arrival order with the time each was received. */
  samples: readonly TelemetrySample[];
  receivedAt: readonly number[];
  storedAt: number;
  /** Devices that sent the samples of this flush. */
  devices: ReadonlySet<string>;
  /** Each device's latest telemetry in this flush (measurements it lacked are null). */
  latest: ReadonlyMap<string, LatestTelemetry>;
}

const MINUTE = 60_000;

function emptyAggregate(deviceId: string, minute: number): MinuteAggregate {
  const zeros = (): Record<TelemetryField, number> => ({ battery: 0, temperature: 0, rssi: 0, freeHeap: 0, inferenceMs: 0 });
  return { deviceId, minute, count: 0, sums: zeros(), counts: zeros(), metrics: {} };
}

/** Folds a sample into per-device latest values: the newest sample wins, a measurement it lacks keeps the previous one. */
function mergeLatest(latest: Map<string, LatestTelemetry>, s: TelemetrySample): void {
  const prev = latest.get(s.deviceId);
  if (prev && s.ts < prev.lastSeen) return;
  latest.set(s.deviceId, {
    id: s.deviceId,
    lastSeen: s.ts,
    battery: s.battery ?? prev?.battery ?? null,
    temperature: s.temperature ?? prev?.temperature ?? null,
    rssi: s.rssi ?? prev?.rssi ?? null,
    freeHeap: s.freeHeap ?? prev?.freeHeap ?? null,
    inferenceMs: s.inferenceMs ?? prev?.inferenceMs ?? null,
    prediction: s.prediction ?? prev?.prediction ?? null,
    confidence: s.confidence ?? prev?.confidence ?? null,
  });
}

/** A stored sample as the contract shows it. */
export function toTelemetryPoint(s: TelemetrySample): TelemetryPoint {
  return {
    ts: s.ts,
    battery: s.battery,
    temperature: s.temperature,
    rssi: s.rssi,
    freeHeap: s.freeHeap,
    inferenceMs: s.inferenceMs,
    ...(s.prediction != null ? { prediction: s.prediction, confidence: s.confidence ?? 0 } : {}),
    metrics: s.metrics,
  };
}

/**
 * Batched telemetry ingest. Samples are queued and written every `flushIntervalMs` (or as soon as
 * `maxBatch` wait) in ONE transaction with prepared statements: the raw rows, the 1-minute
 * aggregates of minutes that have closed and, at most once per `latestIntervalMs`, one
 * latest-telemetry UPDATE per device (not per message).
 * Aggregates are sums and counts, so late samples merge into a written minute exactly.
 * Aggregates of the still-open minute live in memory until it closes (or until `close()`).
 */
export class TelemetryIngest {
  private queue: TelemetrySample[] = [];
  private received: number[] = [];
  private readonly open = new Map<string, MinuteAggregate>();
  private latest = new Map<string, LatestTelemetry>();
  private latestWrittenAt = Number.NEGATIVE_INFINITY;
  private readonly latestIntervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private flushScheduled = false;
  private readonly listeners = new Set<(report: FlushReport) => void>();
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly minuteGraceMs: number;
  private readonly clock: () => number;
  private readonly writer: TelemetryWriter;
  /** Batches handed to an asynchronous writer and not yet committed, oldest first. */
  private readonly inFlight: Array<{ samples: number; latest: Map<string, LatestTelemetry> | null; done: Promise<void> }> = [];
  /** Samples written since start. */
  stored = 0;
  /** Samples dropped because the queue was full or their write failed. */
  dropped = 0;
  /** Why the last failed write failed, or null. */
  lastWriteError: string | null = null;

  constructor(
    private readonly store: Store,
    options: IngestOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.maxBatch = options.maxBatch ?? 5000;
    this.maxQueue = options.maxQueue ?? 200_000;
    this.minuteGraceMs = options.minuteGraceMs ?? 5000;
    this.latestIntervalMs = options.latestIntervalMs ?? 5000;
    this.clock = options.clock ?? Date.now;
    this.writer = options.writer ?? new InlineTelemetryWriter(store, this.clock);
  }

  /** Starts the periodic flush. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.flushIntervalMs);
    this.timer.unref?.();
  }

  /** Samples waiting to be written (queued here or being written). */
  get queued(): number {
    return this.queue.length + this.writing();
  }

  /** Samples handed to the writer and not yet committed. */
  private writing(): number {
    let n = 0;
    for (const batch of this.inFlight) n += batch.samples;
    return n;
  }

  /** A device's telemetry received but not yet in the devices table's latest columns. */
  pendingLatest(deviceId: string): LatestTelemetry | undefined {
    const queued = this.latest.get(deviceId);
    if (queued) return queued;
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const writing = this.inFlight[i].latest?.get(deviceId);
      if (writing) return writing;
    }
    return undefined;
  }

  /** Calls `listener` after every flush; returns a function that removes it. */
  onFlush(listener: (report: FlushReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues one sample. Returns false when it was dropped because the queue is full. */
  push(sample: TelemetrySample): boolean {
    if (this.queued >= this.maxQueue) {
      this.dropped++;
      return false;
    }
    this.queue.push(sample);
    this.received.push(this.clock());
    if (this.queue.length >= this.maxBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  private aggregate(s: TelemetrySample, closed: MinuteAggregate[]): void {
    const minute = s.ts - (s.ts % MINUTE);
    let agg = this.open.get(s.deviceId);
    if (!agg || agg.minute !== minute) {
      if (agg && agg.minute < minute) {
        closed.push(agg);
        agg = emptyAggregate(s.deviceId, minute);
        this.open.set(s.deviceId, agg);
      } else if (!agg) {
        agg = emptyAggregate(s.deviceId, minute);
        this.open.set(s.deviceId, agg);
      } else {
        // A late sample for a minute already closed: write it as its own partial aggregate.
        agg = emptyAggregate(s.deviceId, minute);
        closed.push(agg);
      }
    }
    agg.count++;
    for (const field of TELEMETRY_FIELDS) {
      const v = s[field];
      if (v !== null) {
        agg.sums[field] += v;
        agg.counts[field]++;
      }
    }
    for (const name in s.metrics) {
      const m = agg.metrics[name];
      if (m) {
        m[0] += s.metrics[name];
        m[1]++;
      } else agg.metrics[name] = [s.metrics[name], 1];
    }
  }

  /** Writes everything queued now (also called by the timer). */
  flush(options: { closeAllMinutes?: boolean } = {}): void {
    this.flushScheduled = false;
    const samples = this.queue;
    const receivedAt = this.received;
    this.queue = [];
    this.received = [];
    const closed: MinuteAggregate[] = [];
    const devices = new Set<string>();
    const seen = new Map<string, LatestTelemetry>();
    for (const s of samples) {
      devices.add(s.deviceId);
      this.aggregate(s, closed);
      mergeLatest(this.latest, s);
      mergeLatest(seen, s);
    }
    const now = this.clock();
    for (const [id, agg] of this.open) {
      if (options.closeAllMinutes || agg.minute + MINUTE + this.minuteGraceMs <= now) {
        closed.push(agg);
        this.open.delete(id);
      }
    }
    const latest = this.latest;
    const writeLatest = latest.size > 0 && (options.closeAllMinutes || now - this.latestWrittenAt >= this.latestIntervalMs);
    if (samples.length === 0 && closed.length === 0 && !writeLatest) return;
    const batch: TelemetryBatch = { samples, closed, latest: writeLatest ? [...latest.values()] : null };
    if (writeLatest) {
      this.latest = new Map();
      this.latestWrittenAt = now;
    }
    const written = (storedAt: number): void => {
      this.stored += samples.length;
      if (samples.length && this.listeners.size) {
        const report: FlushReport = { samples, receivedAt, storedAt, devices, latest: seen };
        for (const listener of this.listeners) listener(report);
      }
    };
    let result: number | Promise<number>;
    try {
      result = this.writer.write(batch);
    } catch (err) {
      this.dropped += samples.length;
      this.lastWriteError = (err as Error).message;
      return;
    }
    if (typeof result === 'number') {
      written(result);
      return;
    }
    const entry = {
      samples: samples.length,
      latest: writeLatest ? latest : null,
      done: result.then(
        (storedAt) => {
          this.inFlight.splice(this.inFlight.indexOf(entry), 1);
          written(storedAt);
        },
        (err: unknown) => {
          this.inFlight.splice(this.inFlight.indexOf(entry), 1);
          this.dropped += samples.length;
          this.lastWriteError = (err as Error).message;
        },
      ),
    };
    this.inFlight.push(entry);
  }

  /** Stops the timer, writes everything (including the open minutes) and releases the writer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush({ closeAllMinutes: true });
    await Promise.all(this.inFlight.map((batch) => batch.done));
    await this.writer.close();
    this.listeners.clear();
  }
}
