import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../src-main/core/common/logger';
import { SettingsService, defaultSettings, redactSettings } from '../../../src-main/core/settings/settings-service';
import { Store } from '../../../src-main/core/store';

let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
});

function setup() {
  store = Store.openFile(':memory:');
  const logger = createMemoryLogger();
  return { repo: store.settings, logger, settings: new SettingsService(store.settings, logger) };
}

describe('SettingsService', () => {
  it('starts from the defaults: embedded broker on 127.0.0.1:1883, a simulated fleet', () => {
    const { settings } = setup();
    expect(settings.get()).toEqual(defaultSettings());
    expect(settings.get().broker).toEqual({ mode: 'embedded', port: 1883, listenAll: false });
    expect(settings.get().simulator.autoStartCount).toBeGreaterThan(0);
  });

  it('persists updates section by section', () => {
    const { settings, repo, logger } = setup();
    settings.update({ simulator: { autoStartCount: 0, telemetryIntervalMs: 500 } });
    const again = new SettingsService(repo, logger).get();
    expect(again.simulator).toEqual({ autoStartCount: 0, telemetryIntervalMs: 500 });
    expect(again.broker).toEqual(defaultSettings().broker);
  });

  it('falls back to the default for a stored section that no longer parses, and logs it', () => {
    const { settings, repo, logger } = setup();
    repo.set('app.settings', { broker: { mode: 'carrier-pigeon' }, simulator: { autoStartCount: 3, telemetryIntervalMs: 1000 } });
    const got = settings.get();
    expect(got.broker).toEqual(defaultSettings().broker);
    expect(got.simulator.autoStartCount).toBe(3);
    expect(logger.entries.some((e) => e.level === 'warn' && e.message.includes('"broker"'))).toBe(true);
  });

  it('refuses invalid updates without writing them', () => {
    const { settings } = setup();
    expect(() => settings.update({ telemetry: { rawRetentionHours: -1, aggregateRetentionDays: 1 } })).toThrow();
    expect(settings.get()).toEqual(defaultSettings());
  });

  it('masks broker passwords for logs and audit', () => {
    const external = { mode: 'external' as const, url: 'mqtt://h:1883', username: 'op', password: 'hunter2' };
    expect(redactSettings({ broker: external }).broker).toEqual({ ...external, password: '***' });
    expect(redactSettings({ broker: { ...external, password: '' } }).broker).toMatchObject({ password: '' });
  });
});
