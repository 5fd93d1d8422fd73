import { calls, type CallName } from '../contract';
import type { CallOutcome } from '../contract/wire';
import { describeZodError, toErrorPayload } from './error-payload';
import type { CallContext, Handler, Handlers } from './handler';
import type { Logger } from '../common/logger';

export interface DispatcherOptions {
  logger: Logger;
  /**
   * Check every output against its schema (tests and development). A mismatch is a bug in the
   * handler: it is logged and the caller gets INTERNAL instead of data of the wrong shape.
   */
  validateOutputs?: boolean;
}

/**
 * Routes calls of the contract to their handlers. Every input is parsed with the call's zod schema
 * (defaults applied) before a handler sees it, and every failure comes back as `{ code, message }`:
 * `dispatch` never throws, whatever the transport sent.
 */
export class Dispatcher {
  private readonly handlers: Map<string, Handler<CallName>>;

  constructor(
    handlers: Partial<Handlers<CallName>>,
    private readonly options: DispatcherOptions,
  ) {
    this.handlers = new Map();
    for (const [name, handler] of Object.entries(handlers)) {
      if (!(name in calls)) throw new Error(`Handler for "${name}" does not match any call of the contract`);
      if (handler) this.handlers.set(name, handler as Handler<CallName>);
    }
  }

  /** Calls this dispatcher serves. */
  names(): string[] {
    return [...this.handlers.keys()];
  }

  /** Parses the input, runs the handler and reports its output or its error as a value. */
  async dispatch(name: string, input: unknown, ctx: CallContext): Promise<CallOutcome> {
    const handler = this.handlers.get(name);
    if (!handler || !Object.hasOwn(calls, name)) {
      return { ok: false, error: { code: 'UNKNOWN_CALL', message: `Unknown call "${name}"` } };
    }
    const spec = calls[name as CallName];
    const parsed = spec.input.safeParse(input);
    if (!parsed.success) {
      return { ok: false, error: { code: 'BAD_REQUEST', message: `${name}: ${describeZodError(parsed.error)}` } };
    }
    try {
      if (ctx.signal?.aborted) return { ok: false, error: { code: 'CANCELLED', message: `${name} was cancelled` } };
      const output: unknown = await handler(parsed.data as never, ctx);
      if (this.options.validateOutputs) {
        const checked = spec.output.safeParse(output);
        if (!checked.success) {
          this.options.logger.error(`output of ${name} does not match its schema`, { issues: describeZodError(checked.error) });
          return { ok: false, error: { code: 'INTERNAL', message: `${name} returned malformed data (details are in the app log)` } };
        }
      }
      return { ok: true, output };
    } catch (error) {
      return { ok: false, error: toErrorPayload(error, name, this.options.logger) };
    }
  }
}
