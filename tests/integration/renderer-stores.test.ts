/**
 * The renderer's Pinia stores against a real core (in-process client, embedded broker, SQLite,
 * simulated devices): what the UI shows follows what the core says.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from 'vue';
import { createPinia } from 'pinia';
import { apiKey } from '../../src-renderer/app/api-context';
import { useFleetStore } from '../../src-renderer/stores/fleet';
import { useDeviceDetailStore } from '../../src-renderer/stores/device-detail';
import { useSimulatorStore } from '../../src-renderer/stores/simulator';
import { useSettingsStore } from '../../src-renderer/stores/settings';
import { createTestCore, type TestCore } from '../support/core';

let core: TestCore;
let app: App;

/** Runs a store factory inside the app, so its `inject` finds the API. */
function use<T>(factory: () => T): T {
  return app.runWithContext(factory);
}

// Each test has a core (two simulated devices) and stores of its own: it runs alone or in any order.
beforeEach(async () => {
  core = await createTestCore({ simulate: 2 });
  app = createApp({});
  app.provide(apiKey, core.api);
  app.use(createPinia());
}, 60_000);

afterEach(async () => {
  for (const store of [use(useFleetStore), use(useDeviceDetailStore), use(useSimulatorStore)]) store.dispose();
  await core?.dispose();
});

/** The fleet store, started, with the two simulated devices and the real device bench-a ("Zeta", rp2040, tag lab) in its rows. */
async function fleetWithBench() {
  const fleet = use(useFleetStore);
  await fleet.start();
  await expect.poll(() => fleet.deviceCount, { timeout: 10_000 }).toBe(2);
  const added = await fleet.add({ id: 'bench-a', name: 'Zeta', mcu: 'rp2040', tags: ['lab'] });
  await expect.poll(() => fleet.rows.map((r) => r.id), { timeout: 5_000 }).toContain('bench-a');
  return { fleet, ...added };
}

describe('fleet store', () => {
  it('loads the registry and follows devices added later', async () => {
    const { fleet, device, secret } = await fleetWithBench();
    expect(secret.length).toBeGreaterThan(8);
    expect(device.status).toBe('unknown');
    expect(fleet.facets.tags).toContain('lab');
  });

  it('filters, searches and sorts the rows', async () => {
    const { fleet } = await fleetWithBench();
    fleet.filter.mcus = ['rp2040'];
    await expect.poll(() => fleet.rows.map((r) => r.id)).toEqual(['bench-a']);
    fleet.clearFilters();
    fleet.filter.search = 'ZETA';
    await expect.poll(() => fleet.rows.map((r) => r.id)).toEqual(['bench-a']);
    fleet.clearFilters();
    fleet.setSort('name');
    fleet.setSort('name');
    await expect.poll(() => fleet.sort).toEqual({ key: 'name', order: 'desc' });
    await expect.poll(() => fleet.rows[0]?.id).toBe('bench-a');
  });

  it('sees the simulated devices come online and their telemetry arrive', async () => {
    const fleet = use(useFleetStore);
    await fleet.start();
    await expect.poll(() => fleet.rows.filter((r) => r.simulated && r.status === 'online').length, { timeout: 20_000 }).toBe(2);
    await expect.poll(() => fleet.stats?.online, { timeout: 10_000 }).toBe(2);
    const sim = fleet.rows.find((r) => r.simulated)!;
    await expect.poll(() => fleet.device(sim.id)?.battery ?? null, { timeout: 10_000 }).not.toBeNull();
  });

  it('exports the registry as CSV and reports import errors per line', async () => {
    const { fleet } = await fleetWithBench();
    expect(await fleet.exportCsv()).toContain('bench-a');
    const result = await fleet.importCsv('id,name,mcu,tags\nbench-b,Bee,rp2040,\nBAD ID,x,rp2040,\n');
    expect(result.added.map((a) => a.device.id)).toEqual(['bench-b']);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].line).toBe(3);
  });
});

describe('device detail store', () => {
  it('shows live telemetry of a simulated device and the answer to a ping', async () => {
    const fleet = use(useFleetStore);
    const detail = use(useDeviceDetailStore);
    await fleet.start();
    await expect.poll(() => fleet.rows.filter((r) => r.simulated && r.status === 'online').length, { timeout: 20_000 }).toBeGreaterThan(0);
    const sim = fleet.rows.find((r) => r.simulated && r.status === 'online')!;
    await detail.open(sim.id);
    expect(detail.error).toBeNull();
    expect(detail.detail?.id).toBe(sim.id);
    const before = detail.ring.length;
    await expect.poll(() => detail.ring.length, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(detail.ring.latest('temperature')).not.toBeNull();

    const record = await detail.sendCommand('ping', {});
    expect(record.state).toBe('ok');
    expect(record.result).toMatchObject({ pong: true });
    expect(detail.commands[0].id).toBe(record.id);
    expect(detail.events.length).toBeGreaterThan(0);
  });

  it('says so when the device does not exist', async () => {
    const detail = use(useDeviceDetailStore);
    await detail.open('no-such-device');
    // The sentence, not the code: codes are for programs.
    expect(detail.error).toBe('no device "no-such-device"');
    detail.close();
    expect(detail.deviceId).toBeNull();
  });
});

describe('simulator and settings stores', () => {
  it('follows the running groups', async () => {
    const simulator = use(useSimulatorStore);
    await simulator.start();
    expect(simulator.status.total).toBe(2);
    expect(simulator.status.groups).toHaveLength(1);
  });

  it('saves settings and shows a refused value as an error', async () => {
    const settings = use(useSettingsStore);
    await settings.load();
    const current = settings.settings!;
    expect(await settings.save({ ...current, telemetry: { ...current.telemetry, rawRetentionHours: 12 } })).toBe(true);
    expect(settings.settings?.telemetry.rawRetentionHours).toBe(12);
    expect(await settings.save({ ...current, telemetry: { ...current.telemetry, rawRetentionHours: -1 } })).toBe(false);
    expect(settings.error).toMatch(/rawRetentionHours/);
    expect(settings.error).not.toMatch(/BAD_REQUEST/);
    expect(settings.settings?.telemetry.rawRetentionHours).toBe(12);
  });
});
