/** A message as the fleet service receives it. */
export type MessageHandler = (topic: string, payload: Buffer) => void;

/**
 * The app's side of MQTT, logged in as the operator: an mqtt.js client (BrokerConnection) to an
 * external broker, or the embedded broker's in-process link (InProcessOperatorConnection). Both
 * deliver retained messages on subscribe, as an MQTT broker does.
 */
export interface OperatorConnection {
  /** The broker this connection talks to. */
  readonly url: string;
  /** Whether it is connected right now. */
  readonly connected: boolean;
  /** Calls `handler` for every message received; returns a function that removes it. */
  onMessage(handler: MessageHandler): () => void;
  /** Calls `handler` whenever the connection goes up or down; returns a function that removes it. */
  onConnectionChange(handler: (connected: boolean) => void): () => void;
  /** Subscribes; rejects when the broker refuses a filter. */
  subscribe(subscriptions: ReadonlyArray<{ filter: string; qos: 0 | 1 }>): Promise<void>;
  /** Unsubscribes from filters. */
  unsubscribe(filters: string[]): Promise<void>;
  /** Publishes; resolves when sent (QoS 0) or accepted (QoS 1). */
  publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void>;
  /** Disconnects. Safe to call twice. */
  close(): Promise<void>;
}
