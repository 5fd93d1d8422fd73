import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger';
import type { DeviceMessaging } from '../fleet/device-router';
import { BlockBitmap, TransferReceiver, encodeTransferControl, type TransferCancel, type TransferControl, type TransferOffer, type TransferStateMessage } from '../protocol';
import type { TransferHub, UploadChannel } from './transfer-hub';

/** The owner's answer to an offer: go on, or refuse with a code (`UNKNOWN_ROUND`, `DUPLICATE`, `REJECTED`...) and a message naming the problem. */
export type UploadAcceptance = { accept: true } | { accept: false; code: string; message: string };

/** The owner's verdict on received bytes. */
export type UploadVerdict = { ok: true } | { ok: false; code: string; message: string };

/**
 * The owner of uploads (the federated rounds; this is the shape of rounds' `UploadHandler`, which
 * this layer cannot import): it decides which uploads it wants and takes their bytes.
 */
export interface UploadOwner {
  /** Whether `deviceId` may upload what `offer` announces (its job and round, nothing already taken). */
  offer(deviceId: string, offer: TransferOffer): UploadAcceptance;
  /**
   * The complete bytes, their SHA-256 checked against the offer. The owner validates and stores
   * them before it answers: only then does the device hear `received` and drop its copy.
   */
  delivered(deviceId: string, offer: TransferOffer, bytes: Uint8Array): UploadVerdict | Promise<UploadVerdict>;
}

/** What an {@link UploadReceiver} needs. */
export interface UploadReceiverDeps {
  hub: TransferHub;
  router: DeviceMessaging;
  /** Folder of the partial uploads (one file, bitmap and offer per transfer), so an app restart resumes them. */
  dir: string;
  /** Largest upload accepted, bytes (the rounds pass MAX_DELTA_BYTES). */
  maxBytes: number;
  /** Uploads received at the same time, at most; a device offering more hears BUSY and offers again later. */
  maxConcurrent?: number;
  /** Re-request in-flight blocks after this long without one, ms (see TransferReceiver). */
  idleMs?: number;
  logger: Logger;
  clock: () => number;
  /** How often idle timers are checked, ms. */
  tickMs?: number;
}

/** Counters of the receiver, for diagnosis and tests. */
export interface UploadStats {
  received: number;
  /** Offers refused before any block (bad offer, too large, busy, or by the handler). */
  refused: number;
  /** Uploads that ended failed after their blocks (hash mismatch, rejected by the handler, timeout). */
  failed: number;
  /** Frames of no open upload (late copies of finished ones). */
  strayFrames: number;
}

interface OpenUpload {
  deviceId: string;
  offer: TransferOffer;
  receiver: TransferReceiver;
  fd: number;
  finishing: boolean;
}

/** Final states kept per transfer id, so a device that missed its answer hears it again. */
const REMEMBERED_FINALS = 4096;
/** A partial upload untouched this long is removed at start: longer than any round may wait for it (a round deadline is at most 7 days). */
export const STALE_PARTIAL_MS = 8 * 24 * 3_600_000;

/**
 * The app's side of uploads, device → app (docs/protocol.md §12): a device offers its delta on
 * `xfer/dev/ctl`; the receiver asks the handler whether it is wanted, requests the blocks on
 * `xfer/app/ctl` with the protocol's TransferReceiver, writes them to a partial file with its
 * bitmap, checks the whole file's SHA-256 against the offer, hands the bytes to the handler and
 * answers `received`, or `failed` with a code. A device keeps its bytes until it heard `received`
 * and offers the same transfer again after a reconnect; the receiver then resumes from the stored
 * bitmap, also after the app restarted. Bounded: the offer's size, the number of concurrent uploads,
 * and each transfer id belongs to the device that offered it (the broker's ACL keeps a device to
 * its own topics, so it cannot offer or send blocks as another).
 */
export class UploadReceiver implements UploadChannel {
  readonly stats: UploadStats = { received: 0, refused: 0, failed: 0, strayFrames: 0 };
  private readonly open = new Map<string, OpenUpload>();
  private readonly finals = new Map<string, { deviceId: string; sha256: string; state: TransferStateMessage }>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private owner: UploadOwner | null = null;

  constructor(private readonly deps: UploadReceiverDeps) {}

  /** Installs the owner of uploads (one; a later call replaces it); until then offers are refused with UNKNOWN_ROUND. Returns the uninstall. */
  onUpload(owner: UploadOwner): () => void {
    this.owner = owner;
    return () => {
      if (this.owner === owner) this.owner = null;
    };
  }

  /** Takes the hub's uploads and starts the idle timers; partial uploads older than {@link STALE_PARTIAL_MS} are removed. */
  start(): void {
    mkdirSync(this.deps.dir, { recursive: true });
    this.sweepStale(this.deps.clock());
    this.deps.hub.setUploads(this);
    this.timer ??= setInterval(() => this.tick(), this.deps.tickMs ?? 500);
    this.timer.unref?.();
  }

  /** Stops; partial uploads stay on disk for the next start. */
  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.deps.hub.setUploads(null);
    for (const upload of this.open.values()) closeSync(upload.fd);
    this.open.clear();
  }

  /** Uploads being received. */
  get active(): number {
    return this.open.size;
  }

  onOffer(deviceId: string, offer: TransferOffer): void {
    const existing = this.open.get(offer.tid);
    if (existing && existing.deviceId !== deviceId) return this.refuse(deviceId, offer, 'BAD_OFFER', `transfer id ${offer.tid} is in use by another device; offer with a new id`);
    const final = this.finals.get(offer.tid);
    if (final && final.deviceId === deviceId && final.sha256 === offer.sha256) return this.send(deviceId, { ...final.state, ts: this.deps.clock() });
    if (offer.kind !== 'delta') return this.refuse(deviceId, offer, 'BAD_OFFER', `devices upload deltas only, not a ${offer.kind}`);
    if (!offer.round) return this.refuse(deviceId, offer, 'BAD_OFFER', 'an uploaded delta names its job and round (offer.round)');
    if (offer.size > this.deps.maxBytes) return this.refuse(deviceId, offer, 'REJECTED', `TOO_LARGE: a delta of ${offer.size} bytes exceeds the ${this.deps.maxBytes}-byte limit`);
    if (existing) {
      if (existing.offer.sha256 === offer.sha256 && existing.offer.size === offer.size && existing.offer.blockSize === offer.blockSize) {
        // The device reconnected: it hears what is held and the requests start again.
        if (!existing.finishing) existing.receiver.start();
        return;
      }
      this.discard(offer.tid);
    } else if (this.open.size >= (this.deps.maxConcurrent ?? 32)) {
      return this.refuse(deviceId, offer, 'BUSY', `${this.open.size} uploads are being received; offer again later`);
    }
    if (!this.owner) return this.refuse(deviceId, offer, 'UNKNOWN_ROUND', 'no federated round takes uploads now');
    const acceptance = this.owner.offer(deviceId, offer);
    if (!acceptance.accept) return this.refuse(deviceId, offer, acceptance.code, acceptance.message);
    let upload: OpenUpload;
    try {
      upload = this.openUpload(deviceId, offer);
    } catch (err) {
      return this.refuse(deviceId, offer, 'STORAGE_ERROR', `the app could not store the upload: ${(err as Error).message}`);
    }
    upload.receiver.start();
  }

  onFrame(deviceId: string, frame: Buffer): void {
    if (frame.byteLength < 12) return this.deps.router.malformed(deviceId, `a block frame of ${frame.byteLength} bytes is shorter than its header`);
    const tid = frame.subarray(4, 12).toString('hex');
    const upload = this.open.get(tid);
    if (!upload || upload.finishing) {
      this.stats.strayFrames++;
      return;
    }
    if (upload.deviceId !== deviceId) return this.deps.router.malformed(deviceId, `sent a block of transfer ${tid}, which is another device's`);
    upload.receiver.onFrame(frame);
  }

  onCancel(deviceId: string, cancel: TransferCancel): boolean {
    const upload = this.open.get(cancel.tid);
    if (!upload || upload.deviceId !== deviceId) return false;
    this.discard(cancel.tid);
    return true;
  }

  /** Checks every open upload's idle timer. */
  tick(now = this.deps.clock()): void {
    for (const upload of [...this.open.values()]) upload.receiver.tick(now);
  }

  private openUpload(deviceId: string, offer: TransferOffer): OpenUpload {
    const files = this.files(deviceId, offer.tid);
    mkdirSync(path.dirname(files.part), { recursive: true });
    const stored = this.storedBitmap(files, offer);
    if (!stored) {
      writeFileSync(files.offer, JSON.stringify(offer));
      writeFileSync(files.part, Buffer.alloc(0));
      rmSync(files.bitmap, { force: true });
    }
    const fd = openSync(files.part, 'r+');
    const upload: OpenUpload = {
      deviceId,
      offer,
      fd,
      finishing: false,
      receiver: new TransferReceiver(
        offer,
        {
          send: (message) => this.send(deviceId, message),
          write: (index, payload) => void writeSync(fd, payload, 0, payload.byteLength, index * offer.blockSize),
          persist: (bitmap) => writeFileSync(files.bitmap, bitmap.toBytes()),
          complete: () => void this.finish(upload),
          failed: (code, message) => {
            // The partial file stays: the device offers again and resumes from it.
            this.stats.failed++;
            this.close(offer.tid);
            this.deps.logger.warn(`uploads: ${deviceId}'s transfer ${offer.tid} ${code}: ${message}`);
          },
          now: this.deps.clock,
        },
        { idleMs: this.deps.idleMs },
        stored ?? undefined,
      ),
    };
    this.open.set(offer.tid, upload);
    return upload;
  }

  /** The stored bitmap of a partial upload that matches `offer`, or null (none, or another payload under the same id). */
  private storedBitmap(files: UploadFiles, offer: TransferOffer): Uint8Array | null {
    if (!existsSync(files.offer) || !existsSync(files.part) || !existsSync(files.bitmap)) return null;
    try {
      const before = JSON.parse(readFileSync(files.offer, 'utf8')) as Partial<TransferOffer>;
      if (before.sha256 !== offer.sha256 || before.size !== offer.size || before.blockSize !== offer.blockSize) return null;
      const bitmap = readFileSync(files.bitmap);
      return bitmap.byteLength === new BlockBitmap(offer.blockCount).toBytes().byteLength ? bitmap : null;
    } catch {
      return null;
    }
  }

  private async finish(upload: OpenUpload): Promise<void> {
    upload.finishing = true;
    const { deviceId, offer } = upload;
    const bytes = Buffer.alloc(offer.size);
    readSync(upload.fd, bytes, 0, offer.size, 0);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    let verdict: UploadVerdict;
    if (sha256 !== offer.sha256) {
      verdict = { ok: false, code: 'HASH_MISMATCH', message: `the received bytes hash to ${sha256}, the offer says ${offer.sha256}` };
    } else if (!this.owner) {
      verdict = { ok: false, code: 'UNKNOWN_ROUND', message: 'no federated round takes uploads now' };
    } else {
      try {
        verdict = await this.owner.delivered(deviceId, offer, bytes);
      } catch (err) {
        verdict = { ok: false, code: 'STORAGE_ERROR', message: `the app could not take the upload: ${(err as Error).message}` };
      }
    }
    this.discard(offer.tid);
    const state: TransferStateMessage = verdict.ok
      ? { v: 1, t: 'state', tid: offer.tid, state: 'received', have: offer.blockCount, ts: this.deps.clock() }
      : { v: 1, t: 'state', tid: offer.tid, state: 'failed', code: verdict.code, message: verdict.message.slice(0, 500), ts: this.deps.clock() };
    if (verdict.ok) this.stats.received++;
    else this.stats.failed++;
    this.remember(deviceId, offer, state);
    this.send(deviceId, state);
  }

  private refuse(deviceId: string, offer: TransferOffer, code: string, message: string): void {
    this.stats.refused++;
    this.send(deviceId, { v: 1, t: 'state', tid: offer.tid, state: 'failed', code, message: message.slice(0, 500), ts: this.deps.clock() });
  }

  private remember(deviceId: string, offer: TransferOffer, state: TransferStateMessage): void {
    this.finals.set(offer.tid, { deviceId, sha256: offer.sha256, state });
    if (this.finals.size > REMEMBERED_FINALS) this.finals.delete(this.finals.keys().next().value!);
  }

  /**
   * Removes the files of partial uploads no round can take any more: untouched for longer than the
   * longest round deadline allows. A device that offers one again starts it from zero.
   */
  private sweepStale(now: number): void {
    for (const device of readdirSync(this.deps.dir, { withFileTypes: true })) {
      if (!device.isDirectory()) continue;
      const folder = path.join(this.deps.dir, device.name);
      for (const name of readdirSync(folder)) {
        const file = path.join(folder, name);
        if (now - statSync(file).mtimeMs > STALE_PARTIAL_MS) rmSync(file, { force: true });
      }
    }
  }

  /** Closes an upload and removes its files. */
  private discard(tid: string): void {
    const upload = this.open.get(tid);
    if (!upload) return;
    this.close(tid);
    const files = this.files(upload.deviceId, tid);
    for (const file of Object.values(files)) rmSync(file, { force: true });
  }

  private close(tid: string): void {
    const upload = this.open.get(tid);
    if (!upload) return;
    this.open.delete(tid);
    closeSync(upload.fd);
  }

  private send(deviceId: string, message: TransferControl): void {
    this.deps.router.send(deviceId, 'xfer', encodeTransferControl(message), ['app', 'ctl']).catch((err: unknown) => {
      this.deps.logger.warn(`uploads: a control message to ${deviceId} was not published: ${String(err)}`);
    });
  }

  private files(deviceId: string, tid: string): UploadFiles {
    const base = path.join(this.deps.dir, deviceId, tid);
    return { part: `${base}.part`, bitmap: `${base}.bitmap`, offer: `${base}.offer.json` };
  }
}

interface UploadFiles {
  part: string;
  bitmap: string;
  offer: string;
}
