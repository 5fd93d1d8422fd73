import { randomBytes } from 'node:crypto';
import type { SettingsRepo } from '../store';
import { OPERATOR_USERNAME } from './acl';

const SETTINGS_KEY = 'broker.operatorPassword';

/** The app's own MQTT login. */
export interface OperatorCredentials {
  username: string;
  password: string;
}

/**
 * The operator login for the embedded broker (and for the exported Mosquitto configuration): the
 * password is generated at first run and kept in the data directory's settings, because the app
 * must present it on every start.
 */
export function ensureOperatorCredentials(settings: SettingsRepo): OperatorCredentials {
  let password = settings.get(SETTINGS_KEY);
  if (typeof password !== 'string' || password.length < 16) {
    password = randomBytes(24).toString('base64url');
    settings.set(SETTINGS_KEY, password);
  }
  return { username: OPERATOR_USERNAME, password: password as string };
}
