import { z } from 'zod';
import { AlertSettings } from './alerts';
import { defineCall } from './define';

/** The embedded aedes broker; `listenAll` exposes it on every interface (real devices on a LAN). */
export const EmbeddedBrokerSettings = z.object({
  mode: z.literal('embedded'),
  port: z.number().int().min(0).max(65535).default(1883),
  listenAll: z.boolean().default(false),
});

/** An external MQTT broker (Mosquitto, EMQX, ...); TinyFleet connects as the operator. */
export const ExternalBrokerSettings = z.object({
  mode: z.literal('external'),
  url: z.string().regex(/^(mqtts?|wss?|tcp):\/\/.+/, 'broker URL must start with mqtt://, mqtts://, ws:// or wss://'),
  username: z.string().default(''),
  password: z.string().default(''),
});

export const BrokerSettings = z.discriminatedUnion('mode', [EmbeddedBrokerSettings, ExternalBrokerSettings]);
export type BrokerSettings = z.infer<typeof BrokerSettings>;

/** Persisted settings (the data directory itself is chosen at launch, see system.info). */
export const Settings = z.object({
  broker: BrokerSettings,
  simulator: z.object({
    /** Simulated devices started with the app (0: none). */
    autoStartCount: z.number().int().min(0).max(20_000),
    telemetryIntervalMs: z.number().int().min(100),
  }),
  telemetry: z.object({
    rawRetentionHours: z.number().min(1).max(24 * 30),
    aggregateRetentionDays: z.number().min(1).max(3650),
  }),
  alerts: AlertSettings,
});
export type Settings = z.infer<typeof Settings>;

export const settingsCalls = {
  'settings.get': defineCall({
    summary: 'Current settings',
    input: z.object({}).default({}),
    output: Settings,
  }),
  'settings.update': defineCall({
    summary: 'Change settings; broker changes reconnect the app',
    input: Settings.partial(),
    output: Settings,
  }),
};
