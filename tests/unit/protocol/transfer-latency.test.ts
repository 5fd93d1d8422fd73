import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TransferReceiver, TransferSender, type TransferOffer } from '../../../src-main/core/protocol';
import { Prng } from '../../../src-main/core/sim/prng';

/**
 * A sender and a receiver over a link that takes time, as a busy broker does: the sender publishes
 * one frame every `serviceMs`, every message arrives `latencyMs` after it was sent (in order), and
 * the device's idle timer runs every 100 ms. Time is simulated.
 */
function transferOverSlowLink(opts: { latencyMs: number; serviceMs: number; loss: number; seed?: number }) {
  const bytes = randomBytes(200 * 1024);
  const offer: TransferOffer = {
    v: 1,
    t: 'offer',
    tid: 'feedc0de00000002',
    kind: 'package',
    size: bytes.byteLength,
    blockSize: 1024,
    blockCount: 200,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    window: 16,
    ts: 0,
  };
  const sender = new TransferSender(offer, bytes);
  const prng = new Prng(opts.seed ?? 3);
  let clock = 0;
  let completed = false;
  let lostBytes = 0;
  const toSender: { at: number; want: [number, number][] }[] = [];
  const toReceiver: { at: number; frame: Buffer }[] = [];
  const receiver = new TransferReceiver(offer, {
    send: (m) => {
      if (m.t === 'req') toSender.push({ at: clock + opts.latencyMs, want: m.want });
    },
    write: () => {},
    persist: () => {},
    complete: () => (completed = true),
    failed: (code) => {
      throw new Error(`the transfer failed: ${code}`);
    },
    now: () => clock,
  });
  receiver.start();
  let nextSend = 0;
  while (!completed && clock < 3_600_000) {
    clock += 10;
    while (toSender.length && toSender[0].at <= clock) sender.onRequest({ want: toSender.shift()!.want });
    while (nextSend <= clock) {
      nextSend += opts.serviceMs;
      const frame = sender.nextFrame();
      if (!frame) {
        nextSend = clock + opts.serviceMs;
        break;
      }
      if (prng.next() < opts.loss) lostBytes += frame.byteLength - 20;
      else toReceiver.push({ at: clock + opts.latencyMs, frame });
    }
    while (toReceiver.length && toReceiver[0].at <= clock) receiver.onFrame(toReceiver.shift()!.frame);
    if (clock % 100 === 0) receiver.tick();
  }
  return { completed, sender, receiver, lostBytes, elapsedMs: clock };
}

describe('block transfer over a slow link', () => {
  it('does not ask again for blocks still on their way when round trips outlast the idle time', () => {
    // 5 s each way through the broker: longer than the 3 s idle time.
    const { completed, sender, receiver } = transferOverSlowLink({ latencyMs: 5000, serviceMs: 20, loss: 0 });
    expect(completed).toBe(true);
    // Before the first round trip is measured the idle timer fires (at 3 s and 9 s, before the first
    // block arrives at 10 s) and asks for the first window again; after that it waits for the
    // measured round trip, and nothing else is sent twice.
    expect(sender.stats.resentBytes).toBeLessThanOrEqual(2 * 16 * 1024);
    expect(receiver.stats.duplicates).toBeLessThanOrEqual(2 * 16);
    expect(receiver.idleTimeoutMs).toBeGreaterThan(10_000);
  });

  it('re-sends what was lost and at most the first window more, under loss on a slow link', () => {
    for (const seed of [3, 4, 5]) {
      const { completed, sender, lostBytes } = transferOverSlowLink({ latencyMs: 2000, serviceMs: 20, loss: 0.1, seed });
      expect(completed).toBe(true);
      expect(lostBytes).toBeGreaterThan(0);
      expect(sender.stats.resentBytes).toBeGreaterThanOrEqual(lostBytes);
      // The first window may go twice (the idle timer fires before the first round trip is
      // known); a late copy is never taken for a re-sent one, so nothing else is re-sent in vain.
      expect(sender.stats.resentBytes - lostBytes, `seed ${seed}`).toBeLessThanOrEqual(16 * 1024);
    }
  });

  it('keeps the configured idle time as a floor on a fast link', () => {
    const { completed, receiver } = transferOverSlowLink({ latencyMs: 20, serviceMs: 1, loss: 0 });
    expect(completed).toBe(true);
    expect(receiver.idleTimeoutMs).toBe(3000);
  });
});
