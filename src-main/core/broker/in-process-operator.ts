import type { Readable } from 'node:stream';
import type { Aedes, AedesPublishPacket } from 'aedes';
import type { Logger } from '../common/logger';
import type { MessageHandler, OperatorConnection } from './operator-connection';

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

/**
 * The app's operator side of the embedded broker, without a TCP loop back into its own process:
 * subscriptions are aedes' in-process subscriptions and publishes go straight into aedes.
 *
 * Over a socket, every device message would be encoded by aedes, written, read back and decoded by
 * mqtt.js on the same thread; at 10,000 devices that round trip was a third of the app's work.
 * Everything a device sees is unchanged: the app's publishes reach devices as any operator
 * publish would (QoS, retain), and a subscription first delivers the retained messages it
 * matches, as the broker does for MQTT clients.
 */
export class InProcessOperatorConnection implements OperatorConnection {
  private readonly handlers = new Set<MessageHandler>();
  private readonly subscriptions = new Map<string, Deliver>();
  private open = true;

  constructor(
    private readonly aedes: Aedes,
    readonly url: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.open && !this.aedes.closed;
  }

  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** The link lives as long as the broker: it never changes state on its own. */
  onConnectionChange(): () => void {
    return () => {};
  }

  async subscribe(subscriptions: ReadonlyArray<{ filter: string; qos: 0 | 1 }>): Promise<void> {
    this.assertOpen();
    const filters = subscriptions.map((s) => s.filter).filter((f) => !this.subscriptions.has(f));
    if (filters.length === 0) return;
    // Live messages that arrive while the retained ones are read wait, so that a retained message
    // never overtakes a newer live one on the same topic.
    let held: Array<{ topic: string; payload: Buffer }> | null = [];
    const heldTopics = new Set<string>();
    const deliver: Deliver = (packet, done) => {
      if (held) {
        held.push({ topic: packet.topic, payload: packet.payload as Buffer });
        heldTopics.add(packet.topic);
      }
      else this.dispatch(packet.topic, packet.payload as Buffer);
      done();
    };
    for (const filter of filters) {
      await new Promise<void>((resolve, reject) =>
        this.aedes.subscribe(filter, deliver, ((err?: Error) => (err ? reject(new Error(`the broker refused the subscription to ${filter}: ${err.message}`)) : resolve())) as () => void),
      );
      this.subscriptions.set(filter, deliver);
    }
    try {
      // aedes' typings leave out the instance's persistence, which it exposes to plugins.
      const retained = (this.aedes as unknown as { persistence: { createRetainedStreamCombi(patterns: string[]): Readable } }).persistence;
      for await (const packet of retained.createRetainedStreamCombi(filters)) {
        const { topic, payload } = packet as { topic: string; payload: Buffer };
        if (!heldTopics.has(topic)) this.dispatch(topic, payload);
      }
    } finally {
      const live = held;
      held = null;
      for (const m of live) this.dispatch(m.topic, m.payload);
    }
  }

  async unsubscribe(filters: string[]): Promise<void> {
    for (const filter of filters) {
      const deliver = this.subscriptions.get(filter);
      if (!deliver) continue;
      this.subscriptions.delete(filter);
      await new Promise<void>((resolve) => this.aedes.unsubscribe(filter, deliver, resolve));
    }
  }

  async publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    this.assertOpen();
    const packet = { cmd: 'publish' as const, topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: options.qos, retain: options.retain ?? false, dup: false };
    await new Promise<void>((resolve, reject) => this.aedes.publish(packet, (err) => (err ? reject(new Error(`cannot publish to ${topic}: ${err.message}`)) : resolve())));
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.handlers.clear();
    if (!this.aedes.closed) await this.unsubscribe([...this.subscriptions.keys()]);
    this.subscriptions.clear();
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const handler of this.handlers) {
      // A failing handler must not break aedes' delivery to the devices' subscriptions.
      try {
        handler(topic, payload);
      } catch (err) {
        this.logger.error(`mqtt: a message handler failed on ${topic}: ${(err as Error).message}`);
      }
    }
  }

  private assertOpen(): void {
    if (!this.connected) throw new Error('the embedded MQTT broker is closed');
  }
}
