import type { BaseEventName, CallInput, CallName, CallOutput, EventName, EventPayload, KeyedEventName, TinyFleetApi } from '..';
import type { CallOutcome, ClientMessage, ClientPort, ServerMessage } from '../wire';
import { RpcError } from './rpc-error';

type Pending =
  | { kind: 'call'; name: string; resolve: (outcome: CallOutcome) => void }
  | { kind: 'subscription'; event: string };

export interface RpcClientOptions {
  /** Told when the host refuses a subscription (an event name the contract lacks); console by default. */
  onSubscriptionError?: (event: string, error: RpcError) => void;
}

/**
 * The contract client over any message port (WebSocket, Electron IPC, in-memory): correlates calls
 * with their answers, shares one host subscription among local handlers of the same event,
 * resubscribes when the port reopens and fails the calls in flight when it drops.
 */
export class RpcClient implements TinyFleetApi {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Set<(payload: unknown) => void>>();
  private readonly stop: (() => void)[] = [];
  private closed = false;
  /** The port dropped since it last opened: its host has forgotten our subscriptions. */
  private dropped = false;

  constructor(
    private readonly port: ClientPort,
    private readonly options: RpcClientOptions = {},
  ) {
    this.stop.push(port.onMessage((message) => this.receive(message)));
    if (port.onStatus) this.stop.push(port.onStatus((status) => this.status(status)));
  }

  async call<N extends CallName>(name: N, input?: CallInput<N>): Promise<CallOutput<N>> {
    const outcome = await this.request(name, input);
    if (!outcome.ok) throw new RpcError(outcome.error);
    return outcome.output as CallOutput<N>;
  }

  /**
   * A call whose failure is a value instead of a rejection. With `signal`, aborting sends a cancel
   * to the host and settles at once with CANCELLED.
   */
  request(name: string, input?: unknown, signal?: AbortSignal): Promise<CallOutcome> {
    if (this.closed) return Promise.resolve(unavailable('the client is closed'));
    if (signal?.aborted) return Promise.resolve(cancelled(name));
    const id = this.nextId++;
    return new Promise<CallOutcome>((resolve) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.trySend({ t: 'cancel', id });
        resolve(cancelled(name));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        kind: 'call',
        name,
        resolve: (outcome) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      });
      const message: ClientMessage = input === undefined ? { t: 'call', id, name } : { t: 'call', id, name, input };
      if (!this.trySend(message)) {
        this.pending.delete(id);
        resolve(unavailable('the connection to TinyFleet is down'));
      }
    });
  }

  subscribe<S extends KeyedEventName>(
    event: S,
    handler: (payload: EventPayload<BaseEventName<S> & EventName>) => void,
  ): () => void {
    return this.listen(event, handler as (payload: unknown) => void);
  }

  /** Untyped subscribe, for bridges that forward names they do not know at compile time. */
  listen(event: string, handler: (payload: unknown) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      this.handlers.set(event, (set = new Set()));
      this.sendSubscription('subscribe', event);
    }
    set.add(handler);
    return () => {
      const current = this.handlers.get(event);
      if (!current?.delete(handler) || current.size > 0) return;
      this.handlers.delete(event);
      this.sendSubscription('unsubscribe', event);
    };
  }

  /** Stops listening to the port; calls in flight settle with UNAVAILABLE. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.stop) stop();
    this.failInFlight('the client is closed');
    this.handlers.clear();
  }

  private receive(message: ServerMessage): void {
    if (message.t === 'events') {
      for (const { event, payload } of message.events) {
        for (const handler of [...(this.handlers.get(event) ?? [])]) {
          try {
            handler(payload);
          } catch (error) {
            // One broken listener must not starve the others of the batch.
            console.error(`tinyfleet: listener of ${event} failed`, error);
          }
        }
      }
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (pending.kind === 'call') {
      pending.resolve(message.t === 'result' ? { ok: true, output: message.output } : { ok: false, error: message.error });
    } else if (message.t === 'error') {
      this.handlers.delete(pending.event);
      const error = new RpcError(message.error);
      if (this.options.onSubscriptionError) this.options.onSubscriptionError(pending.event, error);
      else console.error(`tinyfleet: subscription to ${pending.event} refused: ${error.message}`);
    }
  }

  private status(status: 'open' | 'closed'): void {
    if (status === 'closed') {
      this.dropped = true;
      this.failInFlight('the connection to TinyFleet was lost');
      return;
    }
    if (!this.dropped) return;
    // A reopened port reaches a host that knows nothing about us: subscribe again.
    this.dropped = false;
    for (const event of this.handlers.keys()) this.sendSubscription('subscribe', event);
  }

  private failInFlight(reason: string): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const pending of calls) if (pending.kind === 'call') pending.resolve(unavailable(reason));
  }

  private sendSubscription(t: 'subscribe' | 'unsubscribe', event: string): void {
    if (this.closed) return;
    const id = this.nextId++;
    if (t === 'subscribe') this.pending.set(id, { kind: 'subscription', event });
    if (!this.trySend({ t, id, event })) this.pending.delete(id);
  }

  private trySend(message: ClientMessage): boolean {
    try {
      this.port.send(message);
      return true;
    } catch {
      return false;
    }
  }
}

function unavailable(message: string): CallOutcome {
  return { ok: false, error: { code: 'UNAVAILABLE', message } };
}

function cancelled(name: string): CallOutcome {
  return { ok: false, error: { code: 'CANCELLED', message: `${name} was cancelled` } };
}
