import { z } from 'zod';
import { defineCall, defineEvent } from './define';
import { DeviceId } from './fleet';

/**
 * What needs an operator's attention: a battery below the threshold, a device the broker lost
 * (its last will), an online device whose telemetry stopped for longer than the allowed gap.
 */
export const AlertKind = z.enum(['low_battery', 'lost', 'telemetry_gap']);
export type AlertKind = z.infer<typeof AlertKind>;

/** One active alert; it ends by itself when its condition clears. */
export const Alert = z.object({
  /** `<kind>:<deviceId>`: stable while the condition lasts. */
  id: z.string(),
  kind: AlertKind,
  deviceId: DeviceId,
  deviceName: z.string(),
  /** When TinyFleet first saw the condition (epoch ms). */
  since: z.number(),
  message: z.string(),
  /** The value behind it: battery %, seconds since the last sample, or null. */
  value: z.number().nullable(),
});
export type Alert = z.infer<typeof Alert>;

/** Alert thresholds (a section of the settings). */
export const AlertSettings = z.object({
  /** A battery below this percentage raises low_battery. */
  lowBatteryPercent: z.number().min(0).max(100),
  /** An online device silent for longer than this (seconds) raises telemetry_gap. */
  telemetryGapSeconds: z.number().int().min(5).max(7 * 24 * 3600),
});
export type AlertSettings = z.infer<typeof AlertSettings>;

/** The active alerts, newest condition first, and when they were evaluated. */
export const AlertList = z.object({ alerts: z.array(Alert), evaluatedAt: z.number() });
export type AlertList = z.infer<typeof AlertList>;

export const alertsCalls = {
  'alerts.list': defineCall({
    summary: 'The active alerts (low battery, lost devices, telemetry gaps)',
    input: z.object({}).default({}),
    output: AlertList,
  }),
};

export const alertsEvents = {
  'alerts.changed': defineEvent({
    summary: 'The active alerts, whenever an alert starts or ends',
    keyed: false,
    payload: AlertList,
  }),
};
