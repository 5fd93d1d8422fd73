import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerConnection, EmbeddedBroker, StoreAuthenticator, ensureOperatorCredentials } from '../../src-main/core/broker';
import { FleetService } from '../../src-main/core/fleet';
import { Store } from '../../src-main/core/store';
import { RecordingSink } from '../unit/fleet/recording-sink';

/**
 * The fleet service against a real embedded broker, real SQLite and real MQTT device clients. Each
 * test gets a fresh data dir, broker and service with dev-a, dev-b and dev-c provisioned, so it runs
 * alone or in any order.
 */

let dir: string;
let store: Store;
let broker: EmbeddedBroker;
let connection: BrokerConnection;
let fleet: FleetService;
let sink: RecordingSink;
let operatorRaw: MqttClient;
let secrets: Record<string, string> = {};
let devices: MqttClient[] = [];

const birth = (mcu = 'rp2040') =>
  JSON.stringify({
    v: 1,
    state: 'online',
    ts: Date.now(),
    fw: '1.2.3',
    runtime: 'tinyfleet-rt/0.1',
    mcu,
    sramFree: 100_000,
    flashFree: 900_000,
    slots: [
      { slot: 'a', model: 'kws@3', active: true },
      { slot: 'b', model: null, active: false },
    ],
    telemetryIntervalMs: 1000,
  });

function connectDevice(id: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(broker.url, {
      username: id,
      password: secrets[id],
      clientId: `${id}-${Math.random()}`,
      reconnectPeriod: 0,
      protocolVersion: 4,
      will: { topic: `tf/v1/${id}/status`, payload: Buffer.from(JSON.stringify({ v: 1, state: 'lost', ts: Date.now() })), qos: 1, retain: true },
    });
    client.once('connect', () => {
      devices.push(client);
      resolve(client);
    });
    client.once('error', reject);
  });
}

async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function serviceOptions() {
  return {
    store,
    events: sink,
    mcuIds: new Set(['rp2040', 'stm32f746']),
    emitIntervalMs: 100,
    ingest: { flushIntervalMs: 50 },
    revokeSessions: (id: string) => broker.disconnectDevice(id),
  };
}

/** Connects a device and publishes its retained birth message; resolves once the service sees it online. */
async function bringOnline(id: string): Promise<MqttClient> {
  const client = await connectDevice(id);
  await client.publishAsync(`tf/v1/${id}/status`, birth(), { qos: 1, retain: true });
  await waitFor(() => fleet.get(id).status === 'online', `${id} online`);
  return client;
}

beforeEach(async () => {
  secrets = {};
  devices = [];
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-fleet-'));
  store = Store.open(dir);
  const operator = ensureOperatorCredentials(store.settings);
  broker = await EmbeddedBroker.start({ port: 0, authenticator: new StoreAuthenticator(store.devices, operator) });
  connection = await BrokerConnection.connect({ url: broker.url, ...operator });
  sink = new RecordingSink();
  fleet = new FleetService({ ...serviceOptions(), connection });
  await fleet.start();
  for (const p of await fleet.provisionMany(
    ['dev-a', 'dev-b', 'dev-c'].map((id) => ({ id, mcu: 'rp2040', simulated: true })),
    'test',
  )) {
    secrets[p.device.id] = p.secret;
  }
  operatorRaw = await new Promise<MqttClient>((resolve) => {
    const c = mqtt.connect(broker.url, { ...operator, reconnectPeriod: 0 });
    c.once('connect', () => resolve(c));
  });
});

afterEach(async () => {
  for (const d of devices) await d.endAsync(true);
  await operatorRaw?.endAsync(true);
  await fleet?.dispose();
  await connection?.close();
  await broker?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('FleetService over a real broker', () => {
  it('learns presence and device facts from the birth message and emits the change', async () => {
    sink.listen('fleet.deviceEvents/dev-a');
    const a = await connectDevice('dev-a');
    await a.publishAsync('tf/v1/dev-a/status', birth(), { qos: 1, retain: true });
    const detail = await waitFor(() => (fleet.get('dev-a').status === 'online' ? fleet.get('dev-a') : undefined), 'dev-a online');
    expect(detail).toMatchObject({ firmware: '1.2.3', runtime: 'tinyfleet-rt/0.1', model: 'kws@3', sramFree: 100_000, flashFree: 900_000, telemetryIntervalMs: 1000 });
    expect(detail.modelSlots).toHaveLength(2);
    await waitFor(() => sink.of('fleet.devices').some((p) => p.changed.some((d: { id: string; status: string }) => d.id === 'dev-a' && d.status === 'online')), 'fleet.devices');
    const evt = await waitFor(() => sink.of('fleet.deviceEvents/dev-a').flatMap((p) => p.events).find((e: { kind: string }) => e.kind === 'presence'), 'presence event');
    expect(evt).toMatchObject({ deviceId: 'dev-a', level: 'info', data: { from: 'unknown', to: 'online' } });
    expect(fleet.stats()).toMatchObject({ devices: 3, online: 1, unknown: 2, byMcu: { rp2040: 3 } });
  });

  it('ingests telemetry and streams it only to subscribers of that device', async () => {
    sink.listen('fleet.telemetry/dev-a');
    const a = await bringOnline('dev-a');
    const b = await connectDevice('dev-b');
    const t = Date.now();
    for (let i = 0; i < 5; i++) {
      a.publish('tf/v1/dev-a/telemetry', JSON.stringify({ v: 1, ts: t + i, seq: i, battery: 90 - i, temperature: 21.5, metrics: { score: i } }));
      b.publish('tf/v1/dev-b/telemetry', JSON.stringify({ v: 1, ts: t + i, seq: i, rssi: -50 }));
    }
    await waitFor(() => store.telemetry.rawCount('dev-a') === 5 && store.telemetry.rawCount('dev-b') === 5, 'telemetry stored');
    const history = fleet.telemetry({ id: 'dev-a', resolution: 'raw', limit: 100 });
    expect(history.points.map((p) => p.battery)).toEqual([90, 89, 88, 87, 86]);
    expect(history.points[4].metrics).toEqual({ score: 4 });
    // The devices table's latest telemetry is written at most once a second.
    await waitFor(() => fleet.get('dev-a').battery === 86, 'latest telemetry');
    expect(fleet.get('dev-a')).toMatchObject({ battery: 86, temperature: 21.5 });
    type Row = { id: string; status: string; name: string; battery: number | null; temperature: number | null; lastSeen: number | null };
    const rows = (): Row[] => sink.of('fleet.devices').flatMap((p) => p.changed as Row[]);
    await waitFor(() => rows().some((d) => d.id === 'dev-a' && d.battery === 86), 'the table row with the latest telemetry');
    // A later sample without temperature: the row (now patched in memory) keeps the old temperature.
    a.publish('tf/v1/dev-a/telemetry', JSON.stringify({ v: 1, ts: t + 10, seq: 5, battery: 70 }));
    const patched = await waitFor(() => rows().find((d) => d.id === 'dev-a' && d.battery === 70), 'the patched table row');
    expect(patched).toMatchObject({ name: 'dev-a', status: 'online', temperature: 21.5 });
    expect(patched.lastSeen).toBeGreaterThanOrEqual(t + 10);
    expect(fleet.get('dev-a')).toMatchObject({ battery: 70, temperature: 21.5, lastSeen: patched.lastSeen });
    const live = await waitFor(() => sink.of('fleet.telemetry/dev-a').flatMap((p) => p.points), 'live telemetry');
    expect(live.length).toBeGreaterThan(0);
    expect(sink.emitted.some((e) => e.event === 'fleet.telemetry/dev-b')).toBe(false);
    await waitFor(() => fleet.stats().telemetryIngested >= 10, 'ingest counter');
  });

  it('answers commands, times out silent devices and ignores answers from the wrong device', async () => {
    const c = await connectDevice('dev-c');
    const b = await connectDevice('dev-b');
    await c.subscribeAsync('tf/v1/dev-c/cmd', { qos: 1 });
    await b.subscribeAsync('tf/v1/dev-b/cmd', { qos: 1 });
    c.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      const result = cmd.name === 'set_telemetry_interval' ? { telemetryIntervalMs: cmd.params.ms } : { pong: true, uptimeMs: 5 };
      // dev-b tries to answer dev-c's command first; the app must not accept it.
      b.publish('tf/v1/dev-b/res', JSON.stringify({ v: 1, id: cmd.id, ok: false, error: { code: 'FORGED', message: 'x' } }), { qos: 1 }, () => {
        c.publish('tf/v1/dev-c/res', JSON.stringify({ v: 1, id: cmd.id, ok: true, result }), { qos: 1 });
      });
    });
    const ping = await fleet.command({ id: 'dev-c', command: 'ping', params: {}, timeoutMs: 5000 }, 'test');
    expect(ping).toMatchObject({ deviceId: 'dev-c', command: 'ping', state: 'ok', result: { pong: true, uptimeMs: 5 }, error: null });
    expect(ping.answeredAt).not.toBeNull();
    const interval = await fleet.command({ id: 'dev-c', command: 'set_telemetry_interval', params: { ms: 2500 }, timeoutMs: 5000 }, 'test');
    expect(interval.state).toBe('ok');
    expect(fleet.get('dev-c').telemetryIntervalMs).toBe(2500);

    const silent = await fleet.command({ id: 'dev-b', command: 'reboot', params: {}, timeoutMs: 300 }, 'test');
    expect(silent).toMatchObject({ state: 'timeout', error: { code: 'TIMEOUT' } });
    expect(fleet.commands('dev-b', 10)[0]).toMatchObject({ id: silent.id, state: 'timeout' });
    expect(sink.of('fleet.commands').flatMap((p) => p.commands).filter((r: { id: string }) => r.id === silent.id).map((r: { state: string }) => r.state)).toEqual([
      'pending',
      'timeout',
    ]);
    await expect(fleet.command({ id: 'dev-c', command: 'set_telemetry_interval', params: { ms: 5 }, timeoutMs: 300 }, 'test')).rejects.toThrow(/invalid params/);
    await expect(fleet.command({ id: 'ghost', command: 'ping', params: {}, timeoutMs: 300 }, 'test')).rejects.toThrow(/no device "ghost"/);
    expect(fleet.auditLog(50).filter((e) => e.action === 'device.command')).toHaveLength(3);
  });

  it('counts garbage and unknown senders without crashing or corrupting state', async () => {
    const a = await bringOnline('dev-a');
    const before = fleet.stats();
    const garbage: Array<[string, string | Buffer]> = [
      ['tf/v1/dev-a/telemetry', '{not json'],
      ['tf/v1/dev-a/telemetry', JSON.stringify({ v: 1, ts: 1, seq: -4 })],
      ['tf/v1/dev-a/telemetry', JSON.stringify({ v: 2, ts: 1, seq: 0 })],
      ['tf/v1/dev-a/telemetry', '[]'],
      ['tf/v1/dev-a/telemetry', Buffer.alloc(10_000, 0x41)],
      ['tf/v1/dev-a/status', JSON.stringify({ v: 1, state: 'exploded', ts: 1 })],
      ['tf/v1/dev-a/evt', JSON.stringify({ v: 1, ts: 1, kind: 'BAD KIND', level: 'info', message: '' })],
      ['tf/v1/dev-a/res', JSON.stringify({ v: 1, id: 'x', ok: false })],
      ['tf/v1/dev-a/telemetry', Buffer.from([0xff, 0xfe, 0x00, 0x01])],
    ];
    for (const [topic, payload] of garbage) await a.publishAsync(topic, payload, { qos: 1 });
    // Wrong topic shapes and unknown devices can only come from a privileged client (e.g. a misconfigured external broker).
    await operatorRaw.publishAsync('tf/v1/UPPER/telemetry', JSON.stringify({ v: 1, ts: 1, seq: 0 }), { qos: 1 });
    await operatorRaw.publishAsync('tf/v1/ghost/telemetry', JSON.stringify({ v: 1, ts: 1, seq: 0 }), { qos: 1 });
    await operatorRaw.publishAsync('tf/v1/ghost/status', birth(), { qos: 1 });
    // A valid message after the garbage is still processed.
    await a.publishAsync('tf/v1/dev-a/telemetry', JSON.stringify({ v: 1, ts: Date.now(), seq: 99, battery: 42 }), { qos: 1 });
    await a.publishAsync('tf/v1/dev-a/evt', JSON.stringify({ v: 1, ts: Date.now(), kind: 'low_battery', level: 'warn', message: 'battery at 42%' }), { qos: 1 });
    await waitFor(() => fleet.get('dev-a').battery === 42, 'valid telemetry after garbage');
    // Messages from different clients may arrive in any order: wait for the counters to settle.
    await waitFor(
      () => fleet.stats().malformedMessages - before.malformedMessages >= garbage.length + 1 && fleet.stats().unknownDeviceMessages - before.unknownDeviceMessages >= 2,
      'the counters',
    );
    await new Promise((r) => setTimeout(r, 200));
    const after = fleet.stats();
    expect(after.malformedMessages - before.malformedMessages).toBe(garbage.length + 1);
    expect(after.unknownDeviceMessages - before.unknownDeviceMessages).toBe(2);
    expect(store.devices.has('ghost')).toBe(false);
    expect(fleet.get('dev-a')).toMatchObject({ status: 'online', firmware: '1.2.3' });
    const event = await waitFor(() => fleet.deviceEvents('dev-a', 10).find((e) => e.kind === 'low_battery'), 'the event after the garbage');
    expect(event).toMatchObject({ level: 'warn', message: 'battery at 42%' });
  });

  it('limits how many events one device can write', async () => {
    const c = await connectDevice('dev-c');
    const before = fleet.deviceEvents('dev-c', 1000).length;
    for (let i = 0; i < 100; i++) {
      c.publish('tf/v1/dev-c/evt', JSON.stringify({ v: 1, ts: Date.now(), kind: 'spam', level: 'debug', message: `#${i}` }), { qos: 0 });
    }
    await c.publishAsync('tf/v1/dev-c/telemetry', JSON.stringify({ v: 1, ts: Date.now(), seq: 1, battery: 12 }), { qos: 1 });
    await waitFor(() => store.telemetry.rawCount('dev-c') > 0, 'the message after the burst');
    const spam = fleet.deviceEvents('dev-c', 1000).length - before;
    expect(spam).toBeGreaterThanOrEqual(20);
    expect(spam).toBeLessThan(40);
  });

  it('marks a device lost when the broker publishes its last will, and offline on a goodbye', async () => {
    const b = await connectDevice('dev-b');
    await b.publishAsync('tf/v1/dev-b/status', birth(), { qos: 1, retain: true });
    await waitFor(() => fleet.get('dev-b').status === 'online', 'dev-b online');
    b.stream.destroy();
    await waitFor(() => fleet.get('dev-b').status === 'lost', 'dev-b lost');
    const c = await connectDevice('dev-c');
    await c.publishAsync('tf/v1/dev-c/status', JSON.stringify({ v: 1, state: 'offline', ts: Date.now(), reason: 'shutdown' }), { qos: 1, retain: true });
    await waitFor(() => fleet.get('dev-c').status === 'offline', 'dev-c offline');
    expect(fleet.deviceEvents('dev-b', 5)[0]).toMatchObject({ kind: 'presence', level: 'warn', data: { to: 'lost' } });
  });

  it('relearns presence from retained status after a restart without logging it as news', async () => {
    await bringOnline('dev-a');
    const b = await bringOnline('dev-b');
    b.stream.destroy();
    await waitFor(() => fleet.get('dev-b').status === 'lost', 'dev-b lost');
    const presenceBefore = fleet.deviceEvents('dev-a', 100).filter((e) => e.kind === 'presence').length;
    await fleet.dispose();
    fleet = new FleetService({ ...serviceOptions(), connection });
    await fleet.start();
    await waitFor(() => fleet.get('dev-a').status === 'online', 'dev-a online again from its retained birth');
    await waitFor(() => fleet.get('dev-b').status === 'lost', "dev-b's retained last will");
    expect(fleet.deviceEvents('dev-a', 100).filter((e) => e.kind === 'presence')).toHaveLength(presenceBefore);
  });

  it('refuses a command too large for the protocol', async () => {
    await expect(fleet.command({ id: 'dev-a', command: 'custom_op', params: { blob: 'x'.repeat(5000) }, timeoutMs: 300 }, 'test')).rejects.toThrow(/too large/);
  });

  it('counts block-transfer traffic nobody handles yet as unrouted, not as malformed', async () => {
    const before = fleet.stats();
    const c = await connectDevice('dev-c');
    await c.publishAsync('tf/v1/dev-c/xfer/dev/ctl', 'bitmap', { qos: 1 });
    await waitFor(() => fleet.stats().unroutedMessages > before.unroutedMessages, 'the unrouted count');
    expect(fleet.stats()).toMatchObject({ unroutedMessages: before.unroutedMessages + 1, malformedMessages: before.malformedMessages });
  });

  it('refuses a command to a lost device at once, or queues it and sends it when the device is back', async () => {
    const gone = await connectDevice('dev-b');
    await gone.publishAsync('tf/v1/dev-b/status', birth(), { qos: 1, retain: true });
    await waitFor(() => fleet.get('dev-b').status === 'online', 'dev-b online');
    gone.stream.destroy();
    await waitFor(() => fleet.get('dev-b').status === 'lost', 'dev-b lost');
    await expect(fleet.command({ id: 'dev-b', command: 'ping', params: {}, timeoutMs: 5000 }, 'test')).rejects.toMatchObject({ code: 'DEVICE_OFFLINE' });
    const queued = await fleet.command({ id: 'dev-b', command: 'ping', params: {}, timeoutMs: 5000, queueForMs: 60_000 }, 'test');
    expect(queued).toMatchObject({ state: 'queued', expiresAt: queued.sentAt + 60_000 });
    const b = await connectDevice('dev-b');
    await b.subscribeAsync('tf/v1/dev-b/cmd', { qos: 1 });
    b.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      b.publish('tf/v1/dev-b/res', JSON.stringify({ v: 1, id: cmd.id, ok: true, result: { pong: true, uptimeMs: 1 } }), { qos: 1 });
    });
    await b.publishAsync('tf/v1/dev-b/status', birth(), { qos: 1, retain: true });
    const answered = await waitFor(() => fleet.commands('dev-b', 5).find((r) => r.id === queued.id && r.state === 'ok'), 'the queued command answered');
    expect(answered.result).toEqual({ pong: true, uptimeMs: 1 });
  });

  it('drops the sessions of a device whose secret was rotated', async () => {
    const a = await connectDevice('dev-a');
    let closed = false;
    a.once('close', () => (closed = true));
    const rotated = await fleet.registry.rotateSecret('dev-a', 'test');
    await waitFor(() => closed, 'the broker to drop the old session');
    await expect(connectDevice('dev-a')).rejects.toThrow(/not authorized|bad user ?name or password/i);
    secrets['dev-a'] = rotated.secret;
    await expect(connectDevice('dev-a')).resolves.toBeDefined();
  });
});
