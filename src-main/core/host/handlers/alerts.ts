import type { AlertService } from '../../alerts/alert-service';
import type { Handlers } from '../handler';

/** Handlers of the alert calls. */
export function createAlertsHandlers(deps: { alerts: AlertService }): Handlers<'alerts.list'> {
  return { 'alerts.list': () => deps.alerts.list() };
}
