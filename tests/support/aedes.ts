import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { EmbeddedBroker, StoreAuthenticator, ensureOperatorCredentials, issueCredentials } from '../../src-main/core/broker';
import type { DeviceProvisioner, SimCredential, SimDeviceSpec } from '../../src-main/core/sim/credentials';
import { Store } from '../../src-main/core/store';

/**
 * A real embedded broker (aedes with TinyFleet's auth and ACL) over a real SQLite store in a
 * temporary directory, an operator client, and a provisioner that registers devices in that store
 * the way the fleet registry does (scrypt hashes, simulated flag).
 */
export interface BrokerFixture {
  url: string;
  /** The data directory of the store (another process may open it, as `tinyfleet sim --data-dir` does). */
  dataDir: string;
  store: Store;
  provisioner: DeviceProvisioner;
  /** A connected operator client (may subscribe to everything). */
  operator: MqttClient;
  close(): Promise<void>;
}

export async function startBrokerFixture(): Promise<BrokerFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tf-sim-'));
  const store = Store.open(dir);
  const operatorCreds = ensureOperatorCredentials(store.settings);
  const broker = await EmbeddedBroker.start({ port: 0, authenticator: new StoreAuthenticator(store.devices, operatorCreds) });
  const provisioner: DeviceProvisioner = {
    async provisionSimulated(specs: SimDeviceSpec[]): Promise<SimCredential[]> {
      const out: SimCredential[] = [];
      for (const spec of specs) {
        const { secret, secretHash, mosquittoHash } = await issueCredentials('simulated');
        if (store.devices.has(spec.id)) store.devices.setCredentials(spec.id, secretHash, mosquittoHash);
        else store.devices.insertMany([{ ...spec, simulated: true, createdAt: Date.now(), secretHash, mosquittoHash }]);
        out.push({ id: spec.id, secret, mcu: spec.mcu });
      }
      return out;
    },
  };
  const operator = await new Promise<MqttClient>((resolve, reject) => {
    const c = mqtt.connect(broker.url, { ...operatorCreds, reconnectPeriod: 0, protocolVersion: 4 });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
  return {
    url: broker.url,
    dataDir: dir,
    store,
    provisioner,
    operator,
    async close() {
      await operator.endAsync(true);
      await broker.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects messages on topics matching `filter` until stopped. */
export async function collect(client: MqttClient, filter: string): Promise<{ messages: Array<{ topic: string; payload: Buffer }>; stop(): Promise<void> }> {
  const messages: Array<{ topic: string; payload: Buffer }> = [];
  const matches = (topic: string): boolean => {
    const f = filter.split('/');
    const t = topic.split('/');
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '#') return true;
      if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
    }
    return f.length === t.length;
  };
  const handler = (topic: string, payload: Buffer): void => {
    if (matches(topic)) messages.push({ topic, payload: Buffer.from(payload) });
  };
  client.on('message', handler);
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    async stop() {
      client.off('message', handler);
      await client.unsubscribeAsync(filter);
    },
  };
}

/** Like {@link waitFor} for a check that must ask asynchronously (a contract call). */
export async function waitForAsync<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `check` until it returns a value (not undefined/false) or the timeout expires. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
