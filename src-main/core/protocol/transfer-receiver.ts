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
  /**
   * The least time without a block before the oldest block in flight is asked for again (doubles
   * per silent retry). The receiver waits longer when the round trips it measures are longer.
   */
  idleMs?: number;
  /** Silent retries before giving up with TRANSFER_TIMEOUT. */
  maxIdleRetries?: number;
}

/** Most doublings of the idle time the backoff keeps between round-trip samples. */
const MAX_BACKOFF = 4;

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
 * gap) is found by the idle timer, {@link tick}. Like TCP's retransmission timer, the idle time adapts to the round trips
 * measured on blocks requested once (Karn's rule): srtt + 4 × rttvar (RFC 6298), never below
 * `idleMs`, so a busy broker that holds blocks for seconds does not make a device ask for blocks that
 * are still on their way.
 */
export class TransferReceiver {
  readonly bitmap: BlockBitmap;
  readonly stats: TransferReceiverStats = { received: 0, duplicates: 0, corrupted: 0, rerequested: 0 };
  private readonly window: number;
  private readonly idleMs: number;
  private readonly maxIdleRetries: number;
  /**
   * One entry per request of a block not yet received, in the order of the requests: a block asked
   * for again after an idle timeout has two, the earlier first.
   */
  private inFlight: number[] = [];
  private lastProgress: number;
  private idleRetries = 0;
  private done = false;
  /** When each block was requested, for blocks requested once (the round-trip samples). */
  private readonly requestedAt = new Map<number, number>();
  /** Blocks requested at least once. */
  private readonly asked: BlockBitmap;
  private srtt = 0;
  private rttvar = 0;
  /**
   * Doublings of the idle time since the last round-trip sample. Kept across blocks that arrive
   * (unlike `idleRetries`): blocks asked for twice give no sample, so a receiver whose round trips
   * outgrew its idle time would otherwise never learn them and ask twice for everything.
   */
  private backoff = 0;

  constructor(
    readonly offer: TransferOffer,
    private readonly host: TransferReceiverHost,
    options: TransferReceiverOptions = {},
    stored?: Uint8Array,
  ) {
    this.bitmap = new BlockBitmap(offer.blockCount, stored);
    this.asked = new BlockBitmap(offer.blockCount);
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
      this.presumeLost(index);
      return true;
    }
    const { frame } = decoded;
    if (frame.transferId !== this.offer.tid || frame.index >= this.offer.blockCount) return false;
    const expected = frame.index === this.offer.blockCount - 1 ? this.offer.size - frame.index * this.offer.blockSize : this.offer.blockSize;
    if (frame.payload.byteLength !== expected) {
      this.stats.corrupted++;
      this.presumeLost(frame.index);
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
    const now = this.host.now();
    this.sampleRoundTrip(frame.index, now);
    this.lastProgress = now;
    this.idleRetries = 0;
    // Everything asked for before this block's earliest request and still missing was lost on the
    // way; a lost block asked for again since (after an idle timeout) has a copy still coming.
    const position = this.inFlight.indexOf(frame.index);
    const lost = position > 0 ? this.inFlight.splice(0, position) : [];
    this.dropInFlight(frame.index);
    let uncovered = 0;
    for (const index of new Set(lost)) {
      if (this.inFlight.includes(index)) continue;
      this.requestedAt.delete(index);
      uncovered++;
    }
    this.stats.rerequested += uncovered;
    if (this.bitmap.complete) return this.finish(), true;
    if (uncovered > 0 || this.outstanding().size <= this.window >> 1) this.request();
    return true;
  }

  /** Checks the idle timer: re-requests what is in flight, or gives up after the retries. */
  tick(now = this.host.now()): void {
    if (this.done) return;
    const wait = this.idleTimeoutMs * 2 ** Math.max(this.idleRetries, this.backoff);
    if (now - this.lastProgress < wait) return;
    if (this.idleRetries >= this.maxIdleRetries) {
      this.done = true;
      const message = `no block for ${Math.round((now - this.lastProgress) / 1000)} s after ${this.idleRetries} requests`;
      this.host.send({ v: 1, t: 'state', tid: this.offer.tid, state: 'failed', code: 'TRANSFER_TIMEOUT', message, have: this.bitmap.count, ts: Date.now() });
      this.host.failed('TRANSFER_TIMEOUT', message);
      return;
    }
    this.idleRetries++;
    this.backoff = Math.min(this.backoff + 1, MAX_BACKOFF);
    this.lastProgress = now;
    // Ask again for every block in flight, keeping the earlier requests' places: their copies may
    // still come, and the loss rule must not take a late copy for a re-sent one.
    const again = [...this.outstanding()].sort((a, b) => a - b);
    this.stats.rerequested += again.length;
    for (const index of again) {
      this.requestedAt.delete(index);
      this.inFlight.push(index);
    }
    if (again.length > 0) this.host.send({ v: 1, t: 'req', tid: this.offer.tid, want: toRuns(again), ts: Date.now() });
    else this.request();
  }

  /** How long without a block counts as silence: the measured round trip's bound, at least `idleMs`. */
  get idleTimeoutMs(): number {
    return Math.max(this.idleMs, Math.ceil(this.srtt + 4 * this.rttvar));
  }

  private sampleRoundTrip(index: number, now: number): void {
    const at = this.requestedAt.get(index);
    if (at === undefined) return;
    this.requestedAt.delete(index);
    const sample = now - at;
    this.backoff = 0;
    if (this.srtt === 0) {
      this.srtt = sample;
      this.rttvar = sample / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - sample);
      this.srtt = 0.875 * this.srtt + 0.125 * sample;
    }
  }

  private ownsFrame(data: Uint8Array): boolean {
    return data.byteLength >= BLOCK_HEADER_BYTES && Buffer.from(data.buffer, data.byteOffset + 4, 8).toString('hex') === this.offer.tid;
  }

  /** A copy of `index` arrived damaged: that request is answered; ask again unless another copy is coming. */
  private presumeLost(index: number): void {
    if (index >= this.offer.blockCount || this.bitmap.has(index)) return;
    const earliest = this.inFlight.indexOf(index);
    if (earliest >= 0) this.inFlight.splice(earliest, 1);
    this.requestedAt.delete(index);
    if (this.inFlight.includes(index)) return;
    this.stats.rerequested++;
    this.request();
  }

  /** Forgets every request of `index` (it arrived). */
  private dropInFlight(index: number): void {
    this.inFlight = this.inFlight.filter((i) => i !== index);
    this.requestedAt.delete(index);
  }

  /** Blocks with a request not yet answered. */
  private outstanding(): Set<number> {
    return new Set(this.inFlight);
  }

  private request(): void {
    const outstanding = this.outstanding();
    const room = this.window - outstanding.size;
    if (room <= 0) return;
    const runs = this.bitmap.missingRuns(room, outstanding);
    if (runs.length === 0) return;
    const now = this.host.now();
    for (const [start, count] of runs) {
      for (let i = start; i < start + count; i++) {
        this.inFlight.push(i);
        // Karn's rule: a block asked for before gives no round-trip sample (which copy arrived?).
        if (this.asked.set(i)) this.requestedAt.set(i, now);
        else this.requestedAt.delete(i);
      }
    }
    this.host.send({ v: 1, t: 'req', tid: this.offer.tid, want: runs, ts: Date.now() });
  }

  private finish(): void {
    this.done = true;
    this.inFlight = [];
    this.host.complete();
  }
}

/** Sorted block indices as `[start, count]` runs. */
function toRuns(indices: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const i of indices) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === i) last[1]++;
    else runs.push([i, 1]);
  }
  return runs;
}
