import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

/**
 * aedes' in-memory persistence answers every new subscription by testing each retained message
 * against it. With one retained status per device, connecting N devices that each subscribe to
 * their own command topic costs O(N^2) matches: at a few thousand devices connects stalled for
 * minutes. Subscriptions without wildcards (every device's) need only the one message stored under
 * that exact topic, so this persistence keeps an index by topic for them and leaves wildcard
 * subscriptions (the operator's) to aedes' own matcher.
 */

interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

interface AsyncMemoryPersistence {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStream(pattern: string): Iterable<RetainedPacket> | AsyncIterable<RetainedPacket>;
  createRetainedStreamCombi(patterns: string[]): Iterable<RetainedPacket> | AsyncIterable<RetainedPacket>;
}

type AsyncMemoryPersistenceClass = new (opts?: object) => AsyncMemoryPersistence;
type CallBackPersistenceClass = new (factory: (opts: object) => AsyncMemoryPersistence, opts?: object) => object;

const requireCommonJs = createRequire(import.meta.url);
// aedes-persistence publishes no exports map; these are the two classes its default export combines.
const AsyncMemory = requireCommonJs('aedes-persistence/asyncPersistence.js') as AsyncMemoryPersistenceClass;
const { CallBackPersistence } = requireCommonJs('aedes-persistence/callBackPersistence.js') as { CallBackPersistence: CallBackPersistenceClass };

const hasWildcard = (pattern: string): boolean => pattern.includes('+') || pattern.includes('#');

/** aedes' memory persistence plus an exact-topic index of retained messages. */
export class RetainedIndexMemory extends AsyncMemory {
  private readonly byTopic = new Map<string, RetainedPacket>();

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    await super.storeRetained(packet);
    if (packet.payload.length === 0) this.byTopic.delete(packet.topic);
    else this.byTopic.set(packet.topic, { ...packet });
  }

  override createRetainedStream(pattern: string): Iterable<RetainedPacket> | AsyncIterable<RetainedPacket> {
    return hasWildcard(pattern) ? super.createRetainedStream(pattern) : this.exact([pattern]);
  }

  override createRetainedStreamCombi(patterns: string[]): Iterable<RetainedPacket> | AsyncIterable<RetainedPacket> {
    return patterns.some(hasWildcard) ? super.createRetainedStreamCombi(patterns) : this.exact(patterns);
  }

  private exact(topics: string[]): RetainedPacket[] {
    const found: RetainedPacket[] = [];
    for (const topic of new Set(topics)) {
      const packet = this.byTopic.get(topic);
      if (packet) found.push(packet);
    }
    return found;
  }
}

/** The persistence to hand to `Aedes.createBroker({ persistence })`. */
export function createRetainedIndexPersistence(): object {
  return new CallBackPersistence((opts) => new RetainedIndexMemory(opts));
}

/** Reads a retained stream to an array (tests). */
export async function collectRetained(stream: Iterable<RetainedPacket> | AsyncIterable<RetainedPacket>): Promise<RetainedPacket[]> {
  const out: RetainedPacket[] = [];
  for await (const p of Readable.from(stream)) out.push(p as RetainedPacket);
  return out;
}
