import type { z } from 'zod';

/** The events a sink carries, by base name: their payload schema and whether they take a key. */
export type EventMap = Record<string, { payload: z.ZodType; keyed: boolean }>;

/** Event names as subscribed: keyed events take a `/<key>` suffix. */
export type KeyedName<E extends EventMap> = { [N in keyof E & string]: E[N]['keyed'] extends true ? `${N}/${string}` : N }[keyof E & string];

/** Base name of a (possibly keyed) event name. */
export type BaseName<S extends string> = S extends `${infer B}/${string}` ? B : S;

/**
 * Where services publish events. The host's event bus implements it for the contract's events: it
 * batches events per client (100-250 ms) and drops keyed events nobody listens to, so services may
 * emit freely but should ask `hasSubscribers` before building an expensive payload.
 */
export interface EventSink<E extends EventMap> {
  emit<S extends KeyedName<E>>(event: S, payload: z.output<E[BaseName<S> & keyof E]['payload']>): void;
  hasSubscribers(event: KeyedName<E>): boolean;
}
