import { Settings } from '../contract';
import type { SettingsRepo } from '../store';
import type { Logger } from '../common/logger';

/** Key of the app settings in the store's settings table. */
const SETTINGS_KEY = 'app.settings';

/** What a fresh install runs with: embedded broker on 127.0.0.1:1883 and a small simulated fleet. */
export function defaultSettings(): Settings {
  return {
    broker: { mode: 'embedded', port: 1883, listenAll: false },
    simulator: { autoStartCount: 24, telemetryIntervalMs: 1000 },
    telemetry: { rawRetentionHours: 6, aggregateRetentionDays: 30 },
    alerts: { lowBatteryPercent: 20, telemetryGapSeconds: 120 },
  };
}

/**
 * The persisted app settings: defaults merged with what the store holds, always valid. A stored
 * section that no longer parses (edited by hand, written by another version) falls back to its
 * default and is logged, so a bad value never stops the app from starting.
 */
export class SettingsService {
  constructor(
    private readonly repo: SettingsRepo,
    private readonly logger: Logger,
  ) {}

  get(): Settings {
    const defaults = defaultSettings();
    const stored = this.repo.get(SETTINGS_KEY);
    if (stored === undefined) return defaults;
    const merged: Record<string, unknown> = { ...defaults };
    if (typeof stored === 'object' && stored !== null) {
      for (const key of Object.keys(defaults) as (keyof Settings)[]) {
        const value = (stored as Record<string, unknown>)[key];
        if (value === undefined) continue;
        const section = Settings.shape[key].safeParse(value);
        if (section.success) merged[key] = section.data;
        else this.logger.warn(`settings: stored "${key}" is invalid; using the default`);
      }
    }
    return Settings.parse(merged);
  }

  /** Replaces the given sections and persists the result. */
  update(patch: Partial<Settings>): Settings {
    const next = Settings.parse({ ...this.get(), ...patch });
    this.repo.set(SETTINGS_KEY, next);
    return next;
  }
}

/** Settings as they may appear in logs and the audit trail: broker passwords masked. */
export function redactSettings(settings: Partial<Settings>): Partial<Settings> {
  if (settings.broker?.mode !== 'external') return settings;
  return { ...settings, broker: { ...settings.broker, password: settings.broker.password ? '***' : '' } };
}
