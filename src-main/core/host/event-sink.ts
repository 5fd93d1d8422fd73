import type { BaseEventName, EventName, EventPayload, KeyedEventName } from '../contract';

/**
 * Where services publish contract events. The host's event bus implements it: it batches events
 * per client (100-250 ms) and drops keyed events nobody listens to, so services may emit freely
 * but should ask `hasSubscribers` before building an expensive payload.
 */
export interface EventSink {
  emit<S extends KeyedEventName>(event: S, payload: EventPayload<BaseEventName<S> & EventName>): void;
  hasSubscribers(event: KeyedEventName): boolean;
}
