import { z } from 'zod';

/**
 * Error codes a device puts in `res.error.code`. Firmware may send other upper-case codes; the app
 * shows those as they are.
 */
export const ProtocolErrorCode = z.enum([
  'UNKNOWN_COMMAND', // the device does not implement this command name
  'BAD_PARAMS', // the params failed the command's rules
  'BAD_MESSAGE', // the cmd payload was not a valid v1 command (the device answers only if it can read an id)
  'BUSY', // the device cannot take this command now (e.g. a transfer is running); retry later
  'INTERNAL', // the device failed while executing
  'UNSUPPORTED_VERSION', // the message's `v` is not one this device speaks
  'TOO_LARGE', // the payload exceeded the kind's size limit
  'SELF_TEST_FAILED', // v1.1 activate_slot: the slot's model failed its self-test; the device stayed where it was
  'NOT_FOUND', // v1.1 activate_slot: the slot is empty
]);
export type ProtocolErrorCode = z.infer<typeof ProtocolErrorCode>;

/** Why a payload could not be decoded (app or simulator side). */
export type DecodeErrorCode = 'TOO_LARGE' | 'MALFORMED_JSON' | 'INVALID' | 'UNSUPPORTED_VERSION';

/** A decode failure: a code to count by and a message naming the problem. */
export interface DecodeError {
  code: DecodeErrorCode;
  message: string;
}

/** The result of decoding untrusted device input; decoders never throw. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DecodeError };
