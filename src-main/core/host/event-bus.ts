import { AppError, events, type BaseEventName, type EventName, type EventPayload, type Events, type KeyedEventName } from '../contract';
import type { WireEvent } from '../contract/wire';
import { describeZodError } from './error-payload';
import type { EventSink } from '../common/event-sink';
import type { Logger } from '../common/logger';

export interface EventBusOptions {
  logger: Logger;
  /** How long events collect before a client gets them as one batch (default 150 ms). */
  batchMs?: number;
  /** Check every payload against its schema (tests and development); bad payloads are logged and dropped. */
  validatePayloads?: boolean;
}

/** One client's view of the bus: what it listens to; batches arrive through its `deliver` callback. */
export interface BusSubscriber {
  /** Starts delivering `event` (`base` or `base/key`); throws BAD_REQUEST for names the contract lacks. */
  subscribe(event: string): void;
  unsubscribe(event: string): void;
  /** Drops every subscription and anything not yet delivered. */
  close(): void;
}

/**
 * Checks a subscription name against the contract: the base must be an event, keyed events need a
 * key (`fleet.telemetry/<deviceId>`), unkeyed events must not have one.
 */
export function parseSubscriptionName(name: string): KeyedEventName {
  const slash = name.indexOf('/');
  const base = slash === -1 ? name : name.slice(0, slash);
  const key = slash === -1 ? null : name.slice(slash + 1);
  if (!Object.hasOwn(events, base)) throw new AppError('BAD_REQUEST', `Unknown event "${base}"`);
  const spec = events[base as EventName];
  if (spec.keyed && !key) throw new AppError('BAD_REQUEST', `Event "${base}" is keyed: subscribe to "${base}/<key>"`);
  if (!spec.keyed && key !== null) throw new AppError('BAD_REQUEST', `Event "${base}" takes no key`);
  return name as KeyedEventName;
}

class Client implements BusSubscriber {
  readonly names = new Set<string>();
  private queue: WireEvent[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly deliver: (batch: WireEvent[]) => void,
    private readonly batchMs: number,
  ) {}

  subscribe(event: string): void {
    parseSubscriptionName(event);
    this.names.add(event);
    this.bus.attach(event, this);
  }

  unsubscribe(event: string): void {
    if (this.names.delete(event)) this.bus.detach(event, this);
  }

  close(): void {
    for (const name of this.names) this.bus.detach(name, this);
    this.names.clear();
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.bus.forget(this);
  }

  push(event: WireEvent): void {
    this.queue.push(event);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.batchMs);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.deliver(batch);
  }
}

/**
 * The host's event bus: services emit contract events into it (it is their EventSink) and each
 * connected client receives the events it subscribed to, collected into one batch every `batchMs`.
 * Coalescing (e.g. one `fleet.devices` entry per device) is the producers' job; the bus only keeps
 * one message per client per interval so a busy fleet cannot flood a UI with tiny messages.
 */
export class EventBus implements EventSink<Events> {
  private readonly byName = new Map<string, Set<Client>>();
  private readonly clients = new Set<Client>();
  private readonly batchMs: number;

  constructor(private readonly options: EventBusOptions) {
    this.batchMs = options.batchMs ?? 150;
  }

  /** Adds a client; `deliver` receives its batches (never an empty one). */
  connect(deliver: (batch: WireEvent[]) => void): BusSubscriber {
    const client = new Client(this, deliver, this.batchMs);
    this.clients.add(client);
    return client;
  }

  emit<S extends KeyedEventName>(event: S, payload: EventPayload<BaseEventName<S> & EventName>): void {
    const listeners = this.byName.get(event);
    if (!listeners || listeners.size === 0) return;
    if (this.options.validatePayloads) {
      const base = event.split('/', 1)[0] as EventName;
      const checked = events[base]?.payload.safeParse(payload);
      if (!checked?.success) {
        this.options.logger.error(`payload of event ${event} does not match its schema; dropped`, {
          issues: checked ? describeZodError(checked.error) : 'unknown event',
        });
        return;
      }
    }
    for (const client of listeners) client.push({ event, payload });
  }

  hasSubscribers(event: KeyedEventName): boolean {
    return (this.byName.get(event)?.size ?? 0) > 0;
  }

  /** Delivers everything queued right now (used on shutdown so the last events are not lost). */
  flush(): void {
    for (const client of this.clients) client.flush();
  }

  /** Disconnects every client. */
  dispose(): void {
    for (const client of [...this.clients]) client.close();
  }

  /** @internal */
  attach(name: string, client: Client): void {
    let set = this.byName.get(name);
    if (!set) this.byName.set(name, (set = new Set()));
    set.add(client);
  }

  /** @internal */
  detach(name: string, client: Client): void {
    const set = this.byName.get(name);
    if (!set) return;
    set.delete(client);
    if (set.size === 0) this.byName.delete(name);
  }

  /** @internal */
  forget(client: Client): void {
    this.clients.delete(client);
  }
}
