import { z } from 'zod';
import { DeviceInfo } from './messages';
import { MAX_TELEMETRY_INTERVAL_MS, MIN_TELEMETRY_INTERVAL_MS } from './limits';

/**
 * The standard commands every v1 device implements, with the schemas of their params and results.
 * The app validates params before sending; a device answers BAD_PARAMS when they do not fit.
 */
export const StandardCommands = {
  /** Liveness check. */
  ping: {
    params: z.object({}),
    result: z.object({ pong: z.literal(true), uptimeMs: z.number().int().min(0) }),
  },
  /** Everything of the birth message, plus uptime. */
  get_info: {
    params: z.object({}),
    result: DeviceInfo.extend({ uptimeMs: z.number().int().min(0) }),
  },
  /** Changes how often telemetry is published; takes effect from the next sample. */
  set_telemetry_interval: {
    params: z.object({ ms: z.number().int().min(MIN_TELEMETRY_INTERVAL_MS).max(MAX_TELEMETRY_INTERVAL_MS) }),
    result: z.object({ telemetryIntervalMs: z.number().int() }),
  },
  /**
   * Restarts the device: it answers first, publishes a retained `offline` status with reason
   * "reboot", disconnects cleanly and comes back with a new birth.
   */
  reboot: {
    params: z.object({}),
    result: z.object({ rebooting: z.literal(true) }),
  },
  /**
   * v1.1: makes the other model slot active again (a rollback without a transfer). The device
   * activates it on trial, runs the package's self-test and confirms; a failed self-test is
   * SELF_TEST_FAILED and the device stays where it was.
   */
  activate_slot: {
    params: z.object({ slot: z.enum(['a', 'b']) }),
    result: z.object({ slot: z.enum(['a', 'b']), model: z.string(), confirmed: z.literal(true) }),
  },
} as const;

export type StandardCommandName = keyof typeof StandardCommands;
export type StandardCommandParams<N extends StandardCommandName> = z.infer<(typeof StandardCommands)[N]['params']>;
export type StandardCommandResult<N extends StandardCommandName> = z.infer<(typeof StandardCommands)[N]['result']>;

/** True when `name` is one of the standard commands. */
export function isStandardCommand(name: string): name is StandardCommandName {
  return Object.prototype.hasOwnProperty.call(StandardCommands, name);
}
