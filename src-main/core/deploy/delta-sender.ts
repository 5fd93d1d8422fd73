import { createHash } from 'node:crypto';
import type { Disposable } from '../fleet/device-router';
import { TERMINAL_TRANSFER_STATES, offerSigningText, type TransferOffer, type TransferStateMessage } from '../protocol';
import type { TransferHub, TransferSource } from './transfer-hub';

/** One aggregated delta for one device. */
export interface DeltaDelivery {
  /** Transfer id (16 hex); the owner stores it before the offer goes out, so a restart resumes it. */
  tid: string;
  deviceId: string;
  bytes: Uint8Array;
  /** The federated job and round the delta comes from. */
  round: { job: string; round: number };
  /** modelDigest the device's model must have after applying the delta. */
  digest: string;
  /** The model version the delta leads to. */
  model?: { id: string; version: number };
  blockSize?: number;
  window?: number;
}

/** How a delivery ended, as the device reported it. */
export type DeltaOutcome = { state: 'confirmed' } | { state: 'failed'; code: string; message: string } | { state: 'canceled'; message: string };

/** The owner of deliveries (the federated rounds). */
export interface DeltaDeliveryOwner {
  /** The delivery of `tid` if it belongs to `deviceId` and is still wanted (asked after an app restart), else null. */
  resolve(tid: string, deviceId: string): DeltaDelivery | null;
  /** A delivery ended. */
  onOutcome(deviceId: string, tid: string, outcome: DeltaOutcome): void;
  /** Payload bytes of a delivery went out (for the round's bytes down). */
  onSent?(tid: string, payloadBytes: number): void;
}

/** The offer `digest` field the aggregated delta carries (protocol §15); kept here until the offer schema names it. */
export type DeltaTransferOffer = TransferOffer & { digest: string };

/** Options of the sender. */
export interface DeltaSenderDeps {
  hub: TransferHub;
  owner: DeltaDeliveryOwner;
  /** Signs offers with the installation key, as package offers are. */
  sign(data: Uint8Array): Uint8Array;
  clock: () => number;
  /** Byte rate of all deliveries of one job together (the deployments' pattern). */
  bytesPerSecond?: number;
}

const DEFAULT_BLOCK_SIZE = 1024;
const DEFAULT_WINDOW = 32;

/**
 * Sends aggregated deltas, app → device, over the transfer hub (docs/protocol.md §12, §15): a
 * signed offer of kind `delta` with its round and the digest the device's model must have after
 * applying it; the device checks the signature and its base (VERSION_MISMATCH), applies, checks the
 * digest (HASH_MISMATCH) and answers `confirmed` or `failed` with the code, which reaches the owner.
 * The frames share a byte rate per job.
 */
export class DeltaSender {
  private readonly registration: Disposable;
  private readonly source: TransferSource;
  /** Deliveries offered (or resolved after a restart) and not ended: tid → device. */
  private readonly sent = new Map<string, string>();

  constructor(private readonly deps: DeltaSenderDeps) {
    this.source = {
      resolve: (tid, deviceId) => {
        const delivery = deps.owner.resolve(tid, deviceId);
        if (!delivery) return null;
        this.sent.set(tid, delivery.deviceId);
        return { offer: this.offerOf(delivery), payload: delivery.bytes, group: this.group(delivery) };
      },
      onState: (deviceId, state) => this.onState(deviceId, state),
      onSent: (tid, bytes) => deps.owner.onSent?.(tid, bytes),
    };
    this.registration = deps.hub.addSource(this.source);
  }

  /** Offers a delivery (again, with the same tid, after a reconnect). */
  async send(delivery: DeltaDelivery): Promise<void> {
    const group = this.group(delivery);
    this.deps.hub.setLimits(group, { bytesPerSecond: this.deps.bytesPerSecond ?? 262_144 });
    this.sent.set(delivery.tid, delivery.deviceId);
    await this.deps.hub.offer(delivery.deviceId, this.offerOf(delivery), delivery.bytes, group, this.source);
  }

  /** Tells the device to drop a delivery. */
  async cancel(deviceId: string, tid: string, reason: string): Promise<void> {
    this.sent.delete(tid);
    await this.deps.hub.cancel(deviceId, tid, reason);
  }

  /** Deliveries in flight. */
  get size(): number {
    return this.sent.size;
  }

  dispose(): void {
    this.registration.dispose();
    for (const tid of this.sent.keys()) this.deps.hub.close(tid);
    this.sent.clear();
  }

  /** The signed offer of a delivery. */
  offerOf(delivery: DeltaDelivery): DeltaTransferOffer {
    const blockSize = delivery.blockSize ?? DEFAULT_BLOCK_SIZE;
    const offer: DeltaTransferOffer = {
      v: 1,
      t: 'offer',
      tid: delivery.tid,
      kind: 'delta',
      size: delivery.bytes.byteLength,
      blockSize,
      blockCount: Math.ceil(delivery.bytes.byteLength / blockSize),
      sha256: createHash('sha256').update(delivery.bytes).digest('hex'),
      window: delivery.window ?? DEFAULT_WINDOW,
      round: delivery.round,
      digest: delivery.digest,
      ...(delivery.model ? { model: delivery.model } : {}),
      ts: this.deps.clock(),
    };
    offer.sig = Buffer.from(this.deps.sign(Buffer.from(offerSigningText(offer)))).toString('base64');
    return offer;
  }

  private group(delivery: DeltaDelivery): string {
    return `delta:${delivery.round.job}`;
  }

  private onState(deviceId: string, state: TransferStateMessage): void {
    if (!TERMINAL_TRANSFER_STATES.has(state.state)) return;
    // After an app restart a device may report the end before asking for anything: the owner knows its deliveries.
    const ours = this.sent.get(state.tid) === deviceId || (!this.sent.has(state.tid) && this.deps.owner.resolve(state.tid, deviceId) !== null);
    if (!ours) return;
    this.sent.delete(state.tid);
    this.deps.hub.close(state.tid);
    if (state.state === 'confirmed') this.deps.owner.onOutcome(deviceId, state.tid, { state: 'confirmed' });
    else if (state.state === 'canceled') this.deps.owner.onOutcome(deviceId, state.tid, { state: 'canceled', message: state.message ?? 'the device canceled' });
    else this.deps.owner.onOutcome(deviceId, state.tid, { state: 'failed', code: state.code ?? 'FAILED', message: state.message ?? state.state });
  }
}
