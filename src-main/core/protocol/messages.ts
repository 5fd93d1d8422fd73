import { z } from 'zod';
import {
  MAX_COMMAND_ID_LENGTH,
  MAX_METRICS,
  MAX_NAME_LENGTH,
  MAX_TELEMETRY_INTERVAL_MS,
  MAX_TEXT_LENGTH,
  MIN_TELEMETRY_INTERVAL_MS,
} from './limits';

/**
 * Message schemas of device protocol v1 (JSON payloads). Objects ignore unknown fields, so a
 * minor revision may add optional fields without breaking older readers; `v` stays 1 for every
 * message on `tf/v1/` topics.
 */

/** The protocol major version carried in every message. */
export const Version = z.literal(1);

/** Milliseconds since the Unix epoch (UTC); 0 when the device has no synchronized clock yet. */
export const Timestamp = z.number().int().min(0);

const ShortText = z.string().min(1).max(MAX_NAME_LENGTH);
const Bytes = z.number().int().min(0);

/**
 * One of the device's two model slots. `model` is `id@version`, null when the slot is empty.
 * Since v1.1 a device also gives the package's SHA-256 and whether the active slot is confirmed
 * (false while it runs on trial, between activation and its self-test's confirmation).
 * Since v1.2 the active slot also gives `digest`: the modelDigest of the model the device runs
 * (its package's, or the patched model's after an aggregated delta was applied).
 */
export const SlotInfo = z.object({
  slot: z.enum(['a', 'b']),
  model: z.string().max(128).nullable(),
  active: z.boolean(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  confirmed: z.boolean().optional(),
  digest: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type SlotInfo = z.infer<typeof SlotInfo>;

/** What a device says about itself: in its birth message and in the answer to `get_info`. */
export const DeviceInfo = z.object({
  /** Firmware version, e.g. "1.4.2". */
  fw: ShortText,
  /** Inference runtime and version, e.g. "tinyfleet-rt/0.1". */
  runtime: ShortText,
  /** MCU profile id of the catalog, e.g. "stm32f746". */
  mcu: ShortText,
  sramFree: Bytes,
  flashFree: Bytes,
  slots: z.array(SlotInfo).max(2),
  /** Protocol minor revision, e.g. "1.1" (absent: "1.0", which has no block transfer). */
  proto: z.string().regex(/^1\.\d+$/).optional(),
  /** A transfer the device holds partly (v1.1): the app may resume it with only the missing blocks. */
  xfer: z.object({ tid: z.string().regex(/^[0-9a-f]{16}$/), have: z.number().int().min(0), blocks: z.number().int().min(1) }).optional(),
  /**
   * v1.2: a personalization overlay is active (decision 5 of issue 10): the session that made it
   * and the digest of the effective (personalized) model. Such a device is not selected for global
   * rounds and is not sent aggregated deltas until `reset_personalization`.
   */
  personalized: z.object({ session: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/), digest: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  telemetryIntervalMs: z.number().int().min(MIN_TELEMETRY_INTERVAL_MS).max(MAX_TELEMETRY_INTERVAL_MS),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

/** Birth: published retained on `status` right after every connect. */
export const BirthMessage = DeviceInfo.extend({
  v: Version,
  state: z.literal('online'),
  ts: Timestamp,
});
export type BirthMessage = z.infer<typeof BirthMessage>;

/** Goodbye: published retained on `status` before a clean disconnect (shutdown, reboot). */
export const OfflineMessage = z.object({
  v: Version,
  state: z.literal('offline'),
  ts: Timestamp,
  /** Why, e.g. "reboot" or "shutdown". */
  reason: z.string().max(MAX_NAME_LENGTH).optional(),
});
export type OfflineMessage = z.infer<typeof OfflineMessage>;

/**
 * Last will: registered at connect time (retained, QoS 1, on `status`); the broker publishes it when
 * the connection dies without a DISCONNECT. `ts` is the connect time, since the device cannot know
 * when it will be lost; the app records when it received the will.
 */
export const LostMessage = z.object({
  v: Version,
  state: z.literal('lost'),
  ts: Timestamp,
});
export type LostMessage = z.infer<typeof LostMessage>;

/** Anything on a `status` topic. */
export const StatusMessage = z.discriminatedUnion('state', [BirthMessage, OfflineMessage, LostMessage]);
export type StatusMessage = z.infer<typeof StatusMessage>;

/** Custom metric names: short identifiers, e.g. "anomaly_score" or "accel.rms". */
export const METRIC_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/**
 * Periodic measurements (QoS 0). Every measurement is optional: a device leaves out what it does
 * not measure (a mains-powered device sends no battery).
 */
export const TelemetryMessage = z.object({
  v: Version,
  ts: Timestamp,
  /** Counts telemetry messages since boot (0, 1, 2, ...), wrapping at 2^32; gaps show loss. */
  seq: z.number().int().min(0).max(0xffff_ffff),
  /** Battery charge, percent 0-100. */
  battery: z.number().min(0).max(100).optional(),
  /** Die or board temperature, degrees Celsius. */
  temperature: z.number().min(-100).max(200).optional(),
  /** Received signal strength, dBm. */
  rssi: z.number().min(-200).max(0).optional(),
  /** Free heap bytes. */
  freeHeap: Bytes.optional(),
  /** Latency of the last inference, milliseconds. */
  inferenceMs: z.number().min(0).optional(),
  /** Class index the active model gave the latest sensor sample (a device running a model of ours). */
  prediction: z.number().int().min(0).max(65_535).optional(),
  /** That class's probability, 0-1 (sent with `prediction`). */
  confidence: z.number().min(0).max(1).optional(),
  /** Application metrics, name → finite number. */
  metrics: z
    .record(z.string().max(MAX_NAME_LENGTH).regex(METRIC_NAME_PATTERN, 'metric names are identifiers'), z.number())
    .refine((m) => Object.keys(m).length <= MAX_METRICS, `at most ${MAX_METRICS} metrics`)
    .default({}),
});
export type TelemetryMessage = z.infer<typeof TelemetryMessage>;
export type TelemetryMessageInput = z.input<typeof TelemetryMessage>;

/** Command ids are chosen by the app and echoed in the response (MQTT 3.1.1 has no correlation data). */
export const CommandId = z.string().min(1).max(MAX_COMMAND_ID_LENGTH).regex(/^[A-Za-z0-9_.:-]+$/, 'command ids use letters, digits and _ . : -');

/** Command names are lowercase snake case, e.g. "set_telemetry_interval". */
export const CommandName = z.string().min(1).max(MAX_NAME_LENGTH).regex(/^[a-z][a-z0-9_]*$/, 'command names are lowercase snake_case');

/** App → device, on `cmd` (QoS 1). */
export const CommandMessage = z.object({
  v: Version,
  id: CommandId,
  name: CommandName,
  params: z.record(z.string(), z.unknown()).default({}),
  ts: Timestamp,
});
export type CommandMessage = z.infer<typeof CommandMessage>;
export type CommandMessageInput = z.input<typeof CommandMessage>;

/** The error of a failed command. */
export const ResponseError = z.object({
  code: z.string().min(1).max(MAX_NAME_LENGTH),
  message: z.string().max(MAX_TEXT_LENGTH),
});
export type ResponseError = z.infer<typeof ResponseError>;

/** Device → app, on `res` (QoS 1): exactly one per command id. */
export const ResponseMessage = z
  .object({
    v: Version,
    id: CommandId,
    ok: z.boolean(),
    result: z.unknown().optional(),
    error: ResponseError.optional(),
    /** When the device answered (optional). */
    ts: Timestamp.optional(),
  })
  .refine((r) => r.ok || r.error !== undefined, { message: 'a failed response (ok: false) needs an error', path: ['error'] });
export type ResponseMessage = z.infer<typeof ResponseMessage>;

/** Event severities, lowest first. */
export const EventLevel = z.enum(['debug', 'info', 'warn', 'error']);
export type EventLevel = z.infer<typeof EventLevel>;

/** Device → app, on `evt` (QoS 1): something happened (boot, fault, model activated, ...). */
export const EventMessage = z.object({
  v: Version,
  ts: Timestamp,
  /** Machine-readable kind, e.g. "boot", "low_battery", "model_activated". */
  kind: z.string().min(1).max(MAX_NAME_LENGTH).regex(/^[a-z][a-z0-9_.]*$/, 'event kinds are lowercase identifiers'),
  level: EventLevel,
  message: z.string().max(MAX_TEXT_LENGTH),
  data: z.unknown().optional(),
});
export type EventMessage = z.infer<typeof EventMessage>;
