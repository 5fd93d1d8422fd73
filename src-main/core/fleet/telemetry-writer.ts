import type { LatestTelemetry, MinuteAggregate, Store, TelemetrySample } from '../store';

/** What one ingest flush writes, in one transaction. */
export interface TelemetryBatch {
  samples: TelemetrySample[];
  /** 1-minute aggregates to merge. */
  closed: MinuteAggregate[];
  /** The devices table's latest-telemetry columns to update, or null when not due. */
  latest: LatestTelemetry[] | null;
}

/**
 * Writes ingest batches, in the order given. `write` returns the commit time: at once when the
 * writer runs on the calling thread, as a promise when it runs in a worker thread.
 */
export interface TelemetryWriter {
  write(batch: TelemetryBatch): number | Promise<number>;
  /** Waits for the batches given so far, then releases the writer. */
  close(): Promise<void>;
}

/** The body of every telemetry transaction (the inline writer and the writer worker share it). */
export function writeTelemetryBatch(store: Store, batch: TelemetryBatch): void {
  store.transaction(() => {
    store.telemetry.insertRaw(batch.samples);
    store.telemetry.mergeMinutes(batch.closed);
    if (batch.latest) store.devices.updateLatest(batch.latest);
    store.counters.add('telemetry.ingested', batch.samples.length);
  });
}

/** Writes on the calling thread, through the app's own connection (in-memory stores, tests). */
export class InlineTelemetryWriter implements TelemetryWriter {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  write(batch: TelemetryBatch): number {
    writeTelemetryBatch(this.store, batch);
    return this.clock();
  }

  async close(): Promise<void> {}
}
