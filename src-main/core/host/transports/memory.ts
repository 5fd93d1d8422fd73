import type { ClientMessage, ClientPort, ServerMessage } from '../../contract/wire';
import type { Dispatcher } from '../dispatcher';
import type { EventBus } from '../event-bus';
import type { Logger } from '../../common/logger';
import { RpcSession } from '../rpc-session';

/** A client port wired straight to a host session, plus the switch that cuts the pipe. */
export interface MemoryConnection {
  port: ClientPort;
  /** Closes the pipe: the session is closed and the client sees `closed`. */
  close(): void;
}

/**
 * The in-memory transport: a client port and a host session in one process, with each message
 * copied by structured clone and delivered asynchronously, as a real pipe would. Tests run the
 * real client and the real session over it without sockets.
 */
export function connectInMemory(options: { dispatcher: Dispatcher; bus: EventBus; logger: Logger; actor?: string }): MemoryConnection {
  const messageListeners = new Set<(message: ServerMessage) => void>();
  const statusListeners = new Set<(status: 'open' | 'closed') => void>();
  let open = true;

  const session = new RpcSession({
    dispatcher: options.dispatcher,
    bus: options.bus,
    logger: options.logger,
    actor: options.actor ?? 'test',
    send: (message) => {
      const copy = structuredClone(message);
      queueMicrotask(() => {
        if (open) for (const listener of messageListeners) listener(copy);
      });
    },
  });

  const port: ClientPort = {
    send(message: ClientMessage) {
      if (!open) throw new Error('in-memory connection is closed');
      const copy = structuredClone(message);
      queueMicrotask(() => session.receive(copy));
    },
    onMessage(listener) {
      messageListeners.add(listener);
      return () => messageListeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
  };

  return {
    port,
    close() {
      if (!open) return;
      open = false;
      session.close();
      for (const listener of statusListeners) listener('closed');
    },
  };
}
