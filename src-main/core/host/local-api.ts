import { AppError, type TinyFleetApi } from '../contract';
import type { Dispatcher } from './dispatcher';
import type { BusSubscriber, EventBus } from './event-bus';

/** A TinyFleetApi used inside the process that hosts the core, and how to let go of it. */
export interface LocalApi extends TinyFleetApi {
  /** Drops every subscription made through this api. */
  close(): void;
}

/**
 * The core's own in-process client (CLI commands, tests, bench): same dispatcher and event bus as
 * every transport, no serialization. Failures reject with an AppError carrying the contract code.
 */
export function createLocalApi(dispatcher: Dispatcher, bus: EventBus, actor: string): LocalApi {
  const handlers = new Map<string, Set<(payload: unknown) => void>>();
  let subscriber: BusSubscriber | null = null;
  const busClient = (): BusSubscriber =>
    (subscriber ??= bus.connect((batch) => {
      for (const { event, payload } of batch) {
        for (const handler of handlers.get(event) ?? []) handler(payload);
      }
    }));

  return {
    async call(name, input) {
      const outcome = await dispatcher.dispatch(name, input, { actor });
      if (!outcome.ok) throw new AppError(outcome.error.code, outcome.error.message, outcome.error.details);
      return outcome.output as never;
    },
    subscribe(event, handler) {
      let set = handlers.get(event);
      if (!set) {
        busClient().subscribe(event);
        handlers.set(event, (set = new Set()));
      }
      const h = handler as (payload: unknown) => void;
      set.add(h);
      return () => {
        const current = handlers.get(event);
        if (!current?.delete(h) || current.size > 0) return;
        handlers.delete(event);
        subscriber?.unsubscribe(event);
      };
    },
    close() {
      handlers.clear();
      subscriber?.close();
      subscriber = null;
    },
  };
}
