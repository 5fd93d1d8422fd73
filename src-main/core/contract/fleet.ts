import { z } from 'zod';
import { defineCall, defineEvent } from './define';

/** A device id: lowercase letters, digits, '-' and '_' (it is an MQTT topic level and a username). */
export const DeviceId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'device ids use lowercase letters, digits, "-" and "_"');

/**
 * Presence as the app sees it: `online` (retained status online), `offline` (the device said
 * goodbye), `lost` (the broker published its last will), `unknown` (never seen since provisioning).
 */
export const DeviceStatus = z.enum(['online', 'offline', 'lost', 'unknown']);
export type DeviceStatus = z.infer<typeof DeviceStatus>;

export const Tag = z.string().min(1).max(32).regex(/^[A-Za-z0-9_.:-]+$/, 'tags use letters, digits and _ . : -');

/** One row of the fleet table: what the registry knows plus the latest telemetry. */
export const DeviceSummary = z.object({
  id: DeviceId,
  name: z.string(),
  tags: z.array(z.string()),
  mcu: z.string(),
  status: DeviceStatus,
  firmware: z.string().nullable(),
  /** Model active on the device (id@version), when it reported one. */
  model: z.string().nullable(),
  simulated: z.boolean(),
  createdAt: z.number(),
  lastSeen: z.number().nullable(),
  battery: z.number().nullable(),
  temperature: z.number().nullable(),
  rssi: z.number().nullable(),
  /** Set while the device runs a personalization overlay (its birth says so): global rounds leave it out. */
  personalized: z.object({ session: z.string(), digest: z.string() }).optional(),
});
export type DeviceSummary = z.infer<typeof DeviceSummary>;

/** A model slot as the device reports it in its birth message. */
export const ModelSlot = z.object({
  slot: z.enum(['a', 'b']),
  model: z.string().nullable(),
  active: z.boolean(),
  /** SHA-256 of the package in the slot (protocol v1.1). */
  sha256: z.string().optional(),
  /** For the active slot: false while it runs on trial, before its self-test confirmed it (v1.1). */
  confirmed: z.boolean().optional(),
  /** For the active slot: its model's `modelDigest`, what federated rounds compare (v1.2). */
  digest: z.string().optional(),
});

/** Everything the device detail page shows. */
export const DeviceDetail = DeviceSummary.extend({
  runtime: z.string().nullable(),
  sramFree: z.number().nullable(),
  flashFree: z.number().nullable(),
  modelSlots: z.array(ModelSlot),
  /** Protocol revision from the birth ("1.0" when the device does not say; "1.1" takes deployments). */
  proto: z.string(),
  telemetryIntervalMs: z.number().nullable(),
  freeHeap: z.number().nullable(),
  inferenceMs: z.number().nullable(),
  /** What the device's active model last predicted (class index) and with what probability (0-1). */
  prediction: z.number().nullable(),
  confidence: z.number().nullable(),
});
export type DeviceDetail = z.infer<typeof DeviceDetail>;

/** One telemetry sample (raw) or one 1-minute aggregate (means over the minute). */
export const TelemetryPoint = z.object({
  ts: z.number(),
  battery: z.number().nullable(),
  temperature: z.number().nullable(),
  rssi: z.number().nullable(),
  freeHeap: z.number().nullable(),
  inferenceMs: z.number().nullable(),
  /** The active model's class index and its probability, in raw samples of devices that run one. */
  prediction: z.number().optional(),
  confidence: z.number().optional(),
  metrics: z.record(z.string(), z.number()),
});
export type TelemetryPoint = z.infer<typeof TelemetryPoint>;

/** A device event (from its `evt` topic) or an app-side note about the device (presence change). */
export const DeviceEvent = z.object({
  id: z.number(),
  deviceId: DeviceId,
  ts: z.number(),
  kind: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
  data: z.unknown().optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;

/**
 * `queued`: waiting for an offline device to come back (sent then, or `expired` at `expiresAt`);
 * `pending`: sent, waiting for the answer; then `ok`, `error` or `timeout`.
 */
export const CommandState = z.enum(['queued', 'pending', 'ok', 'error', 'timeout', 'expired']);

/** Longest a command may wait queued for an offline device (7 days). */
export const MAX_COMMAND_QUEUE_MS = 7 * 24 * 3_600_000;

/** A command sent to a device and what became of it. */
export const CommandRecord = z.object({
  id: z.string(),
  deviceId: DeviceId,
  command: z.string(),
  params: z.record(z.string(), z.unknown()),
  state: CommandState,
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** When it was sent (for a queued command: when it was queued, until it is sent). */
  sentAt: z.number(),
  answeredAt: z.number().nullable(),
  /** Only for a command queued for an offline device: when it expires unless the device is back. */
  expiresAt: z.number().optional(),
});
export type CommandRecord = z.infer<typeof CommandRecord>;

/** Operator actions, kept for accountability. */
export const AuditEntry = z.object({
  id: z.number(),
  ts: z.number(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  details: z.unknown().optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Ingest health counters. */
export const FleetStats = z.object({
  devices: z.number(),
  online: z.number(),
  offline: z.number(),
  lost: z.number(),
  unknown: z.number(),
  byMcu: z.record(z.string(), z.number()),
  telemetryIngested: z.number(),
  telemetryPerSec: z.number(),
  unknownDeviceMessages: z.number(),
  malformedMessages: z.number(),
  /** Well-formed device messages of a kind no service handles yet (e.g. block transfer before deployments). */
  unroutedMessages: z.number(),
  ingestQueue: z.number(),
});
export type FleetStats = z.infer<typeof FleetStats>;

/** How a device reaches the app over MQTT (everything but its secret), for firmware and its flasher. */
export const DeviceConnection = z.object({
  deviceId: DeviceId,
  brokerUrl: z.string(),
  host: z.string(),
  port: z.number().int(),
  tls: z.boolean(),
  /** The MQTT username; the password is the device's secret. */
  username: z.string(),
  /** The topic filter of the device's own subtree (all its ACL allows). */
  subtree: z.string(),
  /** Topics the device publishes to. */
  publish: z.array(z.string()),
  /** Topics the device subscribes to. */
  subscribe: z.array(z.string()),
});
export type DeviceConnection = z.infer<typeof DeviceConnection>;

/** A freshly provisioned device with its MQTT secret (shown once; only its scrypt hash is kept). */
export const ProvisionedDevice = z.object({ device: DeviceSummary, secret: z.string() });

export const NewDevice = z.object({
  id: DeviceId.optional(),
  name: z.string().max(128).optional(),
  tags: z.array(Tag).max(32).default([]),
  mcu: z.string().min(1),
});

export const DeviceQuery = z.object({
  status: z.array(DeviceStatus).optional(),
  mcu: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  /** The active model: `modelId@version` for one version, a bare model id for any of its versions. */
  model: z.string().min(1).max(128).optional(),
  search: z.string().optional(),
  /** `model` orders by model id, then by version as a number (v10 after v9). */
  sort: z.enum(['id', 'name', 'status', 'mcu', 'model', 'lastSeen', 'battery']).default('id'),
  order: z.enum(['asc', 'desc']).default('asc'),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(50_000).default(50_000),
});

/** Fleet calls: registry, provisioning, presence, telemetry, commands, audit. */
export const fleetCalls = {
  'fleet.list': defineCall({
    summary: 'List devices with filters and sort',
    input: DeviceQuery,
    output: z.object({ total: z.number(), devices: z.array(DeviceSummary) }),
  }),
  'fleet.get': defineCall({
    summary: 'One device in detail',
    input: z.object({ id: DeviceId }),
    output: DeviceDetail,
  }),
  'fleet.stats': defineCall({
    summary: 'Counts by status and MCU, ingest counters',
    input: z.object({}).default({}),
    output: FleetStats,
  }),
  'fleet.add': defineCall({
    summary: 'Provision one device; returns its secret once',
    input: NewDevice,
    output: ProvisionedDevice,
  }),
  'fleet.import': defineCall({
    summary: 'Provision devices from CSV (id,name,mcu,tags); returns the secrets once',
    input: z.object({ csv: z.string().max(10_000_000) }),
    output: z.object({
      added: z.array(ProvisionedDevice),
      /** Lines refused, each with why. */
      errors: z.array(z.object({ line: z.number(), message: z.string() })),
      /** Lines added with a change the operator must know about (e.g. an id TinyFleet generated). */
      notes: z.array(z.object({ line: z.number(), message: z.string() })),
    }),
  }),
  'fleet.export': defineCall({
    summary: 'The registry as CSV (no secrets; times in ISO 8601 UTC)',
    input: z.object({}).default({}),
    output: z.object({ csv: z.string() }),
  }),
  'fleet.update': defineCall({
    summary: 'Rename or retag a device',
    input: z.object({ id: DeviceId, name: z.string().max(128).optional(), tags: z.array(Tag).max(32).optional() }),
    output: DeviceSummary,
  }),
  'fleet.remove': defineCall({
    summary: 'Deprovision a device (its credentials stop working)',
    input: z.object({ id: DeviceId }),
    output: z.object({ removed: z.boolean() }),
  }),
  'fleet.rotateSecret': defineCall({
    summary: 'Issue a new MQTT secret for a device; returns it once',
    input: z.object({ id: DeviceId }),
    output: ProvisionedDevice,
  }),
  'fleet.connection': defineCall({
    summary: 'The broker host, port, username and topics a device must use',
    input: z.object({ id: DeviceId }),
    output: DeviceConnection,
  }),
  'fleet.telemetry': defineCall({
    summary: 'Telemetry history: raw samples or 1-minute aggregates',
    input: z.object({
      id: DeviceId,
      since: z.number().optional(),
      until: z.number().optional(),
      resolution: z.enum(['raw', '1m']).default('raw'),
      limit: z.number().int().min(1).max(100_000).default(3600),
    }),
    output: z.object({ resolution: z.enum(['raw', '1m']), points: z.array(TelemetryPoint) }),
  }),
  'fleet.events': defineCall({
    summary: 'Recent events of one device',
    input: z.object({ id: DeviceId, limit: z.number().int().min(1).max(1000).default(100) }),
    output: z.array(DeviceEvent),
  }),
  'fleet.command': defineCall({
    summary: 'Send a command and wait for its answer (or timeout); DEVICE_OFFLINE at once for an offline device unless queued',
    input: z.object({
      id: DeviceId,
      command: z.string().min(1).max(64),
      params: z.record(z.string(), z.unknown()).default({}),
      timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /**
       * For an offline or lost device: queue the command this long (ms) and send it when the device
       * is back; the call then returns the `queued` record at once. Without it such a device gives DEVICE_OFFLINE.
       */
      queueForMs: z.number().int().min(1000).max(MAX_COMMAND_QUEUE_MS).optional(),
    }),
    output: CommandRecord,
  }),
  'fleet.commands': defineCall({
    summary: 'Recent commands of one device',
    input: z.object({ id: DeviceId, limit: z.number().int().min(1).max(1000).default(50) }),
    output: z.array(CommandRecord),
  }),
  'fleet.audit': defineCall({
    summary: 'The audit log of operator actions, newest first',
    input: z.object({ limit: z.number().int().min(1).max(10_000).default(200) }),
    output: z.array(AuditEntry),
  }),
};

/** Fleet events pushed to clients (batched by the core). */
export const fleetEvents = {
  'fleet.devices': defineEvent({
    summary: 'Devices added, changed (presence, metadata, latest telemetry) or removed; coalesced per device',
    keyed: false,
    payload: z.object({ changed: z.array(DeviceSummary), removed: z.array(DeviceId) }),
  }),
  'fleet.stats': defineEvent({
    summary: 'Fleet counters, about once a second',
    keyed: false,
    payload: FleetStats,
  }),
  'fleet.telemetry': defineEvent({
    summary: 'Raw telemetry of one device (subscribe as fleet.telemetry/<deviceId>)',
    keyed: true,
    payload: z.object({ deviceId: DeviceId, points: z.array(TelemetryPoint) }),
  }),
  'fleet.deviceEvents': defineEvent({
    summary: 'New events of one device (subscribe as fleet.deviceEvents/<deviceId>)',
    keyed: true,
    payload: z.object({ deviceId: DeviceId, events: z.array(DeviceEvent) }),
  }),
  'fleet.commands': defineEvent({
    summary: 'Command state changes (queued, sent, answered, timed out, expired)',
    keyed: false,
    payload: z.object({ commands: z.array(CommandRecord) }),
  }),
};
