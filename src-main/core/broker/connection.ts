import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { silentLogger, type Logger } from '../common/logger';
import type { MessageHandler, OperatorConnection } from './operator-connection';

/** Where and how the app connects as the operator. */
export interface BrokerConnectionOptions {
  /** mqtt://, mqtts://, ws:// or wss:// URL (tcp:// is read as mqtt://). */
  url: string;
  username: string;
  password: string;
  /** How long the first connection may take before `connect` fails. */
  connectTimeoutMs?: number;
  clientId?: string;
  logger?: Logger;
}

/**
 * An MQTT client (mqtt.js) logged in as the operator: the app's connection to an external broker
 * (and a test's or tool's to any broker). After the first successful connect it reconnects by
 * itself and resubscribes.
 */
export class BrokerConnection implements OperatorConnection {
  private readonly handlers = new Set<MessageHandler>();
  private readonly stateHandlers = new Set<(connected: boolean) => void>();

  private constructor(
    private readonly client: MqttClient,
    readonly url: string,
  ) {
    client.on('message', (topic, payload) => {
      for (const handler of this.handlers) handler(topic, payload);
    });
    client.on('connect', () => this.notifyState(true));
    client.on('close', () => this.notifyState(false));
  }

  /**
   * Connects and resolves once the broker accepted the login. Rejects with a clear message when
   * the broker refuses it or cannot be reached in time (no retry loop is left behind).
   */
  static async connect(options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const logger = options.logger ?? silentLogger;
    const url = options.url.replace(/^tcp:\/\//, 'mqtt://');
    const clientOptions: IClientOptions = {
      username: options.username || undefined,
      password: options.password || undefined,
      clientId: options.clientId ?? `tinyfleet-app-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      keepalive: 30,
    };
    const client = mqtt.connect(url, clientOptions);
    await new Promise<void>((resolve, reject) => {
      const fail = (message: string): void => {
        cleanup();
        client.end(true);
        reject(new Error(`cannot connect to the MQTT broker at ${url}: ${message}`));
      };
      const onConnect = (): void => {
        cleanup();
        resolve();
      };
      const onError = (err: Error): void => fail(err.message);
      const timer = setTimeout(() => fail(`no answer within ${clientOptions.connectTimeout} ms`), clientOptions.connectTimeout);
      const cleanup = (): void => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
      };
      client.on('connect', onConnect);
      client.on('error', onError);
    });
    client.on('error', (err) => logger.warn(`mqtt: ${err.message}`));
    client.on('offline', () => logger.warn(`mqtt: lost the connection to ${url}; reconnecting`));
    return new BrokerConnection(client, url);
  }

  private notifyState(connected: boolean): void {
    for (const handler of this.stateHandlers) handler(connected);
  }

  /** Whether the client is connected right now. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Calls `handler` for every message received; returns a function that removes it. */
  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Calls `handler` whenever the connection goes up or down; returns a function that removes it. */
  onConnectionChange(handler: (connected: boolean) => void): () => void {
    this.stateHandlers.add(handler);
    return () => this.stateHandlers.delete(handler);
  }

  /** Subscribes; rejects when the broker refuses a filter. */
  async subscribe(subscriptions: ReadonlyArray<{ filter: string; qos: 0 | 1 }>): Promise<void> {
    const map: Record<string, { qos: 0 | 1 }> = {};
    for (const s of subscriptions) map[s.filter] = { qos: s.qos };
    const filters = Object.keys(map).join(', ');
    let granted;
    try {
      granted = await this.client.subscribeAsync(map);
    } catch (err) {
      // mqtt.js rejects when the SUBACK carries 0x80 (refused by the broker's ACL).
      throw new Error(`the broker refused the subscription to ${filters}: ${(err as Error).message}`);
    }
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length) throw new Error(`the broker refused the subscription to ${refused.join(', ')}`);
  }

  /** Unsubscribes from filters. */
  async unsubscribe(filters: string[]): Promise<void> {
    await this.client.unsubscribeAsync(filters);
  }

  /** Publishes; resolves when sent (QoS 0) or acknowledged (QoS 1). */
  async publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: options.qos, retain: options.retain ?? false });
  }

  /** Disconnects cleanly. Safe to call twice. */
  async close(): Promise<void> {
    this.handlers.clear();
    await this.client.endAsync();
    this.stateHandlers.clear();
  }
}
