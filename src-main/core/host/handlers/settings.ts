import { AppError, type BrokerSettings, type Settings } from '../../contract';
import type { AuditRepo } from '../../store';
import type { Handlers } from '../handler';
import { redactSettings, type SettingsService } from '../../settings/settings-service';

export interface SettingsHandlerDeps {
  settings: SettingsService;
  audit: AuditRepo;
  /** Applies new broker settings (restart the embedded broker or connect to the external one). */
  applyBroker(broker: BrokerSettings): Promise<void>;
}

/**
 * settings.get / settings.update. An update is persisted first, then applied: a broker change
 * reconnects the app (a failure to connect is reported, the new settings stay saved so the user
 * can correct them). Every update is audited with passwords masked.
 */
export function createSettingsHandlers(deps: SettingsHandlerDeps): Handlers<'settings.get' | 'settings.update'> {
  return {
    'settings.get': () => deps.settings.get(),
    'settings.update': async (patch, ctx) => {
      const before = deps.settings.get();
      const after = deps.settings.update(patch as Partial<Settings>);
      deps.audit.append({
        ts: Date.now(),
        actor: ctx.actor,
        action: 'settings.update',
        target: Object.keys(patch).join(',') || null,
        details: redactSettings(patch as Partial<Settings>),
      });
      if (patch.broker && JSON.stringify(before.broker) !== JSON.stringify(after.broker)) {
        try {
          await deps.applyBroker(after.broker);
        } catch (error) {
          throw new AppError('UNAVAILABLE', `Settings saved, but the broker could not be started: ${(error as Error).message}`);
        }
      }
      return after;
    },
  };
}
