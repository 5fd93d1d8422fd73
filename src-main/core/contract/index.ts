/**
 * The app API: every call and event the UI, the CLI and the tests may use, as zod schemas.
 * The renderer imports types only (`import type`); the core parses every input at the boundary.
 */
import type { z } from 'zod';
import type { BaseName, KeyedName } from '../common/event-sink';
import { alertsCalls, alertsEvents } from './alerts';
import { demoCalls, demoEvents } from './demo';
import { deployCalls, deployEvents } from './deploy';
import { fleetCalls, fleetEvents } from './fleet';
import { fleetBulkCalls } from './fleet-bulk';
import { modelsCalls, modelsEvents } from './models';
import { roundsCalls, roundsEvents } from './rounds';
import { settingsCalls } from './settings';
import { simCalls, simEvents } from './sim';
import { systemCalls } from './system';

export * from './define';
export * from './alerts';
export * from '../common/errors';
export * from './compile-report';
export * from './demo';
export * from './deploy';
export * from './fleet';
export * from './fleet-bulk';
export * from './models';
export * from './rounds';
export * from './settings';
export * from './sim';
export * from './system';

/** All calls, by name. */
export const calls = { ...systemCalls, ...settingsCalls, ...fleetCalls, ...fleetBulkCalls, ...alertsCalls, ...simCalls, ...modelsCalls, ...deployCalls, ...roundsCalls, ...demoCalls };
/** All events, by base name. */
export const events = { ...fleetEvents, ...alertsEvents, ...simEvents, ...modelsEvents, ...deployEvents, ...roundsEvents, ...demoEvents };

export type Calls = typeof calls;
export type Events = typeof events;
export type CallName = keyof Calls;
export type EventName = keyof Events;
/** What a caller passes (defaults not applied yet). */
export type CallInput<N extends CallName> = z.input<Calls[N]['input']>;
/** What a handler receives (parsed, defaults applied). */
export type ParsedCallInput<N extends CallName> = z.output<Calls[N]['input']>;
export type CallOutput<N extends CallName> = z.output<Calls[N]['output']>;
export type EventPayload<E extends EventName> = z.output<Events[E]['payload']>;

/** Event names as subscribed: keyed events take a `/<key>` suffix. */
export type KeyedEventName = KeyedName<Events>;

/** Base name of a (possibly keyed) event name. */
export type BaseEventName<S extends string> = BaseName<S>;

/**
 * What every client of the core sees, whatever the transport (in-memory, WebSocket, Electron IPC).
 * `subscribe` returns an unsubscribe function.
 */
export interface TinyFleetApi {
  call<N extends CallName>(name: N, input?: CallInput<N>): Promise<CallOutput<N>>;
  subscribe<S extends KeyedEventName>(
    event: S,
    handler: (payload: EventPayload<BaseEventName<S> & EventName>) => void,
  ): () => void;
}
