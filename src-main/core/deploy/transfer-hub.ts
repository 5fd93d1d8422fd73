import type { Logger } from '../common/logger';
import type { DeviceMessaging, Disposable } from '../fleet/device-router';
import {
  TransferSender,
  decodeTransferControl,
  encodeTransferControl,
  type TransferCancel,
  type TransferOffer,
  type TransferStateMessage,
} from '../protocol';
import { ByteRate } from './byte-rate';

/** What the hub asks its owner: the transfer a device names (after an app restart, before any offer). */
export interface TransferSource {
  /** The offer and payload of `tid` if `deviceId` owns it and it is still wanted, else null. */
  resolve(tid: string, deviceId: string): { offer: TransferOffer; payload: Uint8Array; group: string } | null;
  /** A device reported a state of one of its transfers. */
  onState(deviceId: string, state: TransferStateMessage): void;
  /** Payload bytes of a block went out (first sends and re-sends). */
  onSent(tid: string, payloadBytes: number, resent: boolean): void;
}

/**
 * The receiving side of device uploads (`xfer/dev/ctl` offers, `xfer/dev/blk` frames), plugged
 * into the hub because the hub owns the `xfer` topics. The router has already checked that the
 * topic names the sending device, and the broker's ACL lets a device publish only under its own id.
 */
export interface UploadChannel {
  /** A device offers an upload. */
  onOffer(deviceId: string, offer: TransferOffer): void;
  /** A raw block frame on the device's `xfer/dev/blk`. */
  onFrame(deviceId: string, frame: Buffer): void;
  /** A device cancels a transfer; true when it was one of its uploads. */
  onCancel(deviceId: string, cancel: TransferCancel): boolean;
}

/** Limits of one group of transfers (a deployment). */
export interface GroupLimits {
  bytesPerSecond: number;
}

/**
 * Frames the hub hands the MQTT client before it waits for them to be written. Without a bound a
 * pump with a generous byte rate put every window of every transfer (a thousand transfers × 32
 * blocks) into the broker's queues at once: a device's next request then waited behind seconds of
 * other devices' blocks, its 3 s idle timer fired, and blocks still on their way were asked for
 * again. 256 is what the raw-broker benchmark keeps in flight too.
 */
export const MAX_FRAMES_IN_FLIGHT = 256;

interface OpenTransfer {
  deviceId: string;
  sender: TransferSender;
  group: string;
  source: TransferSource;
}

/**
 * The app's side of the block transfer (docs/protocol.md §12) for every device at once: it owns the
 * `xfer` topics on the device router, sends offers and cancels, answers block requests from one
 * sender per transfer, and publishes the frames under a byte rate per group (deployment), taking
 * turns between transfers so one fast device does not starve the others. A request for a transfer
 * it has not opened (the app restarted; the device resumes by itself) is resolved through the
 * owner, so nothing but the stored deployment state is needed to go on.
 *
 * Other services send through the same hub with their own {@link TransferSource} (aggregated
 * deltas of the federated rounds, {@link addSource}), and receive uploads through an
 * {@link UploadChannel} ({@link setUploads}).
 */
export class TransferHub {
  private readonly open = new Map<string, OpenTransfer>();
  private readonly rates = new Map<string, ByteRate>();
  private readonly registration: Disposable;
  private timer: ReturnType<typeof setInterval> | null = null;
  private cursor = 0;
  /** Frames waiting for the rate, by transfer; rebuilt lazily. */
  private order: string[] = [];
  /** Owners of transfers after the deployments' own (deps.source), asked in order. */
  private readonly sources: TransferSource[] = [];
  private uploads: UploadChannel | null = null;
  /** Frames handed to the MQTT client and not yet written out. */
  private framesInFlight = 0;
  private pumpQueued = false;

  constructor(
    private readonly deps: {
      router: DeviceMessaging;
      source: TransferSource;
      logger: Logger;
      clock: () => number;
      /** How often the pump runs, ms. */
      pumpMs?: number;
      /** Frames the MQTT client may hold unwritten (default {@link MAX_FRAMES_IN_FLIGHT}). */
      maxFramesInFlight?: number;
    },
  ) {
    this.registration = deps.router.register('xfer', (message) => this.receive(message.deviceId, message.levels, message.payload));
  }

  /** Starts the pump. */
  start(): void {
    this.timer ??= setInterval(() => this.pump(), this.deps.pumpMs ?? 10);
    this.timer.unref?.();
  }

  /** Adds an owner of transfers: its offers go out through {@link offer} with it, and after an app restart it is asked to resolve requests. */
  addSource(source: TransferSource): Disposable {
    this.sources.push(source);
    return {
      dispose: () => {
        const i = this.sources.indexOf(source);
        if (i >= 0) this.sources.splice(i, 1);
      },
    };
  }

  /** Makes `channel` the receiver of device uploads (one at a time; null: uploads are refused as malformed). */
  setUploads(channel: UploadChannel | null): void {
    if (channel && this.uploads && this.uploads !== channel) throw new Error('the transfer hub already has an upload receiver');
    this.uploads = channel;
  }

  /** Sets a group's byte rate. */
  setLimits(group: string, limits: GroupLimits): void {
    const rate = this.rates.get(group);
    if (rate) rate.setRate(limits.bytesPerSecond);
    else this.rates.set(group, new ByteRate(limits.bytesPerSecond, 32_768 + 64, this.deps.clock()));
  }

  /** Opens (or reopens, keeping its id) a transfer and publishes its offer; `source` (default: the deployments') hears its states. */
  async offer(deviceId: string, offer: TransferOffer, payload: Uint8Array, group: string, source: TransferSource = this.deps.source): Promise<void> {
    this.track(offer.tid, deviceId, offer, payload, group, source);
    await this.deps.router.send(deviceId, 'xfer', encodeTransferControl(offer), ['app', 'ctl']);
  }

  /** Tells the device to drop the transfer and forgets it. */
  async cancel(deviceId: string, tid: string, reason: string): Promise<void> {
    this.close(tid);
    await this.deps.router.send(deviceId, 'xfer', encodeTransferControl({ v: 1, t: 'cancel', tid, reason, ts: this.deps.clock() }), ['app', 'ctl']);
  }

  /** Forgets a transfer (it ended); later requests for it are resolved through the owner again. */
  close(tid: string): void {
    if (this.open.delete(tid)) this.order = [];
  }

  /** Open transfers. */
  get size(): number {
    return this.open.size;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.registration.dispose();
    this.open.clear();
  }

  private track(tid: string, deviceId: string, offer: TransferOffer, payload: Uint8Array, group: string, source: TransferSource): OpenTransfer {
    const existing = this.open.get(tid);
    if (existing && existing.sender.offer.sha256 === offer.sha256) return existing;
    const transfer = { deviceId, sender: new TransferSender(offer, payload), group, source };
    this.open.set(tid, transfer);
    this.order = [];
    return transfer;
  }

  private receive(deviceId: string, levels: string[], payload: Buffer): void {
    if (levels.length === 2 && levels[0] === 'dev' && levels[1] === 'blk' && this.uploads) {
      this.uploads.onFrame(deviceId, payload);
      return;
    }
    if (levels[0] !== 'dev' || levels[1] !== 'ctl' || levels.length !== 2) {
      this.deps.router.malformed(deviceId, `no transfer service takes xfer/${levels.join('/')}`);
      return;
    }
    const decoded = decodeTransferControl(payload);
    if (!decoded.ok) {
      this.deps.router.malformed(deviceId, decoded.error.message);
      return;
    }
    const message = decoded.value;
    if (message.t === 'state') {
      const open = this.open.get(message.tid);
      if (open) {
        if (open.deviceId === deviceId) open.source.onState(deviceId, message);
        return;
      }
      // Not open (an app restart, or the transfer ended): every owner ignores what is not its own.
      for (const source of this.allSources()) source.onState(deviceId, message);
      return;
    }
    if (message.t === 'req') {
      let transfer = this.open.get(message.tid);
      if (transfer && transfer.deviceId !== deviceId) {
        this.deps.router.malformed(deviceId, `asked for blocks of transfer ${message.tid}, which is another device's`);
        return;
      }
      if (!transfer) {
        let resolved: ReturnType<TransferSource['resolve']> = null;
        let owner: TransferSource = this.deps.source;
        for (const source of this.allSources()) {
          resolved = source.resolve(message.tid, deviceId);
          owner = source;
          if (resolved) break;
        }
        if (!resolved) {
          void this.deps.router
            .send(deviceId, 'xfer', encodeTransferControl({ v: 1, t: 'cancel', tid: message.tid, reason: 'UNKNOWN_TRANSFER', ts: this.deps.clock() }), ['app', 'ctl'])
            .catch(() => undefined);
          return;
        }
        transfer = this.track(message.tid, deviceId, resolved.offer, resolved.payload, resolved.group, owner);
      }
      transfer.sender.onRequest(message);
      return;
    }
    if (message.t === 'cancel') {
      if (this.uploads?.onCancel(deviceId, message)) return;
      const open = this.open.get(message.tid);
      if (open && open.deviceId !== deviceId) return;
      this.close(message.tid);
      const canceled: TransferStateMessage = { v: 1, t: 'state', tid: message.tid, state: 'canceled', message: message.reason, ts: message.ts };
      if (open) open.source.onState(deviceId, canceled);
      else for (const source of this.allSources()) source.onState(deviceId, canceled);
      return;
    }
    if (!this.uploads) {
      this.deps.router.malformed(deviceId, 'offered an upload, and no service takes uploads');
      return;
    }
    this.uploads.onOffer(deviceId, message);
  }

  private allSources(): TransferSource[] {
    return [this.deps.source, ...this.sources];
  }

  /** Publishes the frames the rates allow, one per transfer in turn. */
  private pump(): void {
    if (this.open.size === 0 || !this.deps.router.connected) return;
    if (this.order.length !== this.open.size) this.order = [...this.open.keys()];
    const now = this.deps.clock();
    const blocked = new Set<string>();
    let idleRounds = 0;
    const maxInFlight = this.deps.maxFramesInFlight ?? MAX_FRAMES_IN_FLIGHT;
    // Round robin: one frame per transfer per turn, until every group's rate or every queue is
    // spent, or the client holds as many unwritten frames as it may.
    while (idleRounds < this.order.length && this.framesInFlight < maxInFlight) {
      this.cursor = (this.cursor + 1) % this.order.length;
      const tid = this.order[this.cursor];
      const transfer = this.open.get(tid);
      if (!transfer || blocked.has(transfer.group)) {
        idleRounds++;
        continue;
      }
      const next = transfer.sender.peekBytes();
      if (next === 0) {
        idleRounds++;
        continue;
      }
      const rate = this.rates.get(transfer.group);
      if (rate && !rate.take(next, now)) {
        blocked.add(transfer.group);
        idleRounds++;
        continue;
      }
      const resentBefore = transfer.sender.stats.resentBytes;
      const frame = transfer.sender.nextFrame();
      if (!frame) continue;
      idleRounds = 0;
      transfer.source.onSent(tid, next, transfer.sender.stats.resentBytes > resentBefore);
      this.framesInFlight++;
      this.deps.router
        .send(transfer.deviceId, 'xfer', frame, ['app', 'blk'])
        .catch((err: unknown) => {
          this.deps.logger.warn(`deploy: a block to ${transfer.deviceId} was not published: ${String(err)}`);
        })
        .finally(() => this.frameWritten(maxInFlight));
    }
  }

  /** A frame left the client: when the client had been full, pump again now rather than next tick. */
  private frameWritten(maxInFlight: number): void {
    const wasFull = this.framesInFlight >= maxInFlight;
    this.framesInFlight--;
    if (!wasFull || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }
}
