import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker, StoreAuthenticator, ensureOperatorCredentials, issueCredentials, type InProcessOperatorConnection } from '../../src-main/core/broker';
import { DeviceRouter } from '../../src-main/core/fleet';
import { Store } from '../../src-main/core/store';

/**
 * The app's in-process operator link to the embedded broker must look to devices, and to the
 * fleet service, exactly like an operator logged in over MQTT: retained messages on subscribe,
 * live messages after them, publishes with QoS and retain, and no delivery after unsubscribe.
 */

function connectDevice(url: string, id: string, secret: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId: id, username: id, password: secret, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Messages the link delivers, and a way to wait for a count of them. */
function recorder(link: InProcessOperatorConnection) {
  const got: Array<{ topic: string; payload: string }> = [];
  link.onMessage((topic, payload) => got.push({ topic, payload: payload.toString() }));
  const until = async (predicate: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { got, until };
}

describe('in-process operator link to the embedded broker', () => {
  let dir: string;
  let store: Store;
  let broker: EmbeddedBroker;
  let device: MqttClient;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tinyfleet-inproc-'));
    store = Store.open(dir);
    const { secret, secretHash, mosquittoHash } = await issueCredentials('simulated');
    store.devices.insertMany([{ id: 'dev-1', name: 'dev-1', tags: [], mcu: 'rp2040', simulated: true, createdAt: Date.now(), secretHash, mosquittoHash }]);
    broker = await EmbeddedBroker.start({ port: 0, authenticator: new StoreAuthenticator(store.devices, ensureOperatorCredentials(store.settings)) });
    device = await connectDevice(broker.url, 'dev-1', secret);
  });

  afterAll(async () => {
    device?.end(true);
    await broker?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers the retained messages a subscription matches, then live ones', async () => {
    await device.publishAsync('tf/v1/dev-1/status', '{"state":"online"}', { qos: 1, retain: true });
    const link = broker.operatorConnection();
    const { got, until } = recorder(link);
    await link.subscribe([{ filter: 'tf/v1/+/status', qos: 1 }, { filter: 'tf/v1/+/telemetry', qos: 0 }]);
    expect(got).toEqual([{ topic: 'tf/v1/dev-1/status', payload: '{"state":"online"}' }]);
    await device.publishAsync('tf/v1/dev-1/telemetry', '{"seq":1}', { qos: 0 });
    await until(() => got.length === 2, 'the live telemetry');
    expect(got[1]).toEqual({ topic: 'tf/v1/dev-1/telemetry', payload: '{"seq":1}' });
    // Unsubscribed filters deliver nothing more.
    await link.unsubscribe(['tf/v1/+/telemetry']);
    await device.publishAsync('tf/v1/dev-1/telemetry', '{"seq":2}', { qos: 0 });
    await device.publishAsync('tf/v1/dev-1/status', '{"state":"online","n":2}', { qos: 1, retain: true });
    await until(() => got.length === 3, 'the second status');
    expect(got[2].topic).toBe('tf/v1/dev-1/status');
    await link.close();
  });

  it('publishes to a device with QoS 1, and keeps a retained publish for later subscribers', async () => {
    const link = broker.operatorConnection();
    const received: string[] = [];
    device.on('message', (topic, payload) => {
      if (topic === 'tf/v1/dev-1/cmd') received.push(payload.toString());
    });
    await device.subscribeAsync('tf/v1/dev-1/cmd', { qos: 1 });
    await link.publish('tf/v1/dev-1/cmd', '{"name":"ping"}', { qos: 1 });
    const deadline = Date.now() + 5000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual(['{"name":"ping"}']);

    await link.publish('tf/v1/dev-1/config', 'kept', { qos: 1, retain: true });
    const later = broker.operatorConnection();
    const { got } = recorder(later);
    await later.subscribe([{ filter: 'tf/v1/dev-1/config', qos: 1 }]);
    expect(got).toEqual([{ topic: 'tf/v1/dev-1/config', payload: 'kept' }]);
    await Promise.all([link.close(), later.close()]);
  });

  it('keeps delivering when an app handler throws', async () => {
    const link = broker.operatorConnection();
    link.onMessage(() => {
      throw new Error('handler bug');
    });
    const { got, until } = recorder(link);
    await link.subscribe([{ filter: 'tf/v1/+/evt', qos: 1 }]);
    await device.publishAsync('tf/v1/dev-1/evt', '{"type":"boot"}', { qos: 1 });
    await device.publishAsync('tf/v1/dev-1/evt', '{"type":"again"}', { qos: 1 });
    await until(() => got.length === 2, 'both events');
    expect(got.map((m) => m.payload)).toEqual(['{"type":"boot"}', '{"type":"again"}']);
    await link.close();
  });

  it('feeds the device router: retained and live messages reach the service of their kind once, sends reach the device', async () => {
    const link = broker.operatorConnection();
    const router = new DeviceRouter({ isDevice: (id) => id === 'dev-1' });
    const statuses: string[] = [];
    const events: string[] = [];
    router.register('status', (m) => statuses.push(m.payload.toString()));
    router.register('evt', (m) => events.push(m.payload.toString()));
    await device.publishAsync('tf/v1/dev-1/status', '{"state":"retained"}', { qos: 1, retain: true });
    await router.attach(link);
    expect(statuses).toEqual(['{"state":"retained"}']);
    const commands: string[] = [];
    device.on('message', (topic, payload) => topic === 'tf/v1/dev-1/cmd' && commands.push(payload.toString()));
    await device.subscribeAsync('tf/v1/dev-1/cmd', { qos: 1 });
    await device.publishAsync('tf/v1/dev-1/evt', '{"n":1}', { qos: 1 });
    await device.publishAsync('tf/v1/dev-1/xfer/dev/ctl', 'bitmap', { qos: 1 });
    await router.send('dev-1', 'cmd', '{"id":"c-1"}');
    const deadline = Date.now() + 5000;
    while ((events.length === 0 || commands.length === 0 || router.traffic.unrouted === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['{"n":1}']);
    expect(commands).toEqual(['{"id":"c-1"}']);
    expect(router.traffic).toEqual({ unknownDevice: 0, malformed: 0, unrouted: 1 });
    await router.detach();
    await link.close();
  });

  it('refuses to publish once closed, and says so', async () => {
    const link = broker.operatorConnection();
    await link.close();
    expect(link.connected).toBe(false);
    await expect(link.publish('tf/v1/dev-1/cmd', 'x', { qos: 0 })).rejects.toThrow(/embedded MQTT broker is closed/);
  });
});
