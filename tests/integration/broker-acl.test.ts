import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokerConnection,
  EmbeddedBroker,
  MAX_MQTT_PAYLOAD_BYTES,
  StoreAuthenticator,
  ensureOperatorCredentials,
  exportMosquittoConfig,
  issueCredentials,
  type OperatorCredentials,
} from '../../src-main/core/broker';
import { Store } from '../../src-main/core/store';
import { chownToMosquitto, freePort, mosquittoMissingReason, startMosquitto, type RunningMosquitto } from '../support/mosquitto';
import { requireOrSkip } from '../support/require-tools';

/**
 * The same ACL attacks against both brokers TinyFleet supports: the embedded aedes broker and a
 * real Mosquitto running the configuration `tinyfleet broker export-mosquitto` writes.
 */

interface Fixture {
  url: string;
  operator: OperatorCredentials;
  secrets: Record<'a' | 'b', string>;
  close(): Promise<void>;
}

async function provisionedStore(dir: string): Promise<{ store: Store; secrets: Record<'a' | 'b', string>; operator: OperatorCredentials }> {
  const store = Store.open(dir);
  const secrets = {} as Record<'a' | 'b', string>;
  for (const id of ['a', 'b'] as const) {
    const { secret, secretHash, mosquittoHash } = await issueCredentials('simulated');
    secrets[id] = secret;
    store.devices.insertMany([{ id, name: id, tags: [], mcu: 'rp2040', simulated: true, createdAt: Date.now(), secretHash, mosquittoHash }]);
  }
  return { store, secrets, operator: ensureOperatorCredentials(store.settings) };
}

async function aedesFixture(dir: string): Promise<Fixture> {
  const { store, secrets, operator } = await provisionedStore(dir);
  const broker = await EmbeddedBroker.start({ port: 0, authenticator: new StoreAuthenticator(store.devices, operator) });
  return {
    url: broker.url,
    operator,
    secrets,
    async close() {
      await broker.close();
      store.close();
    },
  };
}

async function mosquittoFixture(dir: string): Promise<Fixture> {
  const { store, secrets, operator } = await provisionedStore(dir);
  const port = await freePort();
  const exported = await exportMosquittoConfig({
    outDir: path.join(dir, 'mosquitto'),
    port,
    bindAddress: '127.0.0.1',
    operator,
    devices: store.devices.mosquittoHashes(),
  });
  store.close();
  chownToMosquitto([exported.passwordFile, exported.aclFile]);
  const running: RunningMosquitto = await startMosquitto(exported.configFile, port);
  return { url: `mqtt://127.0.0.1:${port}`, operator, secrets, close: () => running.stop() };
}

function connectClient(url: string, username?: string, password?: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Collects messages a client receives, by topic. */
function inbox(client: MqttClient): Array<{ topic: string; payload: string }> {
  const received: Array<{ topic: string; payload: string }> = [];
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  return received;
}

const settle = (ms = 400): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle(20);
  }
}

const brokers: Array<{ name: string; start: (dir: string) => Promise<Fixture>; skip: string | null }> = [
  { name: 'embedded aedes', start: aedesFixture, skip: null },
  { name: 'Mosquitto with the exported configuration', start: mosquittoFixture, skip: mosquittoMissingReason },
];

for (const broker of brokers) {
  describe.skipIf(requireOrSkip(`broker ACL: ${broker.name}`, broker.skip))(`broker ACL: ${broker.name}`, () => {
    let dir: string;
    let fx: Fixture;
    let operator: MqttClient;
    let seenByOperator: Array<{ topic: string; payload: string }>;
    const clients: MqttClient[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'tf-acl-'));
      // Mosquitto runs as its own user and must reach the exported files below this folder.
      chmodSync(dir, 0o755);
      fx = await broker.start(dir);
      operator = await connectClient(fx.url, fx.operator.username, fx.operator.password);
      seenByOperator = inbox(operator);
      await operator.subscribeAsync('tf/v1/#', { qos: 1 });
    });

    afterAll(async () => {
      for (const c of [...clients, operator]) await c?.endAsync(true);
      await fx?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function device(id: 'a' | 'b'): Promise<MqttClient> {
      const client = await connectClient(fx.url, id, fx.secrets[id]);
      clients.push(client);
      return client;
    }

    it('lets a device publish its own telemetry and receive its own commands', async () => {
      const a = await device('a');
      const aInbox = inbox(a);
      await a.subscribeAsync('tf/v1/a/cmd', { qos: 1 });
      await a.publishAsync('tf/v1/a/telemetry', '{"n":1}', { qos: 1 });
      await waitFor(() => seenByOperator.some((m) => m.topic === 'tf/v1/a/telemetry'), 'telemetry at the operator');
      await operator.publishAsync('tf/v1/a/cmd', '{"id":"c1"}', { qos: 1 });
      await waitFor(() => aInbox.some((m) => m.topic === 'tf/v1/a/cmd'), 'the command at device a');
    });

    it("refuses device A publishing to B's topics", async () => {
      const a = await device('a');
      a.on('error', () => {});
      for (const kind of ['telemetry', 'status', 'res', 'evt', 'cmd']) {
        a.publish(`tf/v1/b/${kind}`, 'forged', { qos: 0 });
      }
      // A device may not send commands, not even to itself.
      a.publish('tf/v1/a/cmd', 'forged', { qos: 0 });
      const b = await device('b');
      await b.publishAsync('tf/v1/b/telemetry', 'genuine', { qos: 1 });
      await waitFor(() => seenByOperator.some((m) => m.payload === 'genuine'), "B's own telemetry");
      await settle();
      expect(seenByOperator.filter((m) => m.payload === 'forged')).toEqual([]);
    });

    it("refuses subscriptions to another device's commands and wildcards over the fleet", async () => {
      const a = await device('a');
      const aInbox = inbox(a);
      const b = await device('b');
      const bInbox = inbox(b);
      const refusals: Record<string, string> = {};
      await b.subscribeAsync('tf/v1/b/cmd', { qos: 1 });
      for (const filter of ['tf/v1/b/cmd', 'tf/v1/#', 'tf/v1/+/cmd', '#', 'tf/v1/a/#']) {
        // mqtt.js rejects when the SUBACK says 0x80 (refused).
        const outcome = await a.subscribeAsync(filter, { qos: 1 }).then(
          () => 'granted',
          () => 'refused',
        );
        refusals[filter] = outcome;
      }
      await operator.publishAsync('tf/v1/b/cmd', 'for-b-only', { qos: 1 });
      await operator.publishAsync('tf/v1/b/status', 'b-status', { qos: 1 });
      await waitFor(() => bInbox.some((m) => m.payload === 'for-b-only'), 'the command at device b');
      await settle();
      expect(aInbox.filter((m) => m.topic.startsWith('tf/v1/b/'))).toEqual([]);
      console.info(`${broker.name}: SUBACK outcomes for device a: ${JSON.stringify(refusals)}`);
      if (broker.name === 'embedded aedes') expect(Object.values(refusals)).toEqual(Array(5).fill('refused'));
    });

    it("keeps each device's block-transfer subtree its own", async () => {
      const a = await device('a');
      a.on('error', () => {});
      const aInbox = inbox(a);
      const b = await device('b');
      const bInbox = inbox(b);
      await b.subscribeAsync('tf/v1/b/xfer/#', { qos: 1 });
      // Its own subtree works both ways.
      await a.subscribeAsync('tf/v1/a/xfer/+/blk', { qos: 1 });
      await a.publishAsync('tf/v1/a/xfer/pkg-1/req', 'own-request', { qos: 1 });
      await operator.publishAsync('tf/v1/a/xfer/pkg-1/blk', 'block-for-a', { qos: 1 });
      await waitFor(() => aInbox.some((m) => m.payload === 'block-for-a'), 'the block at device a');
      await waitFor(() => seenByOperator.some((m) => m.payload === 'own-request'), "a's own xfer request at the operator");

      const refusals: Record<string, string> = {};
      for (const filter of ['tf/v1/b/xfer/#', 'tf/v1/b/xfer/pkg-1/blk', 'tf/v1/+/xfer/#', 'tf/v1/b/+/pkg-1/blk']) {
        refusals[filter] = await a.subscribeAsync(filter, { qos: 1 }).then(
          () => 'granted',
          () => 'refused',
        );
      }
      await operator.publishAsync('tf/v1/b/xfer/pkg-1/blk', 'block-for-b', { qos: 1 });
      await waitFor(() => bInbox.some((m) => m.payload === 'block-for-b'), 'the block at device b');
      a.publish('tf/v1/b/xfer/pkg-1/req', 'forged-xfer', { qos: 0 });
      a.publish('tf/v1/b/xfer/pkg-1/blk', 'forged-xfer', { qos: 0 });
      // An upload (offer and blocks) in B's name: the device → app half of B's subtree.
      a.publish('tf/v1/b/xfer/dev/ctl', 'forged-xfer', { qos: 0 });
      a.publish('tf/v1/b/xfer/dev/blk', 'forged-xfer', { qos: 0 });
      await b.publishAsync('tf/v1/b/xfer/pkg-1/req', 'genuine-xfer', { qos: 1 });
      await waitFor(() => seenByOperator.some((m) => m.payload === 'genuine-xfer'), "b's own xfer request");
      await settle();
      expect(aInbox.filter((m) => m.topic.startsWith('tf/v1/b/'))).toEqual([]);
      expect(seenByOperator.filter((m) => m.payload === 'forged-xfer')).toEqual([]);
      expect(bInbox.filter((m) => m.payload === 'forged-xfer')).toEqual([]);
      console.info(`${broker.name}: xfer SUBACK outcomes for device a: ${JSON.stringify(refusals)}`);
      if (broker.name === 'embedded aedes') expect(Object.values(refusals)).toEqual(Array(4).fill('refused'));
    });

    it('refuses payloads above the size cap', async () => {
      const a = await device('a');
      a.on('error', () => {});
      a.publish('tf/v1/a/telemetry', Buffer.alloc(MAX_MQTT_PAYLOAD_BYTES + 2048, 0x41), { qos: 0 });
      const b = await device('b');
      await b.publishAsync('tf/v1/b/evt', 'small-after-big', { qos: 1 });
      await waitFor(() => seenByOperator.some((m) => m.payload === 'small-after-big'), 'the small message');
      await settle();
      expect(seenByOperator.filter((m) => m.payload.length > MAX_MQTT_PAYLOAD_BYTES)).toEqual([]);
    });

    it.skipIf(broker.name !== 'embedded aedes')('makes BrokerConnection reject a refused subscription with the filter named', async () => {
      const conn = await BrokerConnection.connect({ url: fx.url, username: 'a', password: fx.secrets.a });
      try {
        await expect(conn.subscribe([{ filter: 'tf/v1/b/cmd', qos: 1 }])).rejects.toThrow(/refused the subscription to tf\/v1\/b\/cmd/);
        await expect(conn.subscribe([{ filter: 'tf/v1/a/cmd', qos: 1 }])).resolves.toBeUndefined();
      } finally {
        await conn.close();
      }
    });

    it('refuses a wrong password, missing credentials, an unknown user and another device\'s secret', async () => {
      await expect(connectClient(fx.url, 'a', 'not-the-secret')).rejects.toThrow(/not authorized|bad user ?name or password/i);
      await expect(connectClient(fx.url)).rejects.toThrow(/not authorized|bad user ?name or password/i);
      await expect(connectClient(fx.url, 'a')).rejects.toThrow(/not authorized|bad user ?name or password/i);
      await expect(connectClient(fx.url, 'mallory', fx.secrets.a)).rejects.toThrow(/not authorized|bad user ?name or password/i);
      await expect(connectClient(fx.url, 'a', fx.secrets.b)).rejects.toThrow(/not authorized|bad user ?name or password/i);
      await expect(connectClient(fx.url, fx.operator.username, fx.secrets.a)).rejects.toThrow(/not authorized|bad user ?name or password/i);
    });
  });
}
