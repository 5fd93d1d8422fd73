import { AppError } from '../contract';
import { ClientMessage, type ServerMessage } from '../contract/wire';
import type { Dispatcher } from './dispatcher';
import { describeZodError } from './error-payload';
import type { BusSubscriber, EventBus } from './event-bus';
import type { Logger } from '../common/logger';

export interface RpcSessionOptions {
  dispatcher: Dispatcher;
  bus: EventBus;
  /** Sends one message to this client (the transport serializes it). */
  send: (message: ServerMessage) => void;
  /** Recorded in the audit log for this client's calls. */
  actor: string;
  logger: Logger;
}

/**
 * The host end of one client connection, whatever carries it: parses each incoming message with
 * the wire schema, runs calls through the dispatcher, keeps the client's event subscriptions and
 * cancels its calls in flight when it goes away.
 */
export class RpcSession {
  private readonly inFlight = new Map<number, AbortController>();
  private readonly subscriber: BusSubscriber;
  private closed = false;

  constructor(private readonly options: RpcSessionOptions) {
    this.subscriber = options.bus.connect((events) => this.send({ t: 'events', events }));
  }

  /** Handles one message from the client; malformed messages are answered (when they carry an id) and logged. */
  receive(raw: unknown): void {
    if (this.closed) return;
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) {
      const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
      const message = `Malformed message: ${describeZodError(parsed.error)}`;
      this.options.logger.warn('rpc: malformed client message', { issues: message });
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) {
        this.send({ t: 'error', id, error: { code: 'BAD_REQUEST', message } });
      }
      return;
    }
    const msg = parsed.data;
    switch (msg.t) {
      case 'call':
        void this.call(msg.id, msg.name, msg.input);
        return;
      case 'cancel':
        this.inFlight.get(msg.id)?.abort();
        return;
      case 'subscribe':
        try {
          this.subscriber.subscribe(msg.event);
          this.send({ t: 'result', id: msg.id, output: null });
        } catch (error) {
          const payload =
            error instanceof AppError ? error.toPayload() : { code: 'INTERNAL' as const, message: 'subscribe failed' };
          this.send({ t: 'error', id: msg.id, error: payload });
        }
        return;
      case 'unsubscribe':
        this.subscriber.unsubscribe(msg.event);
        this.send({ t: 'result', id: msg.id, output: null });
        return;
    }
  }

  /** The client is gone: cancel its calls, drop its subscriptions. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.subscriber.close();
  }

  private async call(id: number, name: string, input: unknown): Promise<void> {
    if (this.inFlight.has(id)) {
      this.send({ t: 'error', id, error: { code: 'BAD_REQUEST', message: `Request id ${id} is already in flight` } });
      return;
    }
    const controller = new AbortController();
    this.inFlight.set(id, controller);
    const outcome = await this.options.dispatcher.dispatch(name, input, {
      actor: this.options.actor,
      signal: controller.signal,
    });
    this.inFlight.delete(id);
    this.send(outcome.ok ? { t: 'result', id, output: outcome.output } : { t: 'error', id, error: outcome.error });
  }

  private send(message: ServerMessage): void {
    if (this.closed) return;
    try {
      this.options.send(message);
    } catch (error) {
      // A result that cannot be serialized is a handler bug; the client must still get an answer.
      this.options.logger.error('rpc: could not send a message to the client', { error, t: message.t });
      if (message.t === 'result') {
        this.options.send({
          t: 'error',
          id: message.id,
          error: { code: 'INTERNAL', message: 'the result could not be sent (details are in the app log)' },
        });
      }
    }
  }
}
