import { z } from 'zod';
import { defineCall } from './define';
import { CommandRecord, DeviceId, MAX_COMMAND_QUEUE_MS, Tag } from './fleet';

/** The devices an action on a selection applies to (a whole 10,000-device fleet fits). */
export const DeviceIds = z.array(DeviceId).min(1).max(50_000);

/** Devices one telemetry export covers at most (`fleet.exportTelemetry`, `tinyfleet devices export-telemetry`). */
export const MAX_TELEMETRY_EXPORT_DEVICES = 1000;

/** What became of one device of a bulk action. */
export const BulkDeviceResult = z.object({
  id: DeviceId,
  ok: z.boolean(),
  /** For commands with `queueForMs`: the device was offline and the command waits for it (not ok, not failed). */
  queued: z.boolean().optional(),
  /** Why it failed for this device (null when ok): a contract code, or for commands the device's own. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** For commands: the record, with the device's answer or why there was none. */
  command: CommandRecord.optional(),
});
export type BulkDeviceResult = z.infer<typeof BulkDeviceResult>;

/** Per-device results of a bulk action, in the order of the ids given, with the counts. */
export const BulkResult = z.object({ ok: z.number(), failed: z.number(), queued: z.number().default(0), results: z.array(BulkDeviceResult) });
export type BulkResult = z.infer<typeof BulkResult>;

/** Actions on many devices at once, and telemetry history export; each reports per device. */
export const fleetBulkCalls = {
  'fleet.bulkCommand': defineCall({
    summary: 'Send one command to many devices; each answer (or failure) per device',
    input: z.object({
      ids: DeviceIds,
      command: z.string().min(1).max(64),
      params: z.record(z.string(), z.unknown()).default({}),
      timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      /** Offline or lost devices: queue the command this long (ms) instead of failing them with DEVICE_OFFLINE. */
      queueForMs: z.number().int().min(1000).max(MAX_COMMAND_QUEUE_MS).optional(),
    }),
    output: BulkResult,
  }),
  'fleet.bulkTag': defineCall({
    summary: 'Add and remove tags on many devices',
    input: z
      .object({ ids: DeviceIds, add: z.array(Tag).max(32).default([]), remove: z.array(Tag).max(32).default([]) })
      .refine((v) => v.add.length + v.remove.length > 0, 'give tags to add or to remove'),
    output: BulkResult,
  }),
  'fleet.bulkRemove': defineCall({
    summary: 'Deprovision many devices (their credentials stop working)',
    input: z.object({ ids: DeviceIds }),
    output: BulkResult,
  }),
  'fleet.exportTelemetry': defineCall({
    summary: 'Telemetry history of one or more devices as CSV (ISO 8601 times), within a time range',
    input: z.object({
      ids: z.array(DeviceId).min(1).max(MAX_TELEMETRY_EXPORT_DEVICES),
      /** Epoch ms, inclusive; the oldest stored sample when absent. */
      since: z.number().optional(),
      /** Epoch ms, inclusive; now when absent. */
      until: z.number().optional(),
      resolution: z.enum(['raw', '1m']).default('raw'),
    }),
    output: z.object({
      csv: z.string(),
      rows: z.number(),
      /** Devices whose range held more than the per-device limit: only their latest rows are in. */
      truncated: z.array(DeviceId),
    }),
  }),
};
