import { describe, expect, it } from 'vitest';
import { collectRetained, RetainedIndexMemory } from '../../../src-main/core/broker/retained-index-persistence';

const packet = (topic: string, text: string) => ({ topic, payload: Buffer.from(text), qos: 1, retain: true, cmd: 'publish' });

describe('retained messages indexed by exact topic', () => {
  it('answers exact subscriptions from the index and wildcard ones like aedes does', async () => {
    const p = new RetainedIndexMemory();
    await p.storeRetained(packet('tf/v1/a/status', 'a'));
    await p.storeRetained(packet('tf/v1/b/status', 'b'));
    await p.storeRetained(packet('tf/v1/b/status', 'b2'));

    const exact = await collectRetained(p.createRetainedStreamCombi(['tf/v1/b/status', 'tf/v1/b/cmd']));
    expect(exact.map((m) => m.payload.toString())).toEqual(['b2']);
    const wildcard = await collectRetained(p.createRetainedStreamCombi(['tf/v1/+/status']));
    expect(wildcard.map((m) => m.payload.toString()).sort()).toEqual(['a', 'b2']);
    expect((await collectRetained(p.createRetainedStream('tf/v1/a/status'))).map((m) => m.payload.toString())).toEqual(['a']);
  });

  it('forgets a retained message cleared with an empty payload, in both paths', async () => {
    const p = new RetainedIndexMemory();
    await p.storeRetained(packet('tf/v1/a/status', 'a'));
    await p.storeRetained(packet('tf/v1/a/status', ''));
    expect(await collectRetained(p.createRetainedStreamCombi(['tf/v1/a/status']))).toEqual([]);
    expect(await collectRetained(p.createRetainedStreamCombi(['tf/v1/#']))).toEqual([]);
  });
});
