/**
 * Issue 12 item 8 in the core: actions on many devices with per-device results, telemetry export
 * as CSV, and the alert rules, on a real core (embedded broker, SQLite, simulated devices).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCore, type TestCore } from '../support/core';

let core: TestCore;
let sims: string[];

beforeAll(async () => {
  core = await createTestCore({ simulate: 3 });
  await core.api.call('fleet.add', { id: 'never-seen', mcu: 'rp2040' });
  for (let i = 0; i < 100; i++) {
    const { devices } = await core.api.call('fleet.list', {});
    sims = devices.filter((d) => d.simulated && d.status === 'online' && d.battery !== null).map((d) => d.id);
    if (sims.length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(sims).toHaveLength(3);
}, 60_000);

afterAll(async () => {
  await core?.dispose();
});

describe('bulk actions', () => {
  it('sends a command to many devices and reports each one', async () => {
    const result = await core.api.call('fleet.bulkCommand', { ids: [...sims, 'never-seen', 'no-such'], command: 'ping', timeoutMs: 1500 });
    expect(result.results.map((r) => r.id)).toEqual([...sims, 'never-seen', 'no-such']);
    for (const r of result.results.slice(0, 3)) expect(r).toMatchObject({ ok: true, error: null, command: { state: 'ok', result: { pong: true } } });
    expect(result.results[3]).toMatchObject({ ok: false });
    expect(result.results[4]).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: 'no device "no-such"' } });
    expect([result.ok, result.failed, result.queued]).toEqual([3, 2, 0]);
  }, 30_000);

  it('adds and removes tags on many devices, keeping their other tags', async () => {
    await core.api.call('fleet.update', { id: 'never-seen', tags: ['keep', 'old'] });
    const result = await core.api.call('fleet.bulkTag', { ids: [sims[0], 'never-seen', 'no-such'], add: ['site-b'], remove: ['old'] });
    expect([result.ok, result.failed]).toEqual([2, 1]);
    expect((await core.api.call('fleet.get', { id: 'never-seen' })).tags).toEqual(['keep', 'site-b']);
    expect((await core.api.call('fleet.get', { id: sims[0] })).tags).toContain('site-b');
    await expect(core.api.call('fleet.bulkTag', { ids: [sims[0]] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('exports the telemetry of a selection as CSV with ISO times, within a range', async () => {
    const until = Date.now();
    const all = await core.api.call('fleet.exportTelemetry', { ids: sims.slice(0, 2), until });
    const lines = all.csv.trim().split('\n');
    expect(lines[0]).toMatch(/^device_id,time,battery,temperature,rssi,free_heap,inference_ms/);
    expect(all.rows).toBe(lines.length - 1);
    expect(all.rows).toBeGreaterThan(0);
    expect(all.truncated).toEqual([]);
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    for (const line of lines.slice(1)) {
      const [id, time] = line.split(',');
      expect(sims.slice(0, 2)).toContain(id);
      expect(time).toMatch(iso);
      expect(Date.parse(time)).toBeLessThanOrEqual(until);
    }
    const none = await core.api.call('fleet.exportTelemetry', { ids: [sims[0]], since: until + 3_600_000 });
    expect(none.rows).toBe(0);
    await expect(core.api.call('fleet.exportTelemetry', { ids: ['no-such'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deprovisions many devices and says which were not there', async () => {
    await core.api.call('fleet.add', { id: 'spare-1', mcu: 'rp2040' });
    const result = await core.api.call('fleet.bulkRemove', { ids: ['spare-1', 'no-such'] });
    expect(result.results).toEqual([
      { id: 'spare-1', ok: true, error: null },
      { id: 'no-such', ok: false, error: { code: 'NOT_FOUND', message: 'no device "no-such"' } },
    ]);
    await expect(core.api.call('fleet.get', { id: 'spare-1' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('alerts', () => {
  it('raises low-battery alerts from the settings threshold and lets them end', async () => {
    const changes: number[] = [];
    const off = core.api.subscribe('alerts.changed', (p) => changes.push(p.alerts.length));
    await core.api.call('settings.update', { alerts: { lowBatteryPercent: 100, telemetryGapSeconds: 120 } });
    // Simulated batteries start below 100 % and drain.
    await expect.poll(async () => (await core.api.call('alerts.list', {})).alerts.filter((a) => a.kind === 'low_battery').map((a) => a.deviceId).sort(), { timeout: 15_000 }).toEqual([...sims].sort());
    const alert = (await core.api.call('alerts.list', {})).alerts.find((a) => a.deviceId === sims[0])!;
    expect(alert).toMatchObject({ id: `low_battery:${sims[0]}`, kind: 'low_battery', message: 'Battery below 100 %' });
    await expect.poll(() => changes.at(-1), { timeout: 5_000 }).toBe(3);
    await core.api.call('settings.update', { alerts: { lowBatteryPercent: 0, telemetryGapSeconds: 120 } });
    await expect.poll(async () => (await core.api.call('alerts.list', {})).alerts.length, { timeout: 15_000 }).toBe(0);
    off();
  }, 40_000);
});

describe('bulk commands to offline devices (last: it stops the simulated fleet)', () => {
  it('refuses them by name, or queues the command when asked', async () => {
    await core.api.call('sim.stop', {});
    await expect.poll(async () => (await core.api.call('fleet.list', {})).devices.filter((d) => sims.includes(d.id) && d.status === 'offline').length, { timeout: 15_000 }).toBe(3);
    const refused = await core.api.call('fleet.bulkCommand', { ids: sims.slice(0, 2), command: 'ping', timeoutMs: 1500 });
    expect(refused.results.map((r) => r.error?.code)).toEqual(['DEVICE_OFFLINE', 'DEVICE_OFFLINE']);
    expect([refused.ok, refused.failed, refused.queued]).toEqual([0, 2, 0]);
    const queued = await core.api.call('fleet.bulkCommand', { ids: sims.slice(0, 2), command: 'ping', timeoutMs: 1500, queueForMs: 60_000 });
    for (const r of queued.results) {
      expect(r).toMatchObject({ ok: false, queued: true, error: null, command: { state: 'queued' } });
      expect(r.command!.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    }
    expect([queued.ok, queued.failed, queued.queued]).toEqual([0, 0, 2]);
    expect((await core.api.call('fleet.commands', { id: sims[0] }))[0]).toMatchObject({ command: 'ping', state: 'queued' });
  }, 30_000);
});
