import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection, OPERATOR_USERNAME } from '../../src-main/core/broker';
import { FleetService } from '../../src-main/core/fleet';
import { Store } from '../../src-main/core/store';
import { chownToMosquitto, freePort, mosquittoMissingReason, startMosquitto, type RunningMosquitto } from '../support/mosquitto';
import { RecordingSink } from '../unit/fleet/recording-sink';
import { runCli } from '../support/cli';
import { requireOrSkip } from '../support/require-tools';

/**
 * External broker mode end to end: devices provisioned with the CLI, `tinyfleet broker
 * export-mosquitto`, the real Debian Mosquitto running that configuration, and the app's fleet
 * service connected to it as the operator.
 */

if (mosquittoMissingReason) console.warn(mosquittoMissingReason);

const cli = (args: string[]) => runCli(...args);

describe.skipIf(requireOrSkip('mosquitto-fleet', mosquittoMissingReason))('external Mosquitto with the exported configuration', () => {
  let dir: string;
  let dataDir: string;
  let mosquitto: RunningMosquitto;
  let port: number;
  let store: Store;
  let connection: BrokerConnection;
  let fleet: FleetService;
  const secrets: Record<string, string> = {};
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tf-mosq-'));
    chmodSync(dir, 0o755);
    dataDir = path.join(dir, 'data');
    for (const id of ['field-1', 'field-2']) {
      const added = await cli(['devices', 'add', '--mcu', 'stm32f746', '--id', id, '--json', '--data-dir', dataDir]);
      expect(added.code).toBe(0);
      secrets[id] = JSON.parse(added.stdout).secret;
    }
    port = await freePort();
    const exported = await cli(['broker', 'export-mosquitto', '--out', path.join(dir, 'mq'), '--port', String(port), '--bind', '127.0.0.1', '--json', '--data-dir', dataDir]);
    expect(exported.code).toBe(0);
    const files = JSON.parse(exported.stdout);
    expect(statSync(files.passwordFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(files.configFile, 'utf8')).toMatch(/allow_anonymous false/);
    chownToMosquitto([files.passwordFile, files.aclFile]);
    mosquitto = await startMosquitto(files.configFile, port);

    store = Store.open(dataDir);
    connection = await BrokerConnection.connect({ url: `mqtt://127.0.0.1:${port}`, username: OPERATOR_USERNAME, password: files.operator.password });
    fleet = new FleetService({ store, connection, events: new RecordingSink(), emitIntervalMs: 100, ingest: { flushIntervalMs: 50 } });
    await fleet.start();
  });

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await fleet?.dispose();
    await connection?.close();
    store?.close();
    await mosquitto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function device(id: string, password = secrets[id]): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        username: id,
        password,
        clientId: id,
        reconnectPeriod: 0,
        protocolVersion: 4,
        will: { topic: `tf/v1/${id}/status`, payload: Buffer.from('{"v":1,"state":"lost","ts":0}'), qos: 1, retain: true },
      });
      c.once('connect', () => (clients.push(c), resolve(c)));
      c.once('error', (e) => (c.end(true), reject(e)));
    });
  }

  async function waitFor(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${mosquitto.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('runs presence, telemetry, commands and the last will through Mosquitto', async () => {
    const d = await device('field-1');
    await d.subscribeAsync('tf/v1/field-1/cmd', { qos: 1 });
    d.on('message', (_t, payload) => {
      const cmd = JSON.parse(payload.toString());
      d.publish('tf/v1/field-1/res', JSON.stringify({ v: 1, id: cmd.id, ok: true, result: { pong: true, uptimeMs: 1 } }), { qos: 1 });
    });
    const birth = { v: 1, state: 'online', ts: Date.now(), fw: '2.0.0', runtime: 'rt/1', mcu: 'stm32f746', sramFree: 1, flashFree: 2, slots: [], telemetryIntervalMs: 1000 };
    await d.publishAsync('tf/v1/field-1/status', JSON.stringify(birth), { qos: 1, retain: true });
    await d.publishAsync('tf/v1/field-1/telemetry', JSON.stringify({ v: 1, ts: Date.now(), seq: 0, battery: 77 }), { qos: 0 });
    await waitFor(() => fleet.get('field-1').status === 'online' && fleet.get('field-1').battery === 77, 'birth and telemetry');
    const ping = await fleet.command({ id: 'field-1', command: 'ping', params: {}, timeoutMs: 5000 }, 'test');
    expect(ping.state).toBe('ok');
    d.stream.destroy();
    await waitFor(() => fleet.get('field-1').status === 'lost', 'last will');
  });

  it("keeps devices out of each other's subtrees and refuses bad logins", async () => {
    const a = await device('field-2');
    await a.publishAsync('tf/v1/field-1/telemetry', JSON.stringify({ v: 1, ts: Date.now(), seq: 5, battery: 1 }), { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(fleet.get('field-1').battery).toBe(77);
    await expect(device('field-2', secrets['field-1'])).rejects.toThrow(/not authorized|bad user ?name or password/i);
    await expect(device('ghost', 'whatever')).rejects.toThrow(/not authorized|bad user ?name or password/i);
  });
});
