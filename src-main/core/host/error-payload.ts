import { ZodError } from 'zod';
import { AppError, type ErrorPayload } from '../contract';
import type { Logger } from '../common/logger';

/** Formats zod issues as `path: message` pairs a person can act on. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(input)';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Turns anything a handler threw into the only error shape that crosses a transport. Deliberate
 * errors keep their code and message; anything unexpected becomes INTERNAL with a generic message
 * (internals such as SQL or file paths stay in the log, never reach a client).
 */
export function toErrorPayload(error: unknown, call: string, logger: Logger): ErrorPayload {
  if (error instanceof AppError) return error.toPayload();
  if (error instanceof ZodError) return { code: 'BAD_REQUEST', message: `${call}: ${describeZodError(error)}` };
  if (error instanceof Error && error.name === 'AbortError') return { code: 'CANCELLED', message: `${call} was cancelled` };
  logger.error(`call ${call} failed unexpectedly`, { error });
  return { code: 'INTERNAL', message: `${call} failed because of an internal error (details are in the app log)` };
}
