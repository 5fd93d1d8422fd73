import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelemetryIngest, WorkerTelemetryWriter, type FlushReport } from '../../src-main/core/fleet';
import { Store, type TelemetrySample } from '../../src-main/core/store';

/**
 * The app writes telemetry from a worker thread with its own SQLite connection: what it commits
 * must be visible to the app's connection, in order, with nothing lost when a batch fails and
 * nothing left behind when the ingest closes.
 */

let dir: string;
let store: Store;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function sample(deviceId: string, ts: number, seq: number, battery: number): TelemetrySample {
  return { deviceId, ts, seq, battery, temperature: 20, rssi: -60, freeHeap: 1000, inferenceMs: null, metrics: seq % 2 ? { score: seq } : {} };
}

function nextFlush(ingest: TelemetryIngest): Promise<FlushReport> {
  return new Promise((resolve) => {
    const off = ingest.onFlush((r) => {
      off();
      resolve(r);
    });
  });
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-writer-'));
  store = Store.open(dir);
  store.devices.insertMany(['a', 'b'].map((id) => ({ id, name: id, tags: [], mcu: 'rp2040', simulated: true, createdAt: 0, secretHash: 'x', mosquittoHash: 'y' })));
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('WorkerTelemetryWriter', () => {
  it('commits batches from a worker thread that the app connection then reads', async () => {
    const writer = WorkerTelemetryWriter.forStore(store);
    expect(writer).not.toBeNull();
    const ingest = new TelemetryIngest(store, { writer: writer!, latestIntervalMs: 0 });
    for (let i = 0; i < 500; i++) ingest.push(sample(i % 2 ? 'a' : 'b', T0 + i, i, 100 - i / 10));
    const flushed = nextFlush(ingest);
    const before = Date.now();
    ingest.flush();
    // Until the worker commits, the ingest still answers for the devices' newest values.
    expect(ingest.queued).toBe(500);
    expect(ingest.pendingLatest('a')).toMatchObject({ lastSeen: T0 + 499, battery: 100 - 49.9 });
    const report = await flushed;
    expect(report.samples).toHaveLength(500);
    expect(report.storedAt).toBeGreaterThanOrEqual(before);
    expect(ingest.queued).toBe(0);
    expect(ingest.stored).toBe(500);
    expect(store.telemetry.rawCount('a')).toBe(250);
    expect(store.telemetry.raw('a', 0, Number.MAX_SAFE_INTEGER, 1)[0]).toMatchObject({ ts: T0 + 499, metrics: { score: 499 } });
    expect(store.devices.get('a')).toMatchObject({ lastSeen: T0 + 499, battery: 100 - 49.9 });
    expect(store.counters.get('telemetry.ingested')).toBe(500);
    // close() writes the open minutes through the worker before it returns.
    await ingest.close();
    expect(store.telemetry.minuteCount('a', T0)).toBe(250);
  });

  it('counts a failed batch as dropped, keeps what was stored and goes on writing', async () => {
    const ingest = new TelemetryIngest(store, { writer: WorkerTelemetryWriter.forStore(store)! });
    ingest.push(sample('a', T0, 0, 90));
    let flushed = nextFlush(ingest);
    ingest.flush();
    await flushed;
    // A sample the table refuses (seq must be an integer): its whole batch fails in the worker.
    ingest.push({ ...sample('a', T0 + 1, 1, 89), seq: 1.5 });
    ingest.push(sample('b', T0 + 1, 0, 80));
    ingest.flush();
    await expect.poll(() => ingest.dropped).toBe(2);
    expect(ingest.lastWriteError).toMatch(/cannot store telemetry: .*(seq|INTEGER|datatype)/i);
    expect(store.telemetry.rawCount()).toBe(1);
    ingest.push(sample('b', T0 + 2, 1, 79));
    flushed = nextFlush(ingest);
    ingest.flush();
    await flushed;
    expect(store.telemetry.rawCount()).toBe(2);
    await ingest.close();
  });

  it('is not used for an in-memory store, which a worker cannot open', () => {
    const memory = Store.openFile(':memory:');
    expect(WorkerTelemetryWriter.forStore(memory)).toBeNull();
    memory.close();
  });
});
