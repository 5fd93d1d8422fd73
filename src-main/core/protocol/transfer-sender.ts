import { BlockBitmap } from './block-bitmap';
import { encodeBlockFrame } from './block-frame';
import type { TransferOffer, TransferRequest } from './transfer-messages';

/** Counters of a sender, for progress, the deployment's byte accounting and the benchmarks. */
export interface TransferSenderStats {
  /** Frames sent, first sends and re-sends. */
  framesSent: number;
  /** Payload bytes sent, re-sends included. */
  payloadBytesSent: number;
  /** Wire bytes of the frames (payload + header). */
  frameBytesSent: number;
  /** Payload bytes of blocks sent more than once. */
  resentBytes: number;
  /** Requests ignored because they named blocks outside the transfer. */
  badRequests: number;
}

/**
 * The sending side of one block transfer (docs/protocol.md §12): it holds the whole payload and
 * serves the receiver's requests in the order they came, each block once per request even when the
 * receiver asks again before the first send went out. It does not publish by itself: the host pulls
 * frames with {@link nextFrame}, so one scheduler can share a byte rate among many transfers.
 */
export class TransferSender {
  readonly stats: TransferSenderStats = { framesSent: 0, payloadBytesSent: 0, frameBytesSent: 0, resentBytes: 0, badRequests: 0 };
  private readonly queue: number[] = [];
  private readonly queued = new Set<number>();
  private readonly sentOnce: BlockBitmap;

  constructor(
    readonly offer: TransferOffer,
    private readonly source: Uint8Array,
  ) {
    if (source.byteLength !== offer.size) throw new Error(`the payload has ${source.byteLength} bytes; the offer says ${offer.size}`);
    this.sentOnce = new BlockBitmap(offer.blockCount);
  }

  /** Queues the requested blocks; returns how many were new. A request naming blocks past the end is ignored whole. */
  onRequest(request: Pick<TransferRequest, 'want'>): number {
    if (request.want.some(([start, count]) => start + count > this.offer.blockCount)) {
      this.stats.badRequests++;
      return 0;
    }
    let added = 0;
    for (const [start, count] of request.want) {
      for (let i = start; i < start + count; i++) {
        if (this.queued.has(i)) continue;
        this.queued.add(i);
        this.queue.push(i);
        added++;
      }
    }
    return added;
  }

  /** Payload bytes of the next frame {@link nextFrame} would return (0 when nothing waits), so a scheduler can charge its rate first. */
  peekBytes(): number {
    return this.queue.length === 0 ? 0 : this.blockBytes(this.queue[0]);
  }

  /** Blocks sent at least once. */
  get distinctBlocksSent(): number {
    return this.sentOnce.count;
  }

  /** The next frame to publish, or null when nothing waits. */
  nextFrame(): Buffer | null {
    const index = this.queue.shift();
    if (index === undefined) return null;
    this.queued.delete(index);
    const start = index * this.offer.blockSize;
    const payload = this.source.subarray(start, start + this.blockBytes(index));
    const frame = encodeBlockFrame(this.offer.tid, index, payload, index === this.offer.blockCount - 1);
    this.stats.framesSent++;
    this.stats.payloadBytesSent += payload.byteLength;
    this.stats.frameBytesSent += frame.byteLength;
    if (!this.sentOnce.set(index)) this.stats.resentBytes += payload.byteLength;
    return frame;
  }

  /** Forgets queued blocks (the receiver restarted its requests, or the transfer ended). */
  clear(): void {
    this.queue.length = 0;
    this.queued.clear();
  }

  private blockBytes(index: number): number {
    return index === this.offer.blockCount - 1 ? this.offer.size - index * this.offer.blockSize : this.offer.blockSize;
  }
}
