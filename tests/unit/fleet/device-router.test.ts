import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceRouter, type DeviceMessage } from '../../../src-main/core/fleet';
import { APP_SUBSCRIPTIONS } from '../../../src-main/core/protocol';
import { FakeConnection } from './fake-connection';

let connection: FakeConnection;
let router: DeviceRouter;
const devices = new Set(['dev-a', 'dev-b']);

beforeEach(async () => {
  connection = new FakeConnection();
  router = new DeviceRouter({ isDevice: (id) => devices.has(id), clock: () => 0 });
  await router.attach(connection);
});
afterEach(() => router.detach());

describe('DeviceRouter', () => {
  it('subscribes to the topic table once and hands each kind to the one service that registered it', () => {
    expect(connection.subscriptions).toEqual(APP_SUBSCRIPTIONS.map((s) => s.filter));
    expect(connection.listeners).toBe(1);
    const status: DeviceMessage<'status'>[] = [];
    const xfer: DeviceMessage<'xfer'>[] = [];
    router.register('status', (m) => status.push(m));
    router.register('xfer', (m) => xfer.push(m));
    connection.deliver('tf/v1/dev-a/status', '{"v":1}');
    connection.deliver('tf/v1/dev-b/xfer/pkg-7/req', 'bitmap');
    expect(status).toEqual([{ deviceId: 'dev-a', kind: 'status', payload: Buffer.from('{"v":1}') }]);
    expect(xfer).toEqual([{ deviceId: 'dev-b', kind: 'xfer', levels: ['pkg-7', 'req'], payload: Buffer.from('bitmap') }]);
    expect(router.traffic).toEqual({ unknownDevice: 0, malformed: 0, unrouted: 0 });
  });

  it('counts a kind nobody registered as unrouted, not malformed, also after its service left', () => {
    connection.deliver('tf/v1/dev-a/xfer/pkg-7/req', 'bitmap');
    const evt = router.register('evt', () => {});
    connection.deliver('tf/v1/dev-a/evt', '{}');
    evt.dispose();
    connection.deliver('tf/v1/dev-a/evt', '{}');
    expect(router.traffic).toEqual({ unknownDevice: 0, malformed: 0, unrouted: 2 });
  });

  it('delivers nothing from unknown senders or on topics outside v1, and counts both', () => {
    const got: unknown[] = [];
    router.register('telemetry', (m) => got.push(m));
    connection.deliver('tf/v1/ghost/telemetry', '{}');
    connection.deliver('tf/v1/UPPER/telemetry', '{}');
    connection.deliver('tf/v1/dev-a/telemetry/extra', '{}');
    connection.deliver('tf/v1/dev-a/xfer', '{}');
    expect(got).toEqual([]);
    expect(router.traffic).toEqual({ unknownDevice: 1, malformed: 3, unrouted: 0 });
  });

  it('skips a cleared retained status (empty payload) without counting it, even for a removed device', () => {
    const got: unknown[] = [];
    router.register('status', (m) => got.push(m));
    connection.deliver('tf/v1/dev-a/status', '');
    connection.deliver('tf/v1/gone/status', '');
    expect(got).toEqual([]);
    expect(router.traffic).toEqual({ unknownDevice: 0, malformed: 0, unrouted: 0 });
  });

  it('counts what a handler reports unreadable and what it throws on, and keeps routing', () => {
    let calls = 0;
    router.register('res', ({ deviceId }) => {
      calls++;
      if (calls === 1) router.malformed(deviceId, 'not JSON');
      if (calls === 2) throw new Error('handler bug');
    });
    for (let i = 0; i < 3; i++) connection.deliver('tf/v1/dev-a/res', '{}');
    expect(calls).toBe(3);
    expect(router.traffic.malformed).toBe(2);
  });

  it('lets one service own a kind at a time', () => {
    const first = router.register('cmd', () => {});
    expect(() => router.register('cmd', () => {})).toThrow(/already have a handler/);
    first.dispose();
    expect(() => router.register('cmd', () => {})).not.toThrow();
  });

  it('sends with the QoS and retain flag of the kind, and builds subtree topics from levels', async () => {
    await router.send('dev-a', 'cmd', '{"id":"c1"}');
    await router.send('dev-a', 'xfer', Buffer.from('block'), ['pkg-7', 'blk']);
    expect(connection.published).toEqual([
      { topic: 'tf/v1/dev-a/cmd', payload: '{"id":"c1"}', qos: 1, retain: false },
      { topic: 'tf/v1/dev-a/xfer/pkg-7/blk', payload: 'block', qos: 1, retain: false },
    ]);
  });

  it('moves to a new connection: the old one delivers nothing more, and detach unsubscribes', async () => {
    const got: string[] = [];
    router.register('evt', (m) => got.push(m.deviceId));
    const next = new FakeConnection();
    await router.attach(next);
    connection.deliver('tf/v1/dev-a/evt', '{}');
    next.deliver('tf/v1/dev-b/evt', '{}');
    expect(got).toEqual(['dev-b']);
    expect(connection.listeners).toBe(0);
    await router.detach();
    expect(next.subscriptions).toEqual([]);
    expect(router.connected).toBe(false);
    await expect(router.send('dev-a', 'cmd', '{}')).rejects.toThrow(/no MQTT connection/);
  });
});
