import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceEventLog, DevicePresence, DeviceRouter, FleetChangeFeed, TelemetryIngest } from '../../../src-main/core/fleet';
import type { Store } from '../../../src-main/core/store';
import { FakeConnection, storeWithDevices } from './fake-connection';
import { RecordingSink } from './recording-sink';

/** Presence against a fake connection and vitest's fake clock, with the real store, ingest, event log and feed. */

let store: Store;
let connection: FakeConnection;
let router: DeviceRouter;
let sink: RecordingSink;
let ingest: TelemetryIngest;
let eventLog: DeviceEventLog;
let feed: FleetChangeFeed;
let presence: DevicePresence;
const online: string[] = [];
const NOW = Date.UTC(2026, 0, 1);

const birth = (mcu = 'rp2040') => ({
  v: 1,
  state: 'online',
  ts: Date.now(),
  fw: '2.0.0',
  runtime: 'tinyfleet-rt/0.1',
  mcu,
  sramFree: 50_000,
  flashFree: 500_000,
  slots: [{ slot: 'a', model: 'kws@1', active: true }],
  telemetryIntervalMs: 1000,
});

beforeEach(async () => {
  vi.useFakeTimers({ now: NOW });
  store = storeWithDevices(['dev-a', 'dev-b']);
  connection = new FakeConnection();
  const clock = () => Date.now();
  router = new DeviceRouter({ isDevice: (id) => store.devices.has(id), clock });
  sink = new RecordingSink();
  ingest = new TelemetryIngest(store, { clock, flushIntervalMs: 50 });
  eventLog = new DeviceEventLog({ store, router, events: sink, clock });
  feed = new FleetChangeFeed({ store, ingest, events: sink, traffic: () => router.traffic, clock, emitIntervalMs: 1000 });
  online.length = 0;
  presence = new DevicePresence({ store, router, ingest, eventLog, feed, clock, onOnline: (id) => online.push(id) });
  feed.start();
  await router.attach(connection);
});
afterEach(async () => {
  presence.dispose();
  feed.stop();
  eventLog.dispose();
  await ingest.close();
  store.close();
  vi.useRealTimers();
});

const presenceEvents = (id: string) => eventLog.recent(id, 50).filter((e) => e.kind === 'presence');

describe('DevicePresence', () => {
  it('applies a birth: device facts, status online, a presence event, a row change, and says the device is back', async () => {
    connection.deliver('tf/v1/dev-a/status', birth());
    expect(store.devices.get('dev-a')).toMatchObject({ status: 'online', firmware: '2.0.0', model: 'kws@1', sramFree: 50_000, telemetryIntervalMs: 1000 });
    expect(online).toEqual(['dev-a']);
    expect(presenceEvents('dev-a')).toEqual([expect.objectContaining({ level: 'info', message: 'online, firmware 2.0.0', data: { from: 'unknown', to: 'online' } })]);
    await vi.advanceTimersByTimeAsync(250);
    expect(sink.of('fleet.devices').flatMap((p) => p.changed).map((d) => [d.id, d.status])).toEqual([['dev-a', 'online']]);
  });

  it('notes a last will as a warning, a goodbye with its reason, and an MCU that differs from the registry', () => {
    connection.deliver('tf/v1/dev-a/status', birth('stm32f746'));
    connection.deliver('tf/v1/dev-a/status', { v: 1, state: 'offline', ts: Date.now(), reason: 'shutdown' });
    connection.deliver('tf/v1/dev-b/status', { v: 1, state: 'lost', ts: Date.now() });
    expect(store.devices.get('dev-a')?.status).toBe('offline');
    expect(store.devices.get('dev-b')?.status).toBe('lost');
    expect(eventLog.recent('dev-a', 10).map((e) => e.message)).toEqual(['offline (shutdown)', 'online, firmware 2.0.0', 'registered as rp2040, reports stm32f746']);
    expect(presenceEvents('dev-b')[0]).toMatchObject({ level: 'warn', message: 'connection lost (last will)' });
    expect(online).toEqual(['dev-a']);
  });

  it('relearns presence without news: online devices become unknown until their retained birth confirms them', () => {
    connection.deliver('tf/v1/dev-a/status', birth());
    expect(presence.relearn()).toEqual(['dev-a']);
    expect(store.devices.get('dev-a')?.status).toBe('unknown');
    connection.deliver('tf/v1/dev-a/status', birth());
    expect(store.devices.get('dev-a')?.status).toBe('online');
    expect(presenceEvents('dev-a')).toHaveLength(1);
  });

  it('takes telemetry into the ingest with a trusted timestamp and counts unreadable payloads', () => {
    connection.deliver('tf/v1/dev-a/telemetry', { v: 1, ts: Date.now() - 10, seq: 1, battery: 80, metrics: { score: 0.5 } });
    connection.deliver('tf/v1/dev-b/telemetry', { v: 1, ts: 0, seq: 1, rssi: -40 }); // no clock yet: the receive time is used
    connection.deliver('tf/v1/dev-a/telemetry', '{not json');
    connection.deliver('tf/v1/dev-a/status', { v: 1, state: 'exploded', ts: 1 });
    ingest.flush();
    expect(store.telemetry.raw('dev-a', 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([expect.objectContaining({ ts: NOW - 10, battery: 80, metrics: { score: 0.5 } })]);
    expect(store.telemetry.raw('dev-b', 0, Number.MAX_SAFE_INTEGER, 10)).toEqual([expect.objectContaining({ ts: NOW, rssi: -40 })]);
    expect(router.traffic.malformed).toBe(2);
  });

  it('stores a telemetry interval the device confirmed, and nothing it did not', () => {
    const base = { id: 'c1', deviceId: 'dev-a', command: 'set_telemetry_interval', params: { ms: 2500 }, error: null, sentAt: 1, answeredAt: 2 };
    presence.applyCommandResult({ ...base, state: 'error', result: undefined });
    expect(store.devices.get('dev-a')?.telemetryIntervalMs).toBeNull();
    presence.applyCommandResult({ ...base, state: 'ok', result: { telemetryIntervalMs: 2500 } });
    expect(store.devices.get('dev-a')?.telemetryIntervalMs).toBe(2500);
  });
});
