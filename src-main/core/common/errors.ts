import { z } from 'zod';

/** Error codes that cross the contract. Clients branch on `code`; `message` is for humans. */
export const ErrorCode = z.enum([
  'BAD_REQUEST', // input failed its schema, or is semantically invalid
  'NOT_FOUND',
  'CONFLICT', // e.g. a device id that already exists
  'UNAUTHORIZED',
  'TIMEOUT',
  'UNAVAILABLE', // e.g. broker not connected
  'DEVICE_OFFLINE', // the device is offline or lost, so a command was not sent (queue it to send it later)
  'CANCELLED',
  'DOES_NOT_FIT', // a build for an MCU the model does not fit, without the override
  'UNKNOWN_CALL',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The only error shape that crosses a transport. */
export const ErrorPayload = z.object({ code: ErrorCode, message: z.string() });
export type ErrorPayload = z.infer<typeof ErrorPayload>;

/** An error a handler throws on purpose; the dispatcher sends it as `{ code, message }`. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message };
  }
}
