import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceEventLog, DeviceRouter } from '../../../src-main/core/fleet';
import type { Store } from '../../../src-main/core/store';
import { FakeConnection, storeWithDevices } from './fake-connection';
import { RecordingSink } from './recording-sink';

/** The event log against a fake connection and vitest's fake clock. */

const NOW = Date.UTC(2026, 0, 1);
let store: Store;
let connection: FakeConnection;
let router: DeviceRouter;
let sink: RecordingSink;
let log: DeviceEventLog;

beforeEach(async () => {
  vi.useFakeTimers({ now: NOW });
  store = storeWithDevices(['dev-a', 'dev-b']);
  connection = new FakeConnection();
  router = new DeviceRouter({ isDevice: (id) => store.devices.has(id) });
  await router.attach(connection);
  sink = new RecordingSink();
  log = new DeviceEventLog({ store, router, events: sink, clock: () => Date.now() });
  log.start();
});
afterEach(() => {
  log.dispose();
  store.close();
  vi.useRealTimers();
});

const evt = (i: number, ts = Date.now()) => ({ v: 1, ts, kind: 'low_battery', level: 'warn', message: `#${i}` });

describe('DeviceEventLog', () => {
  it('stores device events in batches and pushes them only to subscribers of that device', async () => {
    sink.listen('fleet.deviceEvents/dev-a');
    connection.deliver('tf/v1/dev-a/evt', evt(1));
    connection.deliver('tf/v1/dev-b/evt', evt(2, 0)); // no clock yet: stored at the receive time
    expect(store.events.recent('dev-a', 10)).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(store.events.recent('dev-a', 10)).toEqual([expect.objectContaining({ kind: 'low_battery', level: 'warn', message: '#1', ts: NOW })]);
    expect(store.events.recent('dev-b', 10)[0]).toMatchObject({ message: '#2', ts: NOW });
    expect(sink.emitted.map((e) => e.event)).toEqual(['fleet.deviceEvents/dev-a']);
    expect(sink.of('fleet.deviceEvents/dev-a')[0].events.map((e) => e.message)).toEqual(['#1']);
  });

  it('hands every well-formed event to listeners, also those past the flood limit, until unsubscribed', () => {
    const seen: Array<[string, string, unknown]> = [];
    const off = log.onEvent((deviceId, kind, data) => seen.push([deviceId, kind, data]));
    for (let i = 0; i < 30; i++) connection.deliver('tf/v1/dev-a/evt', { ...evt(i), kind: 'round_result', data: { i } });
    connection.deliver('tf/v1/dev-a/evt', { v: 1, kind: 'broken' });
    expect(seen).toHaveLength(30);
    expect(seen[29]).toEqual(['dev-a', 'round_result', { i: 29 }]);
    off();
    connection.deliver('tf/v1/dev-a/evt', evt(99));
    expect(seen).toHaveLength(30);
  });

  it('includes events still queued when asked for recent ones', () => {
    log.append({ deviceId: 'dev-a', ts: NOW, kind: 'presence', level: 'info', message: 'online' });
    expect(log.recent('dev-a', 5).map((e) => e.message)).toEqual(['online']);
  });

  it('lets a device burst 20 events, then 5 a second', async () => {
    for (let i = 0; i < 50; i++) connection.deliver('tf/v1/dev-a/evt', evt(i));
    expect(log.recent('dev-a', 1000)).toHaveLength(20);
    await vi.advanceTimersByTimeAsync(1000);
    for (let i = 0; i < 50; i++) connection.deliver('tf/v1/dev-a/evt', evt(i));
    expect(log.recent('dev-a', 1000)).toHaveLength(25);
    // Another device has its own budget.
    connection.deliver('tf/v1/dev-b/evt', evt(0));
    expect(log.recent('dev-b', 10)).toHaveLength(1);
  });

  it('counts an unreadable event as malformed and stores nothing', () => {
    connection.deliver('tf/v1/dev-a/evt', { v: 1, ts: 1, kind: 'BAD KIND', level: 'info', message: '' });
    connection.deliver('tf/v1/dev-a/evt', '[]');
    expect(router.traffic.malformed).toBe(2);
    expect(log.recent('dev-a', 10)).toEqual([]);
  });
});
