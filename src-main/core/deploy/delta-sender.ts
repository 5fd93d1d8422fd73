import { createHash, randomBytes } from 'node:crypto';
import type { Disposable } from '../fleet/device-router';
import { TERMINAL_TRANSFER_STATES, offerSigningText, type TransferOffer, type TransferStateMessage } from '../protocol';
import type { TransferHub, TransferSource } from './transfer-hub';

/** What one aggregated delta is for. */
export interface DeltaContext {
  /** The federated job and round the delta comes from. */
  round: { job: string; round: number };
  /** modelDigest the device's model must have after applying the delta. */
  digest: string;
  /** Cancels the delivery (the device is told to drop it); the outcome is CANCELED. */
  signal?: AbortSignal;
}

/** How a delivery ended (the shape of rounds' `DownloadOutcome`). */
export type DeltaOutcome = { ok: true; bytesSent: number } | { ok: false; code: string; message: string; bytesSent: number };

/** What the sender needs. */
export interface DeltaSenderDeps {
  hub: TransferHub;
  /** Signs offers with the installation key, as package offers are. */
  sign(data: Uint8Array): Uint8Array;
  clock: () => number;
  /** Byte rate of all deliveries of one job together (the deployments' pattern), bytes/s. */
  bytesPerSecond?: number;
  blockSize?: number;
  window?: number;
  /**
   * A delivery with no sign of life (no block sent, no state from the device) for this long is
   * canceled with TRANSFER_TIMEOUT, ms. Counted from the last sign rather than from the offer, so a
   * device that waits its turn behind a thousand others is not punished for the queue.
   */
  timeoutMs?: number;
}

interface Pending {
  deviceId: string;
  bytesSent: number;
  finish(outcome: DeltaOutcome): void;
  /** Restarts the idle timeout. */
  touch(): void;
}

/**
 * Sends aggregated deltas, app → device, over the transfer hub (docs/protocol.md §12, §15): a
 * signed offer of kind `delta` with its round and the digest the device's model must have after
 * applying it; the device checks the signature and its base (VERSION_MISMATCH), applies, checks the
 * digest (HASH_MISMATCH) and answers `confirmed` or `failed` with the code, which `send` resolves
 * with. The frames of one job share a byte rate. This is the rounds' `DeltaDownloads`.
 */
export class DeltaSender {
  private readonly registration: Disposable;
  private readonly source: TransferSource;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly deps: DeltaSenderDeps) {
    this.source = {
      // A delivery lives as long as its promise: after an app restart the rounds send again.
      resolve: () => null,
      onState: (deviceId, state) => this.onState(deviceId, state),
      onSent: (tid, bytes) => {
        const p = this.pending.get(tid);
        if (!p) return;
        p.bytesSent += bytes;
        p.touch();
      },
    };
    this.registration = deps.hub.addSource(this.source);
  }

  /** Sends `bytes` (an encoded delta) to `deviceId`; resolves when the device confirmed or failed it, or it timed out or was canceled. */
  send(deviceId: string, bytes: Uint8Array, context: DeltaContext): Promise<DeltaOutcome> {
    const tid = randomBytes(8).toString('hex');
    const offer = this.offerOf(tid, bytes, context);
    const group = `delta:${context.round.job}`;
    this.deps.hub.setLimits(group, { bytesPerSecond: this.deps.bytesPerSecond ?? 262_144 });
    return new Promise<DeltaOutcome>((resolve) => {
      const end = (outcome: DeltaOutcome, cancelReason?: string): void => {
        if (!this.pending.delete(tid)) return;
        clearTimeout(timer);
        context.signal?.removeEventListener('abort', abort);
        if (cancelReason) void this.deps.hub.cancel(deviceId, tid, cancelReason).catch(() => undefined);
        else this.deps.hub.close(tid);
        resolve(outcome);
      };
      const timeoutMs = this.deps.timeoutMs ?? 120_000;
      const idle = (): NodeJS.Timeout => {
        const t = setTimeout(() => fail('TRANSFER_TIMEOUT', `the delivery showed no progress for ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
        t.unref?.();
        return t;
      };
      let timer = idle();
      const pending: Pending = {
        deviceId,
        bytesSent: 0,
        finish: (outcome) => end(outcome),
        touch: () => {
          clearTimeout(timer);
          timer = idle();
        },
      };
      const fail = (code: string, message: string): void => end({ ok: false, code, message, bytesSent: pending.bytesSent }, code);
      const abort = (): void => fail('CANCELED', 'the delivery was canceled');
      this.pending.set(tid, pending);
      if (context.signal?.aborted) return abort();
      context.signal?.addEventListener('abort', abort, { once: true });
      this.deps.hub.offer(deviceId, offer, bytes, group, this.source).catch((err: unknown) => fail('DEVICE_OFFLINE', `the offer was not published: ${String(err)}`));
    });
  }

  /** Deliveries in flight. */
  get size(): number {
    return this.pending.size;
  }

  /** Ends every delivery in flight as CANCELED and leaves the hub. */
  dispose(): void {
    for (const p of [...this.pending.values()]) p.finish({ ok: false, code: 'CANCELED', message: 'the app is stopping', bytesSent: p.bytesSent });
    this.registration.dispose();
  }

  private offerOf(tid: string, bytes: Uint8Array, context: DeltaContext): TransferOffer {
    const blockSize = this.deps.blockSize ?? 1024;
    const offer: TransferOffer = {
      v: 1,
      t: 'offer',
      tid,
      kind: 'delta',
      size: bytes.byteLength,
      blockSize,
      blockCount: Math.ceil(bytes.byteLength / blockSize),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      window: this.deps.window ?? 32,
      round: context.round,
      digest: context.digest,
      ts: this.deps.clock(),
    };
    offer.sig = Buffer.from(this.deps.sign(Buffer.from(offerSigningText(offer)))).toString('base64');
    return offer;
  }

  private onState(deviceId: string, state: TransferStateMessage): void {
    const p = this.pending.get(state.tid);
    if (!p || p.deviceId !== deviceId) return;
    if (!TERMINAL_TRANSFER_STATES.has(state.state)) return p.touch();
    if (state.state === 'confirmed') p.finish({ ok: true, bytesSent: p.bytesSent });
    else p.finish({ ok: false, code: state.state === 'canceled' ? 'CANCELED' : (state.code ?? 'FAILED'), message: state.message ?? `the device reported ${state.state}`, bytesSent: p.bytesSent });
  }
}
