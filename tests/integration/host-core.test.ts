import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceSummary } from '../../src-main/core/contract';
import { createTestCore, type TestCore } from '../support/core';

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('createCore', () => {
  // Each test gets a core of its own (4 simulated devices), so it runs alone or in any order.
  let core: TestCore;
  let dataDir: string;
  beforeEach(async () => {
    core = await createTestCore({ simulate: 4, keepDataDir: true });
    dataDir = core.dataDir;
  });
  afterEach(async () => {
    await core?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reports system info with the embedded broker on 127.0.0.1', async () => {
    const info = await core.api.call('system.info');
    expect(info.host).toBe('test');
    expect(info.dataDir).toBe(core.dataDir);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.broker).toMatchObject({ mode: 'embedded', connected: true, warning: null });
    expect(info.broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
  });

  it('starts the simulated fleet: devices provisioned and online, telemetry flowing', async () => {
    await until('4 simulated devices online', async () => {
      const { devices } = await core.api.call('fleet.list', {});
      return devices.length === 4 && devices.every((d) => d.simulated && d.status === 'online');
    });
    const status = await core.api.call('sim.status');
    expect(status.total).toBe(4);
    const profiles = await core.api.call('profiles.list');
    const { devices } = await core.api.call('fleet.list', {});
    expect(new Set(devices.map((d) => d.mcu)).size).toBe(Math.min(4, profiles.length));
  });

  it('pushes batched fleet events to subscribers and answers a ping', async () => {
    const seen = new Map<string, DeviceSummary>();
    const off = core.api.subscribe('fleet.devices', (p) => p.changed.forEach((d) => seen.set(d.id, d)));
    await until('fleet.devices events', () => seen.size > 0);
    off();
    const [first] = (await core.api.call('fleet.list', {})).devices;
    const record = await core.api.call('fleet.command', { id: first.id, command: 'ping', timeoutMs: 10_000 });
    expect(record.state).toBe('ok');
  });

  it('rejects bad input with BAD_REQUEST through the whole stack', async () => {
    await expect(core.api.call('fleet.get', { id: 'NOT VALID' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(core.api.call('fleet.get', { id: 'ghost-1' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('persists settings, audits the change and masks broker passwords', async () => {
    const before = await core.api.call('settings.get');
    expect(before.broker.mode).toBe('embedded');
    const after = await core.api.call('settings.update', { telemetry: { rawRetentionHours: 12, aggregateRetentionDays: 7 } });
    expect(after.telemetry).toEqual({ rawRetentionHours: 12, aggregateRetentionDays: 7 });
    expect((await core.api.call('settings.get')).telemetry.rawRetentionHours).toBe(12);
    const audit = await core.api.call('fleet.audit', { limit: 5 });
    expect(audit[0]).toMatchObject({ action: 'settings.update', actor: 'test', target: 'telemetry' });
    await expect(core.api.call('settings.update', { telemetry: { rawRetentionHours: 0, aggregateRetentionDays: 7 } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('switches broker settings at runtime and the fleet follows', async () => {
    await core.api.call('settings.update', { broker: { mode: 'embedded', port: 0, listenAll: false } });
    const info = await core.api.call('system.info');
    expect(info.broker.connected).toBe(true);
    await until('simulated devices back online on the new broker', async () => {
      const { devices } = await core.api.call('fleet.list', {});
      return devices.filter((d) => d.status === 'online').length === 4;
    });
    // an unreachable external broker: saved, reported, the app keeps running
    const saved = await core.api.call('settings.update', {
      broker: { mode: 'external', url: 'mqtt://127.0.0.1:1', username: 'u', password: 'secret-pw' },
    });
    expect(saved.broker.mode).toBe('external');
    const offline = await core.api.call('system.info');
    expect(offline.broker).toMatchObject({ mode: 'external', connected: false });
    expect(offline.broker.warning).toMatch(/Not connected/);
    const audit = await core.api.call('fleet.audit', { limit: 20 });
    expect(JSON.stringify(audit)).not.toContain('secret-pw');
    await expect(core.api.call('fleet.command', { id: 'sim-00001', command: 'ping' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await core.api.call('settings.update', { broker: { mode: 'embedded', port: 0, listenAll: false } });
    expect((await core.api.call('system.info')).broker.connected).toBe(true);
  });

  it('disposes cleanly and reopens the same data dir with its devices', async () => {
    await core.api.call('settings.update', { telemetry: { rawRetentionHours: 12, aggregateRetentionDays: 7 } });
    await core.dispose();
    const again = await createTestCore({ dataDir });
    try {
      const { total } = await again.api.call('fleet.list', {});
      expect(total).toBe(4);
      expect((await again.api.call('settings.get')).telemetry.rawRetentionHours).toBe(12);
    } finally {
      await again.dispose();
    }
    core = undefined as never;
  });
});
