/**
 * The wire format every transport carries (in-memory, WebSocket, Electron IPC): one small set of
 * JSON-compatible messages. A client sends calls and (un)subscriptions, each with an id it picks;
 * the host answers each id once with `result` or `error` and pushes event batches.
 *
 * The renderer imports these *types* only; the host parses every client message with
 * `ClientMessage` before acting on it.
 */
import { z } from 'zod';
import { ErrorPayload } from '../common/errors';

/** Correlates a request with its answer; unique among one client's requests in flight. */
const RequestId = z.number().int().nonnegative();
/** An event name as subscribed: `base` or `base/key` for keyed events. */
const SubscriptionName = z.string().min(1).max(256);

/** Client → host: invoke a call of the contract. `input` is parsed by the call's schema on arrival. */
export const CallMessage = z.object({
  t: z.literal('call'),
  id: RequestId,
  name: z.string().min(1).max(128),
  input: z.unknown().optional(),
});
/** Client → host: give up on a call in flight (its handler sees an aborted signal). */
export const CancelMessage = z.object({ t: z.literal('cancel'), id: RequestId });
/** Client → host: start receiving an event (answered with `result` or `error`). */
export const SubscribeMessage = z.object({ t: z.literal('subscribe'), id: RequestId, event: SubscriptionName });
/** Client → host: stop receiving an event (answered with `result`). */
export const UnsubscribeMessage = z.object({ t: z.literal('unsubscribe'), id: RequestId, event: SubscriptionName });

export const ClientMessage = z.discriminatedUnion('t', [CallMessage, CancelMessage, SubscribeMessage, UnsubscribeMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Host → client: the output of a call (null for an acknowledged subscription). */
export const ResultMessage = z.object({ t: z.literal('result'), id: RequestId, output: z.unknown() });
/** Host → client: the request failed; the only error shape that crosses. */
export const ErrorMessage = z.object({ t: z.literal('error'), id: RequestId, error: ErrorPayload });
/** One event as delivered: the name the client subscribed to and the payload. */
export const WireEvent = z.object({ event: z.string(), payload: z.unknown() });
export type WireEvent = z.infer<typeof WireEvent>;
/** Host → client: every event for this client since the previous batch, in emission order. */
export const EventsMessage = z.object({ t: z.literal('events'), events: z.array(WireEvent) });

export const ServerMessage = z.discriminatedUnion('t', [ResultMessage, ErrorMessage, EventsMessage]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/**
 * Close codes of a browser-mode socket whose access token is missing or wrong (a token of an earlier
 * launch, typically). The server completes the handshake and closes at once, before any session
 * exists, because a page cannot read the HTTP status of a refused upgrade and would otherwise only
 * see a connection that keeps failing. The close reason is the key.
 */
export const ACCESS_CLOSE_CODES = { 'missing-token': 4401, 'wrong-token': 4403 } as const;
/** Why the browser-mode server refused a socket's token. */
export type AccessRefusal = keyof typeof ACCESS_CLOSE_CODES;

/** The outcome of one call as a value (the Electron bridge returns this: Errors lose fields across contextBridge). */
export type CallOutcome = { ok: true; output: unknown } | { ok: false; error: ErrorPayload };

/**
 * One end of a message pipe, as the client sees it. `onMessage` returns a function that stops
 * listening; `onStatus` reports when the pipe opens (again) or drops, so the client can
 * resubscribe after a reconnect and fail the calls in flight when it drops.
 */
export interface ClientPort {
  send(message: ClientMessage): void;
  onMessage(listener: (message: ServerMessage) => void): () => void;
  onStatus?(listener: (status: 'open' | 'closed') => void): () => void;
}

/**
 * What the Electron preload exposes as `window.tinyfleet` (and nothing else). `call` resolves to an
 * outcome rather than rejecting because custom error fields do not survive contextBridge.
 */
export interface TinyFleetBridge {
  call(name: string, input?: unknown): Promise<CallOutcome>;
  subscribe(event: string, handler: (payload: unknown) => void): () => void;
}
