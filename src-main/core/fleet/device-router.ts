import { silentLogger, type Logger } from '../common/logger';
import type { OperatorConnection } from '../broker/operator-connection';
import { APP_SUBSCRIPTIONS, TOPIC_RULES, deviceTopic, parseTopic, type MessageKind, type SubtreeKind, type TopicKind } from '../protocol';
import { RateLimitedLog } from './rate-limited-log';

/** What the router needs from the MQTT connection (any OperatorConnection fits). */
export type RouterConnection = Pick<OperatorConnection, 'onMessage' | 'subscribe' | 'publish' | 'connected'> &
  Partial<Pick<OperatorConnection, 'unsubscribe'>>;

/**
 * A device message as a service receives it: from a registered device, on a kind the service
 * registered for. Messages of a subtree kind (`xfer`) carry the topic levels below the kind.
 */
export type DeviceMessage<K extends TopicKind = TopicKind> = K extends SubtreeKind
  ? { deviceId: string; kind: K; levels: string[]; payload: Buffer }
  : { deviceId: string; kind: K; payload: Buffer };

/** Handles the messages of one kind. It may throw: the router counts and logs that, and goes on. */
export type DeviceMessageHandler<K extends TopicKind> = (message: DeviceMessage<K>) => void;

/** Undoes a registration. */
export interface Disposable {
  dispose(): void;
}

/** Device traffic the router could not deliver, or that a handler found unreadable. */
export interface DeviceTraffic {
  /** Messages whose sender is not a registered device. */
  unknownDevice: number;
  /** Messages on topics that are not v1 topics, payloads a handler reported unreadable, and handler failures. */
  malformed: number;
  /** Well-formed messages of a kind no service registered for. */
  unrouted: number;
}

/**
 * The router as another service (deployments, rounds) uses it: register the kinds it owns, send to
 * devices, report unreadable payloads. Attaching and detaching stay with the fleet.
 */
export type DeviceMessaging = Pick<DeviceRouter, 'register' | 'send' | 'malformed' | 'connected'>;

/** What the router needs to know. */
export interface DeviceRouterOptions {
  /** Whether a device id belongs to the fleet; messages from other ids are counted, never delivered. */
  isDevice: (deviceId: string) => boolean;
  logger?: Logger;
  clock?: () => number;
}

/**
 * The app's one consumer of device messages. It takes the operator connection's messages once,
 * parses their topics with the topic table, and hands each to the one service that registered for
 * its kind (VS Code's `ChannelServer.registerChannel` is the shape): presence takes `status` and
 * `telemetry`, the event log `evt`, command correlation `res`, deployments will take `xfer`.
 *
 * It also sends to devices, with each kind's QoS and retain flag from the table, and owns the app's
 * subscriptions (APP_SUBSCRIPTIONS), which do not change when services register. Device input is
 * untrusted: unknown senders, bad topics, unreadable payloads and handler failures are counted
 * (`traffic`) and logged at a limited rate, never thrown.
 */
export class DeviceRouter {
  private readonly handlers = new Map<TopicKind, (message: DeviceMessage) => void>();
  private readonly log: RateLimitedLog;
  private readonly logger: Logger;
  private connection: RouterConnection | null = null;
  private offMessages: (() => void) | null = null;
  private readonly counts: DeviceTraffic = { unknownDevice: 0, malformed: 0, unrouted: 0 };

  constructor(private readonly options: DeviceRouterOptions) {
    this.logger = options.logger ?? silentLogger;
    this.log = new RateLimitedLog(this.logger, 10_000, options.clock ?? Date.now);
  }

  /**
   * Makes `handler` the receiver of every message of `kind`. One service owns a kind: a second
   * registration throws until the first is disposed.
   */
  register<K extends TopicKind>(kind: K, handler: DeviceMessageHandler<K>): Disposable {
    if (this.handlers.has(kind)) throw new Error(`device messages of kind "${kind}" already have a handler`);
    const route = handler as (message: DeviceMessage) => void;
    this.handlers.set(kind, route);
    return {
      dispose: () => {
        if (this.handlers.get(kind) === route) this.handlers.delete(kind);
      },
    };
  }

  /**
   * Takes messages from `connection` from now on (and no longer from the previous one), and
   * subscribes it to the app's filters; retained messages arrive during this call.
   */
  async attach(connection: RouterConnection): Promise<void> {
    this.offMessages?.();
    this.connection = connection;
    this.offMessages = connection.onMessage((topic, payload) => this.receive(topic, payload));
    await connection.subscribe(APP_SUBSCRIPTIONS);
  }

  /** Stops taking messages and unsubscribes, leaving a shared connection as it was found. */
  async detach(): Promise<void> {
    this.offMessages?.();
    this.offMessages = null;
    const connection = this.connection;
    this.connection = null;
    if (connection?.connected) {
      await connection.unsubscribe?.(APP_SUBSCRIPTIONS.map((s) => s.filter)).catch((err: unknown) => this.logger.warn(`fleet: unsubscribe failed: ${String(err)}`));
    }
  }

  /** Whether messages can be sent to devices right now. */
  get connected(): boolean {
    return this.connection?.connected ?? false;
  }

  /**
   * Publishes to a device's topic of `kind` with the kind's QoS and retain flag (a subtree kind
   * needs the levels below it). Rejects when there is no connection or the broker refuses.
   */
  async send(deviceId: string, kind: MessageKind, payload: string | Buffer): Promise<void>;
  async send(deviceId: string, kind: SubtreeKind, payload: string | Buffer, levels: readonly string[]): Promise<void>;
  async send(deviceId: string, kind: TopicKind, payload: string | Buffer, levels?: readonly string[]): Promise<void> {
    const topic = levels ? deviceTopic(deviceId, kind as SubtreeKind, levels) : deviceTopic(deviceId, kind as MessageKind);
    if (!this.connection) throw new Error(`cannot send to ${topic}: no MQTT connection`);
    const rule = TOPIC_RULES[kind];
    await this.connection.publish(topic, payload, { qos: rule.qos, retain: rule.retain });
  }

  /** A handler reports a payload it cannot read: counted as malformed and logged at a limited rate. */
  malformed(deviceId: string, reason: string): void {
    this.counts.malformed++;
    this.log.warn(`malformed:${deviceId}`, `fleet: malformed message from "${deviceId}": ${reason}`);
  }

  /** Counters since the router was made. */
  get traffic(): Readonly<DeviceTraffic> {
    return { ...this.counts };
  }

  /** Routes one MQTT message; never throws. */
  private receive(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) {
      this.counts.malformed++;
      this.log.warn('topic', `fleet: ignored a message on unexpected topic "${topic.slice(0, 200)}"`);
      return;
    }
    const { deviceId, kind } = parsed;
    // An empty payload on a retained kind is a cleared retained message, not a message.
    if (payload.length === 0 && TOPIC_RULES[kind].retain) return;
    try {
      if (!this.options.isDevice(deviceId)) {
        this.counts.unknownDevice++;
        this.log.warn(`unknown:${deviceId}`, `fleet: message from unknown device "${deviceId}" on ${kind}`);
        return;
      }
      const handler = this.handlers.get(kind);
      if (!handler) {
        this.counts.unrouted++;
        this.log.warn(`unrouted:${kind}`, `fleet: no service handles "${kind}" messages; dropped one from "${deviceId}"`);
        return;
      }
      handler({ ...parsed, payload } as DeviceMessage);
    } catch (err) {
      this.counts.malformed++;
      this.logger.error(`fleet: failed to handle a message on ${topic.slice(0, 200)}: ${(err as Error).stack ?? String(err)}`);
    }
  }
}
