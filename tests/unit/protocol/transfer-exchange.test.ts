import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BlockBitmap,
  TransferReceiver,
  TransferSender,
  type TransferControl,
  type TransferOffer,
  type TransferReceiverOptions,
} from '../../../src-main/core/protocol';
import { Prng } from '../../../src-main/core/sim/prng';

const tid = 'feedc0de00000001';

function offerFor(bytes: Uint8Array, blockSize = 1024, window = 8): TransferOffer {
  return {
    v: 1,
    t: 'offer',
    tid,
    kind: 'package',
    size: bytes.byteLength,
    blockSize,
    blockCount: Math.ceil(bytes.byteLength / blockSize),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    window,
    ts: 0,
  };
}

/**
 * One receiver and one sender wired through a lossy in-order link: what MQTT QoS 0 on one topic
 * gives (messages may vanish, never overtake each other). Time only moves when the test says so.
 */
class Link {
  clock = 0;
  readonly file: Uint8Array;
  stored: Uint8Array | undefined;
  receiver!: TransferReceiver;
  completed = 0;
  failures: string[] = [];
  lostBlocks = 0;
  lostBytes = 0;
  private readonly toSender: TransferControl[] = [];

  constructor(
    readonly offer: TransferOffer,
    readonly sender: TransferSender,
    private readonly drop: (index: number) => 'keep' | 'lose' | 'corrupt' = () => 'keep',
  ) {
    this.file = new Uint8Array(offer.size);
  }

  boot(options: TransferReceiverOptions = {}): void {
    this.receiver = new TransferReceiver(
      this.offer,
      {
        send: (m) => this.toSender.push(m),
        write: (i, p) => this.file.set(p, i * this.offer.blockSize),
        persist: (b) => (this.stored = b.toBytes()),
        complete: () => this.completed++,
        failed: (code) => this.failures.push(code),
        now: () => this.clock,
      },
      options,
      this.stored,
    );
    this.receiver.start();
  }

  /** Delivers control messages and frames until the link is quiet; `stopAfter` frames simulates a power loss. */
  run(stopAfter = Infinity): void {
    let frames = 0;
    for (;;) {
      while (this.toSender.length) {
        const m = this.toSender.shift()!;
        if (m.t === 'req') this.sender.onRequest(m);
      }
      if (frames++ >= stopAfter) {
        // Power loss: what the device asked for is never sent.
        this.sender.clear();
        this.toSender.length = 0;
        return;
      }
      const frame = this.sender.nextFrame();
      if (!frame) return;
      const index = frame.readUInt32BE(12);
      const fate = this.drop(index);
      if (fate === 'lose') {
        this.lostBlocks++;
        this.lostBytes += frame.byteLength - 20;
        continue;
      }
      if (fate === 'corrupt') frame[frame.byteLength - 1] ^= 0xff;
      this.receiver.onFrame(frame);
    }
  }

  /** Lets `ms` pass and runs the idle timer. */
  idle(ms: number): void {
    this.clock += ms;
    this.receiver.tick();
  }
}

describe('block transfer between a receiver and a sender', () => {
  const bytes = randomBytes(50 * 1024 + 123);

  it('moves every byte once on a clean link, a window at a time', () => {
    const offer = offerFor(bytes);
    const sender = new TransferSender(offer, bytes);
    const link = new Link(offer, sender);
    link.boot();
    link.run();
    expect(link.completed).toBe(1);
    expect(Buffer.from(link.file)).toEqual(bytes);
    expect(sender.stats).toMatchObject({ framesSent: offer.blockCount, payloadBytesSent: bytes.byteLength, resentBytes: 0 });
    expect(sender.stats.frameBytesSent).toBe(bytes.byteLength + 20 * offer.blockCount);
  });

  it('recovers lost blocks from the gap they leave, re-sending only what was lost', () => {
    const offer = offerFor(bytes);
    const sender = new TransferSender(offer, bytes);
    const prng = new Prng(7);
    const link = new Link(offer, sender, () => (prng.next() < 0.1 ? 'lose' : 'keep'));
    link.boot();
    for (let i = 0; i < 50 && !link.completed; i++) {
      link.run();
      link.idle(3000 * 2 ** 6); // a lost tail is only seen by the idle timer
    }
    expect(link.completed).toBe(1);
    expect(Buffer.from(link.file)).toEqual(bytes);
    expect(link.lostBlocks).toBeGreaterThan(0);
    // Every re-sent byte replaced a lost one: nothing was sent twice that had arrived.
    expect(sender.stats.resentBytes).toBe(link.lostBytes);
    expect(link.receiver.stats.duplicates).toBe(0);
  });

  it('asks again for a corrupted block and assembles the exact file', () => {
    const offer = offerFor(bytes);
    const sender = new TransferSender(offer, bytes);
    const corrupted = new Set([3, 17, 49]);
    const link = new Link(offer, sender, (i) => (corrupted.delete(i) ? 'corrupt' : 'keep'));
    link.boot();
    link.run();
    expect(link.completed).toBe(1);
    expect(link.receiver.stats.corrupted).toBe(3);
    expect(Buffer.from(link.file)).toEqual(bytes);
  });

  it('resumes after a power loss from the persisted bitmap, requesting only missing blocks', () => {
    const offer = offerFor(bytes);
    const sender = new TransferSender(offer, bytes);
    const link = new Link(offer, sender);
    link.boot();
    link.run(20);
    const held = new BlockBitmap(offer.blockCount, link.stored).count;
    expect(held).toBe(20);
    link.boot(); // the device reboots: a new receiver from the stored bitmap
    link.run();
    expect(link.completed).toBe(1);
    expect(Buffer.from(link.file)).toEqual(bytes);
    // The 20 frames sent before the power loss count once; nothing after was a re-send of them.
    expect(sender.stats.framesSent).toBe(offer.blockCount);
  });

  it('a sender that restarts serves the same receiver from where it is (stateless per block)', () => {
    const offer = offerFor(bytes);
    const link = new Link(offer, new TransferSender(offer, bytes));
    link.boot();
    link.run(10);
    const restarted = new TransferSender(offer, bytes);
    const link2 = new Link(offer, restarted);
    link2.stored = link.stored;
    link2.file.set(link.file);
    link2.boot();
    link2.run();
    expect(link2.completed).toBe(1);
    expect(Buffer.from(link2.file)).toEqual(bytes);
    expect(restarted.stats.framesSent).toBe(offer.blockCount - 10);
  });

  it('gives up with TRANSFER_TIMEOUT after its silent retries', () => {
    const offer = offerFor(bytes);
    const link = new Link(offer, new TransferSender(offer, bytes), () => 'lose');
    link.boot({ idleMs: 100, maxIdleRetries: 2 });
    for (let i = 0; i < 5; i++) {
      link.run();
      link.idle(100 * 2 ** i);
    }
    expect(link.failures).toEqual(['TRANSFER_TIMEOUT']);
    expect(link.receiver.finished).toBe(true);
  });

  it('never lets more than the window be in flight, and ignores other transfers and bad requests', () => {
    const offer = offerFor(bytes, 1024, 4);
    const sender = new TransferSender(offer, bytes);
    const sent: TransferControl[] = [];
    const r = new TransferReceiver(offer, {
      send: (m) => sent.push(m),
      write: () => {},
      persist: () => {},
      complete: () => {},
      failed: () => {},
      now: () => 0,
    });
    r.start();
    const req = sent.find((m) => m.t === 'req');
    expect(req).toMatchObject({ want: [[0, 4]] });
    expect(sender.onRequest({ want: [[offer.blockCount - 1, 2]] })).toBe(0);
    expect(sender.stats.badRequests).toBe(1);
    const other = new TransferSender({ ...offer, tid: '0000000000000000' }, bytes);
    other.onRequest({ want: [[0, 1]] });
    expect(r.onFrame(other.nextFrame()!)).toBe(false);
    expect(r.stats.received).toBe(0);
  });
});
