import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetChangeFeed, TelemetryIngest, type DeviceTraffic } from '../../../src-main/core/fleet';
import type { Store } from '../../../src-main/core/store';
import { storeWithDevices } from './fake-connection';
import { RecordingSink } from './recording-sink';

/** The UI change feed against vitest's fake clock, with the real store and ingest. */

const NOW = Date.UTC(2026, 0, 1);
let store: Store;
let sink: RecordingSink;
let ingest: TelemetryIngest;
let feed: FleetChangeFeed;
const traffic: DeviceTraffic = { unknownDevice: 0, malformed: 0, unrouted: 0 };

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  store = storeWithDevices(['dev-a', 'dev-b', 'dev-c']);
  sink = new RecordingSink();
  const clock = () => Date.now();
  ingest = new TelemetryIngest(store, { clock, flushIntervalMs: 100 });
  feed = new FleetChangeFeed({ store, ingest, events: sink, traffic: () => traffic, clock, emitIntervalMs: 1000 });
  feed.start();
  ingest.start();
});
afterEach(async () => {
  feed.stop();
  await ingest.close();
  store.close();
  vi.useRealTimers();
});

const sample = (deviceId: string, seq: number, battery: number) => ({ deviceId, ts: Date.now(), seq, battery, temperature: null, rssi: null, freeHeap: null, inferenceMs: null, metrics: {} });
const rows = () => sink.of('fleet.devices');

describe('FleetChangeFeed', () => {
  it('coalesces row changes into one fleet.devices every 250 ms, each device once', async () => {
    feed.changed('dev-a');
    feed.changed('dev-a');
    feed.added(['dev-b']);
    feed.deviceRemoved('dev-c');
    await vi.advanceTimersByTimeAsync(249);
    expect(rows()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(rows()).toHaveLength(1);
    expect(rows()[0].changed.map((d) => d.id).sort()).toEqual(['dev-a', 'dev-b']);
    expect(rows()[0].removed).toEqual(['dev-c']);
    await vi.advanceTimersByTimeAsync(500);
    expect(rows()).toHaveLength(1);
  });

  it('patches rows with new telemetry in memory and streams samples only to that device\'s subscribers', async () => {
    sink.listen('fleet.telemetry/dev-a');
    ingest.push(sample('dev-a', 1, 90));
    ingest.push(sample('dev-b', 1, 70));
    await vi.advanceTimersByTimeAsync(250);
    const first = rows().flatMap((p) => p.changed);
    expect(first.map((d) => [d.id, d.battery]).sort()).toEqual([['dev-a', 90], ['dev-b', 70]]);
    ingest.push(sample('dev-a', 2, 89));
    await vi.advanceTimersByTimeAsync(250);
    expect(rows().at(-1)!.changed.map((d) => [d.id, d.battery])).toEqual([['dev-a', 89]]);
    expect(sink.of('fleet.telemetry/dev-a').flatMap((p) => p.points).map((p) => p.battery)).toEqual([90, 89]);
    expect(sink.emitted.some((e) => e.event === 'fleet.telemetry/dev-b')).toBe(false);
  });

  it('emits fleet.stats every interval with counts, the ingest rate and the router\'s traffic counters', async () => {
    store.devices.setStatus('dev-a', 'online', NOW);
    traffic.unrouted = 3;
    traffic.malformed = 2;
    for (let i = 0; i < 10; i++) ingest.push(sample('dev-a', i, 50));
    await vi.advanceTimersByTimeAsync(1000);
    expect(sink.of('fleet.stats')).toHaveLength(1);
    expect(sink.of('fleet.stats')[0]).toMatchObject({
      devices: 3,
      online: 1,
      unknown: 2,
      byMcu: { rp2040: 3 },
      telemetryPerSec: 10,
      malformedMessages: 2,
      unroutedMessages: 3,
      unknownDeviceMessages: 0,
      ingestQueue: 0,
    });
  });
});
