import { BlockBitmap } from './block-bitmap';
import { BLOCK_HEADER_BYTES, decodeBlockFrame } from './block-frame';
import type { TransferControl, TransferOffer } from './transfer-messages';

/** What a {@link TransferReceiver} needs from its host (a device's firmware, or the app for uploads). */
export interface TransferReceiverHost {
  /** Publishes a control message to the sender (`req`, `state`). */
  send(message: TransferControl): void;
  /** Stores one verified block; the host writes it at `index * blockSize` of the partial file. */
  write(index: number, payload: Uint8Array): void;
  /** Persists the bitmap beside the partial file, so a reboot resumes from it. */
  persist(bitmap: BlockBitmap): void;
  /** Called once when every block is held; the host then verifies and installs. */
  complete(): void;
  /** Called once when the receiver gives up (`TRANSFER_TIMEOUT`); it has sent the failed state. */
  failed(code: string, message: string): void;
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
}

/** Tuning of a receiver; the defaults suit a device on a busy broker. */
export interface TransferReceiverOptions {
  /** Blocks requested and not yet received, at most; capped by the offer's window. */
  window?: number;
  /** Re-request what is in flight after this long without a block (doubles per silent retry). */
  idleMs?: number;
  /** Silent retries before giving up with TRANSFER_TIMEOUT. */
  maxIdleRetries?: number;
}

/** Counters a receiver keeps, for the device's report and the benchmarks. */
export interface TransferReceiverStats {
  received: number;
  duplicates: number;
  corrupted: number;
  /** Blocks requested again because they were presumed lost. */
  rerequested: number;
}

/**
 * The receiving side of one block transfer (docs/protocol.md §12), shared by the simulated device
 * (packages coming down) and the app (deltas coming up). It asks for the blocks it lacks, at most a
 * window at a time, and keeps the bitmap persisted so a disconnect, a reboot or a restart of the
 * sender resumes with only the missing blocks.
 *
 * Loss is detected two ways. A sender serves requests in order, and MQTT delivers one publisher's
 * messages on a topic in order, so when a block arrives, every block requested before it that has
 * not arrived was lost: it is requested again at once. A lost tail (nothing after it to reveal the
 * gap) is found by the idle timer, {@link tick}.
 */
export class TransferReceiver {
  readonly bitmap: BlockBitmap;
  readonly stats: TransferReceiverStats = { received: 0, duplicates: 0, corrupted: 0, rerequested: 0 };
  private readonly window: number;
  private readonly idleMs: number;
  private readonly maxIdleRetries: number;
  /** Requested and not yet received, in the order they were requested. */
  private inFlight: number[] = [];
  private lastProgress: number;
  private idleRetries = 0;
  private done = false;

  constructor(
    readonly offer: TransferOffer,
    private readonly host: TransferReceiverHost,
    options: TransferReceiverOptions = {},
    stored?: Uint8Array,
  ) {
    this.bitmap = new BlockBitmap(offer.blockCount, stored);
    this.window = Math.max(1, Math.min(options.window ?? offer.window, offer.window));
    this.idleMs = options.idleMs ?? 3000;
    this.maxIdleRetries = options.maxIdleRetries ?? 6;
    this.lastProgress = host.now();
  }

  /** True once complete or failed: the receiver takes no more blocks. */
  get finished(): boolean {
    return this.done;
  }

  /** Reports what is held (`receiving`, with the bitmap) and requests the first window. */
  start(): void {
    this.lastProgress = this.host.now();
    this.host.send({ v: 1, t: 'state', tid: this.offer.tid, state: 'receiving', have: this.bitmap.count, bitmap: this.bitmap.toBase64(), ts: Date.now() });
    if (this.bitmap.complete) return this.finish();
    this.inFlight = [];
    this.request();
  }

  /**
   * Takes one raw frame from the block topic. Frames of other transfers are ignored (`false`);
   * a corrupted frame is counted and its block requested again.
   */
  onFrame(data: Uint8Array): boolean {
    if (this.done) return false;
    const decoded = decodeBlockFrame(data);
    if (!decoded.ok) {
      if (decoded.code !== 'BAD_CRC' || !this.ownsFrame(data)) return false;
      // The header survived (the CRC covers the payload): ask for that block again.
      this.stats.corrupted++;
      const index = Buffer.from(data.buffer, data.byteOffset, data.byteLength).readUInt32BE(12);
      this.presumeLost(index, true);
      return true;
    }
    const { frame } = decoded;
    if (frame.transferId !== this.offer.tid || frame.index >= this.offer.blockCount) return false;
    const expected = frame.index === this.offer.blockCount - 1 ? this.offer.size - frame.index * this.offer.blockSize : this.offer.blockSize;
    if (frame.payload.byteLength !== expected) {
      this.stats.corrupted++;
      this.presumeLost(frame.index, true);
      return true;
    }
    if (!this.bitmap.set(frame.index)) {
      this.stats.duplicates++;
      this.dropInFlight(frame.index);
      return true;
    }
    this.host.write(frame.index, frame.payload);
    this.host.persist(this.bitmap);
    this.stats.received++;
    this.lastProgress = this.host.now();
    this.idleRetries = 0;
    const position = this.inFlight.indexOf(frame.index);
    if (position > 0) {
      // Everything requested before this block and still missing was lost on the way.
      const lost = this.inFlight.splice(0, position);
      this.stats.rerequested += lost.length;
      this.inFlight.shift();
    } else if (position === 0) {
      this.inFlight.shift();
    }
    if (this.bitmap.complete) return this.finish(), true;
    if (this.inFlight.length <= this.window >> 1) this.request();
    return true;
  }

  /** Checks the idle timer: re-requests what is in flight, or gives up after the retries. */
  tick(now = this.host.now()): void {
    if (this.done) return;
    const wait = this.idleMs * 2 ** this.idleRetries;
    if (now - this.lastProgress < wait) return;
    if (this.idleRetries >= this.maxIdleRetries) {
      this.done = true;
      const message = `no block for ${Math.round((now - this.lastProgress) / 1000)} s after ${this.idleRetries} requests`;
      this.host.send({ v: 1, t: 'state', tid: this.offer.tid, state: 'failed', code: 'TRANSFER_TIMEOUT', message, have: this.bitmap.count, ts: Date.now() });
      this.host.failed('TRANSFER_TIMEOUT', message);
      return;
    }
    this.idleRetries++;
    this.lastProgress = now;
    this.stats.rerequested += this.inFlight.length;
    this.inFlight = [];
    this.request();
  }

  private ownsFrame(data: Uint8Array): boolean {
    return data.byteLength >= BLOCK_HEADER_BYTES && Buffer.from(data.buffer, data.byteOffset + 4, 8).toString('hex') === this.offer.tid;
  }

  private presumeLost(index: number, requestNow: boolean): void {
    if (index >= this.offer.blockCount || this.bitmap.has(index)) return;
    this.dropInFlight(index);
    this.stats.rerequested++;
    if (requestNow) this.request();
  }

  private dropInFlight(index: number): void {
    const i = this.inFlight.indexOf(index);
    if (i >= 0) this.inFlight.splice(i, 1);
  }

  private request(): void {
    const room = this.window - this.inFlight.length;
    if (room <= 0) return;
    const runs = this.bitmap.missingRuns(room, new Set(this.inFlight));
    if (runs.length === 0) return;
    for (const [start, count] of runs) for (let i = start; i < start + count; i++) this.inFlight.push(i);
    this.host.send({ v: 1, t: 'req', tid: this.offer.tid, want: runs, ts: Date.now() });
  }

  private finish(): void {
    this.done = true;
    this.inFlight = [];
    this.host.complete();
  }
}
