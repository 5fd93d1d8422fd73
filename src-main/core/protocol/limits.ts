import type { MessageKind } from './topics';

/**
 * Largest payload, in bytes, accepted per message kind (the block transfer's `xfer` limits are its own). JSON control messages stay far below the
 * 64 KB many brokers allow by default, so a device can hold one in a small static buffer. Parsers
 * reject an oversize payload before JSON.parse.
 */
export const MAX_PAYLOAD_BYTES: Readonly<Record<MessageKind, number>> = {
  status: 2048,
  telemetry: 2048,
  cmd: 4096,
  res: 4096,
  evt: 4096,
};

/** Most custom metrics one telemetry message may carry. */
export const MAX_METRICS = 32;
/** Longest metric name, command name, event kind, or version string. */
export const MAX_NAME_LENGTH = 64;
/** Longest command id (correlation id chosen by the app). */
export const MAX_COMMAND_ID_LENGTH = 64;
/** Longest human-readable message in an event or error. */
export const MAX_TEXT_LENGTH = 1024;
/** Telemetry interval bounds a device must accept. */
export const MIN_TELEMETRY_INTERVAL_MS = 100;
export const MAX_TELEMETRY_INTERVAL_MS = 3_600_000;
