import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError, type CommandRecord } from '../../../src-main/core/contract';
import { DeviceCommands, DeviceRouter } from '../../../src-main/core/fleet';
import type { Store } from '../../../src-main/core/store';
import { FakeConnection, storeWithDevices } from './fake-connection';
import { RecordingSink } from './recording-sink';

/** Command correlation against a fake connection and vitest's fake clock: no test waits in real time. */

let store: Store;
let connection: FakeConnection;
let router: DeviceRouter;
let sink: RecordingSink;
let commands: DeviceCommands;
const settled: CommandRecord[] = [];

function make(): DeviceCommands {
  const c = new DeviceCommands({ store, router, events: sink, clock: () => Date.now(), onSettled: (r) => settled.push(r) });
  c.start();
  return c;
}

beforeEach(async () => {
  vi.useFakeTimers({ now: 1_000_000 });
  store = storeWithDevices(['dev-a', 'dev-b']);
  connection = new FakeConnection();
  router = new DeviceRouter({ isDevice: (id) => store.devices.has(id) });
  await router.attach(connection);
  sink = new RecordingSink();
  settled.length = 0;
  commands = make();
});
afterEach(() => {
  commands.dispose();
  store.close();
  vi.useRealTimers();
});

/** The command the app published last, as the device reads it. */
function lastSent(): { topic: string; id: string; name: string; params: unknown } {
  const p = connection.published.at(-1)!;
  return { topic: p.topic, ...(JSON.parse(p.payload) as { id: string; name: string; params: unknown }) };
}

const states = (id: string): string[] => sink.of('fleet.commands').flatMap((p) => p.commands).filter((r) => r.id === id).map((r) => r.state);

async function code(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return (err as AppError).code;
}

describe('DeviceCommands', () => {
  it('sends on the cmd topic and settles with the answer that carries its id, from that device only', async () => {
    const answer = commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 5000 }, 'deploy');
    await vi.advanceTimersByTimeAsync(0);
    const cmd = lastSent();
    expect(cmd).toMatchObject({ topic: 'tf/v1/dev-a/cmd', name: 'ping', params: {} });
    connection.deliver('tf/v1/dev-b/res', { v: 1, id: cmd.id, ok: false, error: { code: 'FORGED', message: 'x' } });
    connection.deliver('tf/v1/dev-a/res', { v: 1, id: 'c-other', ok: true });
    connection.deliver('tf/v1/dev-a/res', { v: 1, id: cmd.id, ok: true, result: { pong: true, uptimeMs: 1 } });
    const record = await answer;
    expect(record).toMatchObject({ id: cmd.id, deviceId: 'dev-a', state: 'ok', result: { pong: true, uptimeMs: 1 }, error: null, answeredAt: 1_000_000 });
    expect(store.commands.get(cmd.id)).toEqual(record);
    expect(states(cmd.id)).toEqual(['pending', 'ok']);
    expect(settled.map((r) => r.id)).toEqual([cmd.id]);
    expect(store.audit.recent(5)[0]).toMatchObject({ actor: 'deploy', action: 'device.command', target: 'dev-a' });
    // A late duplicate changes nothing.
    connection.deliver('tf/v1/dev-a/res', { v: 1, id: cmd.id, ok: false, error: { code: 'LATE', message: 'x' } });
    expect(store.commands.get(cmd.id)?.state).toBe('ok');
  });

  it('times out a command nobody answers, on the clock', async () => {
    const answer = commands.send({ deviceId: 'dev-a', command: 'reboot', params: {}, timeoutMs: 300 }, 'test');
    await vi.advanceTimersByTimeAsync(299);
    expect(store.commands.recent('dev-a', 1)[0].state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(await answer).toMatchObject({ state: 'timeout', error: { code: 'TIMEOUT', message: 'no answer within 300 ms' } });
  });

  it('refuses bad names and params, unknown devices and a missing broker before storing anything', async () => {
    expect(await code(commands.send({ deviceId: 'ghost', command: 'ping', params: {}, timeoutMs: 300 }, 't'))).toBe('NOT_FOUND');
    expect(await code(commands.send({ deviceId: 'dev-a', command: 'Ping', params: {}, timeoutMs: 300 }, 't'))).toBe('BAD_REQUEST');
    expect(await code(commands.send({ deviceId: 'dev-a', command: 'set_telemetry_interval', params: { ms: 5 }, timeoutMs: 300 }, 't'))).toBe('BAD_REQUEST');
    expect(await code(commands.send({ deviceId: 'dev-a', command: 'blob', params: { x: 'x'.repeat(5000) }, timeoutMs: 300 }, 't'))).toBe('BAD_REQUEST');
    connection.connected = false;
    expect(await code(commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 300 }, 't'))).toBe('UNAVAILABLE');
    expect(store.commands.recent('dev-a', 10)).toEqual([]);
    expect(connection.published).toEqual([]);
  });

  it('says at once that an offline or lost device is offline, and sends nothing', async () => {
    store.devices.setStatus('dev-a', 'offline', 1);
    store.devices.setStatus('dev-b', 'lost', 1);
    const offline = commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 10_000 }, 't');
    await expect(offline).rejects.toMatchObject({ code: 'DEVICE_OFFLINE', message: expect.stringMatching(/device "dev-a" is offline.*"ping" was not sent/) });
    await expect(commands.send({ deviceId: 'dev-b', command: 'ping', params: {}, timeoutMs: 10_000 }, 't')).rejects.toMatchObject({ code: 'DEVICE_OFFLINE', message: expect.stringMatching(/is lost/) });
    expect(connection.published).toEqual([]);
    expect(store.commands.recent('dev-a', 10)).toEqual([]);
  });

  it('queues a command for an offline device and sends it when the device is back', async () => {
    store.devices.setStatus('dev-a', 'offline', 1);
    const queued = await commands.send({ deviceId: 'dev-a', command: 'set_telemetry_interval', params: { ms: 2000 }, timeoutMs: 500, queueForMs: 60_000 }, 'ops');
    expect(queued).toMatchObject({ state: 'queued', sentAt: 1_000_000, expiresAt: 1_060_000 });
    expect(store.commands.get(queued.id)).toMatchObject({ state: 'queued', expiresAt: 1_060_000 });
    expect(connection.published).toEqual([]);

    await vi.advanceTimersByTimeAsync(30_000);
    commands.deviceOnline('dev-b'); // another device: nothing for it
    expect(connection.published).toEqual([]);
    store.devices.setStatus('dev-a', 'online', Date.now());
    commands.deviceOnline('dev-a');
    await vi.advanceTimersByTimeAsync(0);
    const cmd = lastSent();
    expect(cmd).toMatchObject({ id: queued.id, topic: 'tf/v1/dev-a/cmd', name: 'set_telemetry_interval', params: { ms: 2000 } });
    expect(store.commands.get(queued.id)).toMatchObject({ state: 'pending', sentAt: 1_030_000 });
    connection.deliver('tf/v1/dev-a/res', { v: 1, id: queued.id, ok: true, result: { telemetryIntervalMs: 2000 } });
    expect(store.commands.get(queued.id)).toMatchObject({ state: 'ok', result: { telemetryIntervalMs: 2000 } });
    expect(states(queued.id)).toEqual(['queued', 'pending', 'ok']);
    // Sent once only, even when the device is born again.
    commands.deviceOnline('dev-a');
    expect(connection.published).toHaveLength(1);
  });

  it('marks a queued command expired when its device does not come back in time', async () => {
    store.devices.setStatus('dev-a', 'lost', 1);
    const queued = await commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 500, queueForMs: 5_000 }, 'ops');
    await vi.advanceTimersByTimeAsync(4_999);
    expect(store.commands.get(queued.id)?.state).toBe('queued');
    await vi.advanceTimersByTimeAsync(1);
    expect(store.commands.get(queued.id)).toMatchObject({ state: 'expired', error: { code: 'EXPIRED', message: 'the device did not come back within 5000 ms' }, answeredAt: null });
    expect(states(queued.id)).toEqual(['queued', 'expired']);
    commands.deviceOnline('dev-a');
    expect(connection.published).toEqual([]);
  });

  it('keeps queued commands across a restart and times out those left pending', async () => {
    store.devices.setStatus('dev-b', 'offline', 1);
    const queued = await commands.send({ deviceId: 'dev-b', command: 'ping', params: {}, timeoutMs: 500, queueForMs: 60_000 }, 'ops');
    const soonExpired = await commands.send({ deviceId: 'dev-b', command: 'reboot', params: {}, timeoutMs: 500, queueForMs: 1_000 }, 'ops');
    void commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 60_000 }, 'ops');
    await vi.advanceTimersByTimeAsync(0);
    const pendingId = lastSent().id;
    // The app stops without disposing (a crash: its timers are gone); it comes back 2 s later.
    vi.clearAllTimers();
    await vi.advanceTimersByTimeAsync(2_000);
    connection = new FakeConnection();
    router = new DeviceRouter({ isDevice: (id) => store.devices.has(id) });
    await router.attach(connection);
    commands = make();
    expect(store.commands.get(pendingId)).toMatchObject({ state: 'timeout' });
    expect(store.commands.get(soonExpired.id)?.state).toBe('expired');
    store.devices.setStatus('dev-b', 'online', Date.now());
    commands.deviceOnline('dev-b');
    await vi.advanceTimersByTimeAsync(0);
    expect(lastSent()).toMatchObject({ id: queued.id, topic: 'tf/v1/dev-b/cmd' });
    // After a restart the answer gets the default timeout (the caller who chose another is gone).
    await vi.advanceTimersByTimeAsync(10_000);
    expect(store.commands.get(queued.id)).toMatchObject({ state: 'timeout' });
  });

  it('sends to a device whose presence is not known yet (unknown is not offline)', async () => {
    const answer = commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 100 }, 't');
    await vi.advanceTimersByTimeAsync(100);
    expect(connection.published).toHaveLength(1);
    expect((await answer).state).toBe('timeout');
  });

  it('ends a command as cancelled when the caller aborts, when sending fails and when it stops', async () => {
    const abort = new AbortController();
    const aborted = commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 5000 }, 't', abort.signal);
    await vi.advanceTimersByTimeAsync(0);
    abort.abort();
    expect(await aborted).toMatchObject({ state: 'error', error: { code: 'CANCELLED', message: 'cancelled by the caller' } });

    connection.failPublish = 'broker went away';
    const failed = await commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 5000 }, 't');
    expect(failed).toMatchObject({ state: 'error', error: { code: 'UNAVAILABLE', message: 'could not send: broker went away' } });
    connection.failPublish = null;

    const stopped = commands.send({ deviceId: 'dev-a', command: 'ping', params: {}, timeoutMs: 5000 }, 't');
    await vi.advanceTimersByTimeAsync(0);
    commands.dispose();
    expect(await stopped).toMatchObject({ state: 'error', error: { code: 'CANCELLED', message: 'the app stopped before the device answered' } });
    commands = make();
  });
});
