import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetentionJob, TelemetryIngest } from '../../../src-main/core/fleet';
import { Store, type TelemetrySample } from '../../../src-main/core/store';

let store: Store;
let now: number;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function sample(deviceId: string, ts: number, seq: number, extra: Partial<TelemetrySample> = {}): TelemetrySample {
  return { deviceId, ts, seq, battery: 90, temperature: 20, rssi: -60, freeHeap: null, inferenceMs: null, metrics: {}, ...extra };
}

beforeEach(() => {
  store = Store.openFile(':memory:');
  now = T0;
  for (const id of ['a', 'b']) {
    store.devices.insertMany([{ id, name: id, tags: [], mcu: 'rp2040', simulated: true, createdAt: 0, secretHash: 'x', mosquittoHash: 'y' }]);
  }
});
afterEach(() => store.close());

describe('TelemetryIngest', () => {
  it('writes queued samples in one flush and updates the latest telemetry once per device', () => {
    const ingest = new TelemetryIngest(store, { clock: () => now });
    ingest.push(sample('a', T0, 0, { battery: 95 }));
    ingest.push(sample('a', T0 + 1000, 1, { battery: 94, temperature: null }));
    ingest.push(sample('b', T0 + 500, 0, { rssi: -70 }));
    expect(store.telemetry.rawCount()).toBe(0);
    const reports: number[] = [];
    ingest.onFlush((r) => reports.push(r.samples.length));
    ingest.flush();
    expect(reports).toEqual([3]);
    expect(store.telemetry.rawCount('a')).toBe(2);
    // The newest sample wins; a measurement it lacks keeps the previous value.
    expect(store.devices.get('a')).toMatchObject({ battery: 94, temperature: 20, lastSeen: T0 + 1000 });
    expect(store.devices.get('b')).toMatchObject({ rssi: -70 });
    expect(store.counters.get('telemetry.ingested')).toBe(3);
    expect(store.telemetry.raw('a', 0, Number.MAX_SAFE_INTEGER, 10).map((p) => p.battery)).toEqual([95, 94]);
    expect(store.telemetry.raw('a', 0, Number.MAX_SAFE_INTEGER, 1).map((p) => p.battery)).toEqual([94]);
  });

  it('stores the latest telemetry at most once per interval, but reports it with every flush', () => {
    const ingest = new TelemetryIngest(store, { clock: () => now, latestIntervalMs: 1000 });
    const reported: Array<Record<string, number | null>> = [];
    ingest.onFlush((r) => reported.push(Object.fromEntries([...r.latest].map(([id, l]) => [id, l.battery]))));
    ingest.push(sample('a', T0, 0, { battery: 99 }));
    ingest.flush();
    ingest.push(sample('a', T0 + 200, 1, { battery: 98 }));
    ingest.push(sample('b', T0 + 200, 0, { battery: 50 }));
    now += 200;
    ingest.flush();
    expect(store.devices.get('a')?.battery).toBe(99);
    expect(store.devices.get('b')?.battery).toBeNull();
    // What the table does not hold yet, the ingest still knows.
    expect(ingest.pendingLatest('a')).toMatchObject({ battery: 98, lastSeen: T0 + 200 });
    expect(ingest.pendingLatest('b')).toMatchObject({ battery: 50 });
    expect(store.telemetry.rawCount()).toBe(3);
    now += 800;
    ingest.flush();
    expect(store.devices.get('a')?.battery).toBe(98);
    expect(store.devices.get('b')?.battery).toBe(50);
    expect(ingest.pendingLatest('a')).toBeUndefined();
    expect(reported).toEqual([{ a: 99 }, { a: 98, b: 50 }]);
  });

  it('downsamples into 1-minute means, merging late samples and separate flushes exactly', () => {
    const ingest = new TelemetryIngest(store, { clock: () => now, minuteGraceMs: 5000 });
    ingest.push(sample('a', T0 + 1000, 0, { battery: 90, metrics: { score: 1 } }));
    ingest.push(sample('a', T0 + 2000, 1, { battery: 80, metrics: { score: 3 } }));
    ingest.flush();
    // The minute is still open: nothing aggregated yet.
    expect(store.telemetry.minuteCount('a', T0)).toBe(0);
    ingest.push(sample('a', T0 + 3000, 2, { battery: 70, temperature: null }));
    now = T0 + 66_000;
    ingest.flush();
    expect(store.telemetry.minuteCount('a', T0)).toBe(3);
    // A late sample for the written minute merges into it.
    ingest.push(sample('a', T0 + 59_000, 3, { battery: 60, metrics: { score: 5, other: 2 } }));
    now = T0 + 130_000;
    ingest.flush();
    const [m] = store.telemetry.minutes('a', T0, T0, 10);
    expect(m.ts).toBe(T0);
    expect(m.battery).toBeCloseTo(75);
    expect(m.temperature).toBeCloseTo(20);
    expect(m.metrics).toEqual({ score: 3, other: 2 });
    expect(store.telemetry.minuteCount('a', T0)).toBe(4);
  });

  it('closes the open minutes when it closes', async () => {
    const ingest = new TelemetryIngest(store, { clock: () => now });
    ingest.push(sample('b', T0 + 10, 0));
    await ingest.close();
    expect(store.telemetry.minuteCount('b', T0)).toBe(1);
    expect(store.telemetry.rawCount('b')).toBe(1);
  });

  it('drops and counts samples beyond the queue limit instead of growing without bound', async () => {
    const ingest = new TelemetryIngest(store, { clock: () => now, maxQueue: 2, maxBatch: 100 });
    expect([ingest.push(sample('a', T0, 0)), ingest.push(sample('a', T0, 1)), ingest.push(sample('a', T0, 2))]).toEqual([true, true, false]);
    expect(ingest.dropped).toBe(1);
    await ingest.close();
  });
});

describe('RetentionJob', () => {
  it('deletes raw samples after the raw retention and aggregates after theirs, in bounded steps', async () => {
    const ingest = new TelemetryIngest(store, { clock: () => now });
    const hour = 3_600_000;
    for (let i = 0; i < 5; i++) ingest.push(sample('a', T0 - 3 * hour + i, i));
    ingest.push(sample('a', T0 - 10, 9));
    await ingest.close();
    store.events.insertMany([{ deviceId: 'a', ts: T0 - 40 * 86_400_000, kind: 'boot', level: 'info', message: 'old' }]);
    const job = new RetentionJob(store, () => ({ rawRetentionHours: 2, aggregateRetentionDays: 30 }), { clock: () => now, stepRows: 3 });
    expect(job.runOnce()).toEqual({ raw: 3, minutes: 0, events: 1 });
    expect(job.runOnce().raw).toBe(2);
    expect(store.telemetry.rawCount('a')).toBe(1);
    expect(store.telemetry.minuteCount('a', T0 - 3 * hour)).toBe(5);
    now = T0 + 31 * 86_400_000;
    expect(job.runOnce().minutes).toBe(2);
  });

  it('reports a failed pass and keeps running instead of throwing from its timer', async () => {
    const errors: string[] = [];
    const job = new RetentionJob(store, () => ({ rawRetentionHours: 2, aggregateRetentionDays: 30 }), { intervalMs: 10, onError: (e) => errors.push(e.message) });
    store.close();
    job.start();
    await new Promise((r) => setTimeout(r, 80));
    job.stop();
    expect(errors.length).toBeGreaterThan(1);
    expect(errors[0]).toMatch(/not open/);
  });
});
