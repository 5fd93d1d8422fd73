import type { z } from 'zod';
import type { Decoded } from './errors';
import { MAX_PAYLOAD_BYTES } from './limits';
import {
  CommandMessage,
  EventMessage,
  ResponseMessage,
  StatusMessage,
  TelemetryMessage,
  type CommandMessageInput,
  type EventMessage as EventMessageT,
  type ResponseMessage as ResponseMessageT,
  type StatusMessage as StatusMessageT,
  type TelemetryMessageInput,
} from './messages';
import { PROTOCOL_VERSION, type MessageKind } from './topics';

/** A payload as MQTT clients hand it over. */
export type Payload = Uint8Array | string;

const SCHEMAS = {
  status: StatusMessage,
  telemetry: TelemetryMessage,
  cmd: CommandMessage,
  res: ResponseMessage,
  evt: EventMessage,
} satisfies Record<MessageKind, z.ZodType>;

/** The decoded message type of each topic kind. */
export type MessageOf<K extends MessageKind> = z.output<(typeof SCHEMAS)[K]>;

function byteLength(payload: Payload): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
}

function toText(payload: Payload): string {
  if (typeof payload === 'string') return payload;
  return Buffer.isBuffer(payload) ? payload.toString('utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Decodes an untrusted JSON payload with `schema`: size check first, then JSON, then the version,
 * then the schema; `label` names the message in errors. Never throws; unknown fields are dropped.
 */
export function decodeJson<S extends z.ZodType>(label: string, schema: S, limit: number, payload: Payload): Decoded<z.output<S>> {
  const size = byteLength(payload);
  if (size > limit) return { ok: false, error: { code: 'TOO_LARGE', message: `${label} payload of ${size} bytes exceeds the ${limit}-byte limit` } };
  let raw: unknown;
  try {
    raw = JSON.parse(toText(payload));
  } catch (err) {
    return { ok: false, error: { code: 'MALFORMED_JSON', message: `${label} payload is not JSON: ${(err as Error).message}` } };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: { code: 'INVALID', message: `${label} payload must be a JSON object` } };
  }
  const v = (raw as { v?: unknown }).v;
  if (typeof v === 'number' && v !== PROTOCOL_VERSION) {
    return { ok: false, error: { code: 'UNSUPPORTED_VERSION', message: `${label} message has v=${v}; this topic speaks v=${PROTOCOL_VERSION}` } };
  }
  return decodeValue(label, schema, raw);
}

/**
 * Checks an already parsed untrusted value (e.g. a command's `params` or an event's `data`) with
 * `schema`; `label` names it in errors. Never throws; unknown fields are dropped.
 */
export function decodeValue<S extends z.ZodType>(label: string, schema: S, raw: unknown): Decoded<z.output<S>> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: { code: 'INVALID', message: `invalid ${label} message: ${describeIssues(parsed.error)}` } };
  return { ok: true, value: parsed.data };
}

/** Decodes an untrusted payload of one topic kind (see {@link decodeJson}). */
export function decodeMessage<K extends MessageKind>(kind: K, payload: Payload): Decoded<MessageOf<K>> {
  return decodeJson(kind, SCHEMAS[kind], MAX_PAYLOAD_BYTES[kind], payload) as Decoded<MessageOf<K>>;
}

/** Decodes a `status` payload (birth, offline or last will). */
export const decodeStatus = (payload: Payload): Decoded<StatusMessageT> => decodeMessage('status', payload);
/** Decodes a `telemetry` payload. */
export const decodeTelemetry = (payload: Payload): Decoded<MessageOf<'telemetry'>> => decodeMessage('telemetry', payload);
/** Decodes a `cmd` payload (device side). */
export const decodeCommand = (payload: Payload): Decoded<MessageOf<'cmd'>> => decodeMessage('cmd', payload);
/** Decodes a `res` payload. */
export const decodeResponse = (payload: Payload): Decoded<ResponseMessageT> => decodeMessage('res', payload);
/** Decodes an `evt` payload. */
export const decodeEvent = (payload: Payload): Decoded<EventMessageT> => decodeMessage('evt', payload);

/** What may be encoded for each kind (defaults not applied yet). */
export interface EncodeInput {
  status: StatusMessageT;
  telemetry: TelemetryMessageInput;
  cmd: CommandMessageInput;
  res: ResponseMessageT;
  evt: EventMessageT;
}

/**
 * Serializes a message for its topic kind. Throws when the result exceeds the kind's limit: that
 * is a bug of the sender, not bad device input.
 */
export function encodeMessage<K extends MessageKind>(kind: K, message: EncodeInput[K]): string {
  const text = JSON.stringify(message);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_PAYLOAD_BYTES[kind]) throw new Error(`${kind} message of ${size} bytes exceeds the ${MAX_PAYLOAD_BYTES[kind]}-byte limit`);
  return text;
}
