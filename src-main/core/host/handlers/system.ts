import type { SystemInfo } from '../../contract';
import type { Handlers } from '../handler';

/** system.info: version, data directory, host and the live broker state. */
export function createSystemHandlers(info: () => SystemInfo): Handlers<'system.info'> {
  return { 'system.info': () => info() };
}
