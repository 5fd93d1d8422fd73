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

/**
 * The only error shape that crosses a transport. `message` is a sentence for people; `details`,
 * when there are any, the precise technical cause (what a UI shows on demand and a CLI prints).
 */
export const ErrorPayload = z.object({ code: ErrorCode, message: z.string(), details: z.string().optional() });
export type ErrorPayload = z.infer<typeof ErrorPayload>;

/** An error a handler throws on purpose; the dispatcher sends it as `{ code, message }`. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The precise technical cause behind `message`, if it says more. */
    readonly details?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toPayload(): ErrorPayload {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }
}
