import type { BaseEventName, EventName, EventPayload, Events, KeyedEventName } from '../../../src-main/core/contract';
import type { EventSink } from '../../../src-main/core/common/event-sink';

/** An EventSink that records what services emit; `listen` marks keyed events as subscribed. */
export class RecordingSink implements EventSink<Events> {
  readonly emitted: Array<{ event: string; payload: unknown }> = [];
  private readonly subscribed = new Set<string>();

  listen(event: KeyedEventName): void {
    this.subscribed.add(event);
  }

  emit(event: string, payload: unknown): void {
    this.emitted.push({ event, payload });
  }

  hasSubscribers(event: string): boolean {
    return this.subscribed.has(event);
  }

  /** Payloads of one (possibly keyed) event name, in order. */
  of<S extends KeyedEventName>(event: S): Array<EventPayload<BaseEventName<S> & EventName>> {
    return this.emitted.filter((e) => e.event === event).map((e) => e.payload as EventPayload<BaseEventName<S> & EventName>);
  }
}
