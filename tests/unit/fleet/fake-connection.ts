import type { MessageHandler } from '../../../src-main/core/broker';
import type { RouterConnection } from '../../../src-main/core/fleet';
import { Store } from '../../../src-main/core/store';

/**
 * An operator connection without a broker, for unit tests of the fleet's parts: `deliver` plays a
 * message from a device, `published` records what the app sent, `subscriptions` what it asked for.
 */
export class FakeConnection implements RouterConnection {
  connected = true;
  readonly published: Array<{ topic: string; payload: string; qos: 0 | 1; retain: boolean }> = [];
  readonly subscriptions: string[] = [];
  /** When set, the next publishes reject with this message (a broker that went away). */
  failPublish: string | null = null;
  private readonly handlers = new Set<MessageHandler>();

  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async subscribe(subscriptions: ReadonlyArray<{ filter: string; qos: 0 | 1 }>): Promise<void> {
    this.subscriptions.push(...subscriptions.map((s) => s.filter));
  }

  async unsubscribe(filters: string[]): Promise<void> {
    for (const f of filters) this.subscriptions.splice(this.subscriptions.indexOf(f), 1);
  }

  async publish(topic: string, payload: string | Buffer, options: { qos: 0 | 1; retain?: boolean }): Promise<void> {
    if (this.failPublish) throw new Error(this.failPublish);
    this.published.push({ topic, payload: payload.toString(), qos: options.qos, retain: options.retain ?? false });
  }

  /** A message from the broker, as a JSON object or raw text/bytes. */
  deliver(topic: string, payload: object | string | Buffer): void {
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    for (const h of this.handlers) h(topic, bytes);
  }

  /** How many handlers take messages (the router attaches exactly one). */
  get listeners(): number {
    return this.handlers.size;
  }
}

/** An in-memory store with registered devices (status unknown until told otherwise). */
export function storeWithDevices(ids: readonly string[], mcu = 'rp2040'): Store {
  const store = Store.openFile(':memory:');
  store.devices.insertMany(ids.map((id) => ({ id, name: id, tags: [], mcu, simulated: true, createdAt: 1, secretHash: 'h', mosquittoHash: 'm' })));
  return store;
}
