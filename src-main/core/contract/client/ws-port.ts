import type { ACCESS_CLOSE_CODES, AccessRefusal, ClientMessage, ClientPort, ServerMessage } from '../wire';

/** What the port needs from a WebSocket: the browser's, or `ws` in Node tests. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

export interface WebSocketPortOptions {
  url: string;
  /** Creates a socket; the global WebSocket by default. */
  create?: (url: string) => WebSocketLike;
  /** First reconnect delay; doubles up to `maxDelayMs` (defaults 250 ms and 5 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** A client port over a WebSocket that reconnects after drops, and how to shut it for good. */
export interface WebSocketPort extends ClientPort {
  onStatus(listener: (status: 'open' | 'closed') => void): () => void;
  /** Told when the server refused this socket's access token (the port then stops reconnecting). */
  onRefused(listener: (refusal: AccessRefusal) => void): () => void;
  close(): void;
}

const OPEN = 1;
/** The server's close codes for a refused token (the contract's values, checked by the type). */
const ACCESS_CODES: typeof ACCESS_CLOSE_CODES = { 'missing-token': 4401, 'wrong-token': 4403 };

function refusalOf(code: number): AccessRefusal | null {
  for (const [refusal, value] of Object.entries(ACCESS_CODES)) if (value === code) return refusal as AccessRefusal;
  return null;
}

/**
 * A ClientPort over a WebSocket. Messages sent before the socket opens wait for it; when a socket
 * drops, the port reports `closed` (the client fails its calls in flight), forgets what had not
 * been sent, and reconnects with exponential backoff, reporting `open` again when it is back. A
 * socket the server closes for its access token is not retried: the same token would be refused
 * again, so the port reports the refusal and stays shut.
 */
export function createWebSocketPort(options: WebSocketPortOptions): WebSocketPort {
  const create = options.create ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5000;
  const messageListeners = new Set<(message: ServerMessage) => void>();
  const statusListeners = new Set<(status: 'open' | 'closed') => void>();
  const refusalListeners = new Set<(refusal: AccessRefusal) => void>();
  let outbox: string[] = [];
  let socket: WebSocketLike | null = null;
  let delay = minDelay;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let shut = false;

  const notify = (status: 'open' | 'closed') => {
    for (const listener of [...statusListeners]) listener(status);
  };

  const connect = () => {
    retry = null;
    const ws = create(options.url);
    socket = ws;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      delay = minDelay;
      const queued = outbox;
      outbox = [];
      for (const data of queued) ws.send(data);
      notify('open');
    });
    ws.addEventListener('message', (event) => {
      if (socket !== ws || typeof event.data !== 'string') return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      for (const listener of [...messageListeners]) listener(message);
    });
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return;
      socket = null;
      outbox = [];
      const refusal = refusalOf(event.code);
      if (refusal) {
        shut = true;
        for (const listener of [...refusalListeners]) listener(refusal);
      }
      notify('closed');
      if (shut) return;
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, maxDelay);
    });
    // 'error' is always followed by 'close', where the reconnect happens.
    ws.addEventListener('error', () => {});
  };

  connect();

  return {
    send(message: ClientMessage) {
      if (shut) throw new Error('the connection is closed');
      const data = JSON.stringify(message);
      if (socket && socket.readyState === OPEN) socket.send(data);
      else outbox.push(data);
    },
    onMessage(listener) {
      messageListeners.add(listener);
      return () => messageListeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    onRefused(listener) {
      refusalListeners.add(listener);
      return () => refusalListeners.delete(listener);
    },
    close() {
      shut = true;
      if (retry) clearTimeout(retry);
      socket?.close(1000, 'client closed');
    },
  };
}
