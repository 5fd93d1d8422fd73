import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/core/common/errors';
import { FaultConfig, SimGroupConfig, type SimGroup, type SimStatus } from '../../src-main/core/contract/sim';
import { loadMcuProfiles } from '../../src-main/core/engine/mcu-profiles';
import { openFilesLimit } from '../../src-main/core/platform/open-files-limit';
import {
  decodeEvent,
  decodeResponse,
  decodeStatus,
  decodeTelemetry,
  deviceTopic,
  parseTopic,
  StandardCommands,
  type ResponseMessage,
  type StatusMessage,
  type TelemetryMessage,
} from '../../src-main/core/protocol';
import { SimulatorService } from '../../src-main/core/sim/simulator-service';
import { collect, startBrokerFixture, waitFor, type BrokerFixture } from '../support/aedes';

const profiles = loadMcuProfiles();
let fx: BrokerFixture;
let sim: SimulatorService;
const emitted: SimStatus[] = [];

beforeAll(async () => {
  fx = await startBrokerFixture();
});

afterAll(async () => {
  await fx?.close();
});

const config = (over: Partial<SimGroupConfig> & { namePrefix: string; count: number }): SimGroupConfig => SimGroupConfig.parse(over);

/** Sends a command as the app would and waits for the device's response. */
async function command(deviceId: string, name: string, params: Record<string, unknown> = {}): Promise<ResponseMessage> {
  const id = randomUUID();
  const res = await collect(fx.operator, deviceTopic(deviceId, 'res'));
  try {
    await fx.operator.publishAsync(deviceTopic(deviceId, 'cmd'), JSON.stringify({ v: 1, id, name, params, ts: Date.now() }), { qos: 1 });
    const msg = await waitFor(`response to ${name}`, () => res.messages.map((m) => decodeResponse(m.payload)).find((r) => r.ok && r.value.id === id));
    if (!msg.ok) throw new Error('unreachable');
    return msg.value;
  } finally {
    await res.stop();
  }
}

function statuses(messages: Array<{ topic: string; payload: Buffer }>, deviceId: string): StatusMessage[] {
  return messages.filter((m) => parseTopic(m.topic)?.deviceId === deviceId).map((m) => {
    const d = decodeStatus(m.payload);
    if (!d.ok) throw new Error(d.error.message);
    return d.value;
  });
}

describe.each(['worker', 'inline'] as const)('simulator (%s engine) against the embedded broker', (engine) => {
  // Each test gets a simulator of its own with the group "basic" (6 devices, 200 ms) running, so it
  // runs alone or in any order; the broker and its store are shared (devices keep their ids).
  let basic: SimGroup;
  beforeEach(async () => {
    emitted.length = 0;
    sim = new SimulatorService({
      brokerUrl: () => fx.url,
      provisioner: fx.provisioner,
      profiles,
      engine,
      events: { emit: (_name, payload) => void emitted.push(payload as SimStatus), hasSubscribers: () => true },
    });
    expect(sim.engineMode).toBe(engine);
    // Devices keep their ids across tests and engines: each start re-provisions them (fresh secrets).
    basic = await sim.start(config({ namePrefix: 'basic', count: 6, telemetryIntervalMs: 200, profiles: ['stm32f746', 'rp2040'] }));
  });

  afterEach(async () => {
    await sim?.dispose();
  });

  it('provisions devices that come online with a retained birth and report valid telemetry', async () => {
    const group = basic;
    expect(group).toMatchObject({ id: 'basic', total: 6, connected: 6 });
    expect(fx.store.devices.get('basic-00001')).toMatchObject({ simulated: true, tags: ['sim'], mcu: 'stm32f746' });
    expect(fx.store.devices.get('basic-00002')).toMatchObject({ mcu: 'rp2040' });

    // Subscribing afterwards still shows every device online: the birth is retained.
    const status = await collect(fx.operator, 'tf/v1/+/status');
    const births = await waitFor('6 births', () => {
      const mine = status.messages.filter((m) => parseTopic(m.topic)?.deviceId.startsWith('basic-'));
      return mine.length >= 6 ? mine : undefined;
    });
    await status.stop();
    for (const m of births) {
      const d = decodeStatus(m.payload);
      expect(d.ok, d.ok ? '' : d.error.message).toBe(true);
      if (d.ok && d.value.state === 'online') {
        expect(d.value).toMatchObject({ fw: 'sim-1.0.0', telemetryIntervalMs: 200, slots: [{ slot: 'a' }, { slot: 'b' }] });
        expect(d.value.sramFree).toBeGreaterThan(0);
      } else expect.fail(`birth expected, got ${m.payload.toString()}`);
    }

    const tel = await collect(fx.operator, 'tf/v1/+/telemetry');
    await waitFor('telemetry from every device', () => new Set(tel.messages.map((m) => m.topic)).size === 6 && tel.messages.length >= 30);
    await tel.stop();
    const byDevice = new Map<string, TelemetryMessage[]>();
    for (const m of tel.messages) {
      const d = decodeTelemetry(m.payload);
      expect(d.ok, d.ok ? '' : d.error.message).toBe(true);
      if (!d.ok) continue;
      const id = parseTopic(m.topic)!.deviceId;
      byDevice.set(id, [...(byDevice.get(id) ?? []), d.value]);
    }
    for (const [id, samples] of byDevice) {
      for (let i = 1; i < samples.length; i++) expect(samples[i].seq, id).toBe(samples[i - 1].seq + 1);
      const s = samples[0];
      expect(s.battery).toBeGreaterThan(0);
      expect(s.rssi).toBeLessThan(0);
      expect(s.freeHeap).toBeGreaterThan(0);
      expect(s.metrics).toHaveProperty('anomaly');
    }
    // The Cortex-M0+ at 133 MHz is much slower than the Cortex-M7 at 216 MHz.
    const inf = (id: string): number => byDevice.get(id)![0].inferenceMs!;
    expect(inf('basic-00002')).toBeGreaterThan(3 * inf('basic-00001'));
    expect(sim.status()).toMatchObject({ connected: 6, total: 6 });
    expect(emitted.at(-1)).toMatchObject({ total: 6 });
  });

  it('answers ping, get_info, set_telemetry_interval and unknown commands', async () => {
    const ping = await command('basic-00001', 'ping');
    expect(ping.ok).toBe(true);
    expect(StandardCommands.ping.result.safeParse(ping.result).success).toBe(true);

    const info = await command('basic-00002', 'get_info');
    expect(StandardCommands.get_info.result.parse(info.result)).toMatchObject({ mcu: 'rp2040', runtime: 'tinyfleet-sim/1' });

    const set = await command('basic-00003', 'set_telemetry_interval', { ms: 1000 });
    expect(set).toMatchObject({ ok: true, result: { telemetryIntervalMs: 1000 } });
    const tel = await collect(fx.operator, deviceTopic('basic-00003', 'telemetry'));
    await new Promise((r) => setTimeout(r, 2100));
    await tel.stop();
    expect(tel.messages.length).toBeGreaterThanOrEqual(1);
    expect(tel.messages.length).toBeLessThanOrEqual(3); // at 200 ms it would be ~10

    const bad = await command('basic-00003', 'set_telemetry_interval', { ms: 5 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_PARAMS' } });
    const unknown = await command('basic-00003', 'self_destruct');
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } });
  });

  it('reboots on command: answers, goes offline, comes back with a new birth and seq from 0', async () => {
    const status = await collect(fx.operator, deviceTopic('basic-00004', 'status'));
    const events = await collect(fx.operator, deviceTopic('basic-00004', 'evt'));
    const tel = await collect(fx.operator, deviceTopic('basic-00004', 'telemetry'));
    // What came before the command (a retained status, perhaps an earlier group's shutdown) is not the reboot.
    await waitFor('the retained status', () => statuses(status.messages, 'basic-00004').length > 0);
    const before = statuses(status.messages, 'basic-00004').length;
    const res = await command('basic-00004', 'reboot');
    expect(res).toMatchObject({ ok: true, result: { rebooting: true } });
    const since = () => statuses(status.messages, 'basic-00004').slice(before);
    await waitFor('offline then online', () => {
      const states = since().map((s) => s.state);
      const off = states.indexOf('offline');
      return off >= 0 && states.indexOf('online', off) > off;
    });
    const offline = since().find((s) => s.state === 'offline');
    expect(offline).toMatchObject({ reason: 'reboot' });
    await waitFor('telemetry after the reboot', () => tel.messages.some((m) => decodeTelemetry(m.payload).ok && (decodeTelemetry(m.payload) as { value: TelemetryMessage }).value.seq === 0));
    await waitFor('boot event', () => events.messages.some((m) => { const e = decodeEvent(m.payload); return e.ok && e.value.kind === 'boot'; }));
    await Promise.all([status.stop(), events.stop(), tel.stop()]);
  });

  it('power loss makes the broker publish the last will (lost), then the device reboots', async () => {
    const status = await collect(fx.operator, deviceTopic('basic-00005', 'status'));
    await waitFor('retained online', () => statuses(status.messages, 'basic-00005').some((s) => s.state === 'online'));
    expect(await sim.inject('basic-00005', 'power_loss')).toEqual({ ok: true });
    await waitFor('lost', () => statuses(status.messages, 'basic-00005').some((s) => s.state === 'lost'));
    expect(await sim.inject('basic-00005', 'power_loss')).toEqual({ ok: false }); // already down
    const lostAt = statuses(status.messages, 'basic-00005').findIndex((s) => s.state === 'lost');
    await waitFor('back online', () => statuses(status.messages, 'basic-00005').slice(lostAt).some((s) => s.state === 'online'), 15_000);
    await status.stop();
    await expect(sim.inject('nobody', 'disconnect')).rejects.toThrow(AppError);
  });

  it('drops about the configured share of telemetry under message loss', async () => {
    await sim.start(config({ namePrefix: 'lossy', count: 20, telemetryIntervalMs: 100, faults: FaultConfig.parse({ messageLoss: 0.5, disconnectsPerHour: 0, powerLossesPerHour: 0, latencyMs: 0, jitterMs: 0 }) }));
    const tel = await collect(fx.operator, 'tf/v1/+/telemetry');
    await new Promise((r) => setTimeout(r, 3000));
    await tel.stop();
    const seqs = new Map<string, number[]>();
    for (const m of tel.messages) {
      const id = parseTopic(m.topic)!.deviceId;
      if (!id.startsWith('lossy-')) continue;
      const d = decodeTelemetry(m.payload);
      if (d.ok) seqs.set(id, [...(seqs.get(id) ?? []), d.value.seq]);
    }
    let received = 0;
    let produced = 0;
    for (const s of seqs.values()) {
      received += s.length;
      produced += Math.max(...s) - Math.min(...s) + 1;
    }
    expect(produced).toBeGreaterThan(300);
    expect(received / produced).toBeGreaterThan(0.38);
    expect(received / produced).toBeLessThan(0.62);
    await sim.stop('lossy');
  });

  it('delays publishes on a slow link', async () => {
    await sim.setFaults('basic', FaultConfig.parse({ disconnectsPerHour: 0, powerLossesPerHour: 0, messageLoss: 0, latencyMs: 400, jitterMs: 100 }), ['basic-00006']);
    const started = Date.now();
    const res = await command('basic-00006', 'ping');
    expect(res.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    await sim.setFaults('basic', FaultConfig.parse({ disconnectsPerHour: 0, powerLossesPerHour: 0, messageLoss: 0, latencyMs: 0, jitterMs: 0 }), ['basic-00006']);
    await expect(sim.setFaults('basic', FaultConfig.parse({ disconnectsPerHour: 0, powerLossesPerHour: 0, messageLoss: 0, latencyMs: 0, jitterMs: 0 }), ['lossy-00001'])).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('replays the same telemetry for the same seed', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const tel = await collect(fx.operator, 'tf/v1/seeded-00001/telemetry');
      await sim.start(config({ namePrefix: 'seeded', count: 2, telemetryIntervalMs: 100, seed }));
      await waitFor('5 samples', () => tel.messages.length >= 5);
      await sim.stop('seeded');
      await tel.stop();
      return tel.messages
        .map((m) => decodeTelemetry(m.payload))
        .flatMap((d) => (d.ok ? [d.value] : []))
        .sort((a, b) => a.seq - b.seq)
        .slice(0, 5)
        .map(({ ts: _ts, ...rest }) => JSON.stringify(rest));
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a).toHaveLength(5);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('stops gracefully (offline status), and a start can be cancelled by stop', async () => {
    const status = await collect(fx.operator, 'tf/v1/+/status');
    await sim.stop('basic');
    await waitFor('6 offline', () => status.messages.filter((m) => m.topic.includes('/basic-') && decodeStatus(m.payload).ok && (decodeStatus(m.payload) as { value: StatusMessage }).value.state === 'offline').length >= 6);
    await status.stop();
    await expect(sim.stop('basic')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const starting = sim.start(config({ namePrefix: 'cancel', count: 400 }));
    await new Promise((r) => setTimeout(r, 50));
    await sim.stop('cancel');
    await expect(starting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(sim.status().groups.map((g) => g.id)).not.toContain('cancel');
  });

  it('refuses unknown profiles and duplicate prefixes', async () => {
    await expect(sim.start(config({ namePrefix: 'x', count: 1, profiles: ['z80'] }))).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('z80') });
    await sim.start(config({ namePrefix: 'dup', count: 1 }));
    await expect(sim.start(config({ namePrefix: 'dup', count: 1 }))).rejects.toMatchObject({ code: 'CONFLICT' });
    await sim.stop('dup');
  });

  it.skipIf(openFilesLimit() === null || openFilesLimit()! > 40_000)('refuses a fleet that would run this process out of file descriptors, provisioning nothing', async () => {
    const limit = openFilesLimit()!;
    const count = Math.ceil(limit / 2);
    await expect(sim.start(config({ namePrefix: 'huge', count }))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(new RegExp(`over its limit of ${limit}.*tinyfleet sim --data-dir`)),
    });
    expect(fx.store.devices.get('huge-00001')).toBeUndefined();
  });
});
