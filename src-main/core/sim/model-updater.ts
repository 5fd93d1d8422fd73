import { createHash, type KeyObject } from 'node:crypto';
import type { McuProfile } from '../common/mcu-profile';
import { PackageError, RUNTIME_VERSION } from '../engine/package/format';
import { verifyEd25519 } from '../engine/package/keys';
import { readPackage } from '../engine/package/reader';
import {
  BlockBitmap,
  TransferReceiver,
  decodeTransferControl,
  encodeTransferControl,
  offerSigningText,
  transferTopic,
  type SlotInfo,
  type TransferControl,
  type TransferErrorCode,
  type TransferOffer,
  type TransferRequest,
  type TransferState,
  type TransferStateMessage,
} from '../protocol';
import type { PackageSource } from './device-compute-pool';
import type { DeltaApplyResult } from './device-compute-task';
import type { ModelSlots, SlotName } from './model-slots';
import type { Prng } from './prng';

/** How often a device applying an aggregated delta repeats `installing`, ms. */
const INSTALLING_HEARTBEAT_MS = 10_000;

/** The update faults a simulated device can suffer (see FaultConfig in contract/sim.ts). */
export interface UpdateFaults {
  /** Share of received blocks the device's link loses. */
  blockLoss: number;
  /** Share of received blocks that arrive with a flipped byte. */
  blockCorruption: number;
  /** Probability that a transfer is cut by a power loss at a random block. */
  transferPowerLoss: number;
  /** The device's runtime computes one output element wrong: every self-test fails. */
  miscompute: boolean;
}

/** What the updater needs from its device. */
export interface ModelUpdaterContext {
  deviceId: string;
  profile: McuProfile;
  /** The installation's package signing key, provisioned with the device. */
  publicKey: KeyObject;
  faults(): UpdateFaults;
  /** Free SRAM and Flash now (faults may lower them). */
  memory(): { sramFree: number; flashFree: number };
  /** Publishes on a transfer topic (QoS 1 for control; blocks are only received here). */
  publish(topic: string, payload: string): void;
  /**
   * Runs a package's self-test input through the device's runtime and returns the output digest;
   * runs in a worker pool, off the thread that carries the device's MQTT traffic.
   */
  selfTest(packageBytes: Uint8Array, miscompute: boolean): Promise<string>;
  /** The slots changed: the device republishes its birth. */
  slotsChanged(): void;
  /** An event for the device's log (`evt`). */
  event(kind: string, level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown>): void;
  /** Cuts the power now (the power-loss fault). */
  powerLoss(): void;
  /**
   * Applies an aggregated delta over the effective model (in the compute pool) and checks the
   * patched model's digest; without it the device refuses deltas.
   */
  applyDelta?(source: PackageSource, delta: Uint8Array, expectedDigest: string): Promise<DeltaApplyResult>;
  /** The app's `req`/`state` about a transfer this device sends (a round's delta upload). */
  uploadControl?(message: TransferRequest | TransferStateMessage): void;
  /** True while a training round runs (a package offer then answers BUSY). */
  roundBusy?(): boolean;
  rng: Prng;
  now(): number;
}

/** Counters of the update path, summed over devices by the simulator. */
export interface UpdateStats {
  blocksReceived: number;
  blocksLostByFault: number;
  blocksCorruptedByFault: number;
  transfersCompleted: number;
  installs: number;
  selfTestFailures: number;
  rejected: number;
}

export function emptyUpdateStats(): UpdateStats {
  return { blocksReceived: 0, blocksLostByFault: 0, blocksCorruptedByFault: 0, transfersCompleted: 0, installs: 0, selfTestFailures: 0, rejected: 0 };
}

/**
 * The model-update agent of a simulated device: the reference implementation of what firmware does
 * with protocol v1.1 (docs/protocol.md §12). It takes offers, receives the package block by block
 * into its inactive slot's partial file (resuming from the stored bitmap), verifies hash, signature,
 * target and memory, installs, activates on trial, runs the package's self-test, and confirms or
 * returns to the previous slot.
 */
export class ModelUpdater {
  private receiver: TransferReceiver | null = null;
  /** A transfer past its last block (verifying, installing, self-testing): the device is busy. */
  private finishing: string | null = null;
  private powerCutAt: number | null = null;
  /** Counts power cycles: work that awaited across a power loss must not touch the slots after it. */
  private generation = 0;

  constructor(
    private readonly slots: ModelSlots,
    private readonly ctx: ModelUpdaterContext,
    readonly stats: UpdateStats,
  ) {}

  /** The power is cut: whatever is in progress stops where it is (the disk keeps what was written). */
  halt(): void {
    this.generation++;
    this.receiver = null;
    this.finishing = null;
  }

  /** After power-up: reverts an unconfirmed activation (before anything runs on it). */
  boot(): void {
    this.generation++;
    this.receiver = null;
    this.finishing = null;
    this.powerCutAt = null;
    const { revertedFrom } = this.slots.boot();
    if (revertedFrom) {
      this.ctx.event('rollback', 'warn', `slot ${revertedFrom} was activated but never confirmed; booted slot ${this.slots.activeSlot ?? 'none'}`, { from: revertedFrom, to: this.slots.activeSlot });
    }
  }

  /** Slots as the birth reports them. */
  slotInfo(): SlotInfo[] {
    return this.slots.info();
  }

  /**
   * The package the device runs: its active slot once confirmed (a slot on trial runs only its
   * self-test). Null when no confirmed slot is active.
   */
  activePackage(): PackageSource | null {
    const slot = this.slots.activeSlot;
    const meta = slot ? this.slots.meta(slot) : null;
    if (!slot || !meta || this.slots.onTrial) return null;
    const read = () => this.slots.read(slot);
    const chain = [...(meta.deltas ?? []), ...(meta.overlay?.chain ?? [])];
    if (!chain.length) return { sha256: meta.sha256, read };
    // The effective model is the package patched by its deltas (a personalization overlay last): its own key, so caches keep them apart.
    const sha256 = createHash('sha256').update([meta.sha256, ...chain].join('\n')).digest('hex');
    return { sha256, read, deltas: () => [...this.slots.readDeltas(slot), ...this.slots.readOverlay(slot)] };
  }

  /** The latest personalization session whose update the active model carries, if any. */
  overlaySession(): string | null {
    const slot = this.slots.activeSlot;
    return (slot && this.slots.meta(slot)?.overlay?.session) || null;
  }

  /** Keeps a personalization session's update over the active model. */
  addOverlay(session: string, bytes: Uint8Array): void {
    const slot = this.slots.activeSlot;
    if (!slot) throw new Error('no model is active');
    this.slots.addOverlay(slot, session, createHash('sha256').update(bytes).digest('hex'), bytes);
    this.ctx.slotsChanged();
  }

  /** Drops the active model's personalization overlay; false when there was none. */
  dropOverlay(): boolean {
    const slot = this.slots.activeSlot;
    const dropped = slot !== null && this.slots.dropOverlay(slot);
    if (dropped) this.ctx.slotsChanged();
    return dropped;
  }

  /** A partly held transfer, for the birth's `xfer` field. */
  pending(): { tid: string; have: number; blocks: number } | undefined {
    if (this.receiver && !this.receiver.finished) return { tid: this.receiver.offer.tid, have: this.receiver.bitmap.count, blocks: this.receiver.offer.blockCount };
    const stored = this.slots.pendingTransfer();
    if (!stored) return undefined;
    return { tid: stored.offer.tid, have: new BlockBitmap(stored.offer.blockCount, stored.bitmap).count, blocks: stored.offer.blockCount };
  }

  /** True while a package transfer is received or installed (a round then answers BUSY). */
  get busy(): boolean {
    return this.receiving || this.finishing !== null;
  }

  /** True while a transfer is being received (the device ticks {@link tick} then). */
  get receiving(): boolean {
    return this.receiver !== null && !this.receiver.finished;
  }

  /** The topics the device subscribes to, besides `cmd`. */
  subscriptions(): string[] {
    return [transferTopic(this.ctx.deviceId, 'app', 'ctl'), transferTopic(this.ctx.deviceId, 'app', 'blk')];
  }

  /** Once connected: a transfer interrupted by a power loss or a disconnect asks for its missing blocks. */
  resume(): void {
    if (this.finishing) return;
    if (!this.receiver) {
      const stored = this.slots.pendingTransfer();
      if (!stored) return;
      this.receiver = this.newReceiver(stored.offer, stored.bitmap);
    }
    this.receiver.start();
  }

  /** A message on one of {@link subscriptions}. */
  onMessage(topic: string, payload: Buffer): void {
    if (topic.endsWith('/blk')) return this.onBlock(payload);
    const decoded = decodeTransferControl(payload);
    if (!decoded.ok) {
      this.stats.rejected++;
      this.ctx.event('bad_transfer_message', 'warn', decoded.error.message, { code: decoded.error.code });
      return;
    }
    const m = decoded.value;
    if (m.t === 'offer') return this.onOffer(m);
    if (m.t === 'cancel') return this.onCancel(m.tid, m.reason);
    // `req` and `state` come from the app only for uploads: a round's delta.
    this.ctx.uploadControl?.(m);
  }

  /** The idle timer (called about once a second while receiving). */
  tick(): void {
    this.receiver?.tick();
  }

  /**
   * `activate_slot`: back to the other slot without a transfer (a rollback). Resolves with the
   * slot's model once confirmed; rejects with a protocol error code.
   */
  async activateSlot(slot: SlotName): Promise<{ slot: SlotName; model: string }> {
    if (this.receiving || this.finishing) throw Object.assign(new Error('a transfer is in progress'), { code: 'BUSY' });
    const meta = this.slots.meta(slot);
    if (!meta) throw Object.assign(new Error(`slot ${slot} is empty`), { code: 'NOT_FOUND' });
    if (this.slots.activeSlot === slot && !this.slots.onTrial) return { slot, model: meta.model };
    const result = await this.trialBoot(slot);
    if (result !== 'confirmed') throw Object.assign(new Error(`slot ${slot} failed its self-test; stayed on slot ${this.slots.activeSlot ?? 'none'}`), { code: 'SELF_TEST_FAILED' });
    return { slot, model: meta.model };
  }

  // --- offers --------------------------------------------------------------------------------

  private onOffer(offer: TransferOffer): void {
    if (offer.kind === 'delta' && !this.ctx.applyDelta) return this.fail(offer.tid, 'BAD_OFFER', 'this device takes packages, not delta transfers');
    const busyWith = this.finishing ?? (this.receiving ? this.receiver!.offer.tid : null);
    if (busyWith && busyWith !== offer.tid) return this.fail(offer.tid, 'BUSY', `transfer ${busyWith} is in progress`);
    if (!busyWith && this.ctx.roundBusy?.()) return this.fail(offer.tid, 'BUSY', 'a training round is running');
    if (this.finishing === offer.tid) return; // already past the last block: states follow
    if (!offer.sig || !verifyEd25519(this.ctx.publicKey, Buffer.from(offerSigningText(offer)), Buffer.from(offer.sig, 'base64'))) {
      return this.fail(offer.tid, 'BAD_SIGNATURE', 'the offer is not signed by this installation');
    }
    if (offer.kind === 'delta') {
      if (!offer.digest) return this.fail(offer.tid, 'BAD_OFFER', 'a delta offer needs the digest the model must have after it');
      if (!this.activePackage()) return this.state(offer.tid, 'failed', { code: 'VERSION_MISMATCH', message: 'no confirmed model is active to apply the delta to' });
    } else {
      const held = this.slots.slotHolding(offer.sha256);
      if (held) return void this.alreadyHeld(offer, held);
    }
    const slotBytes = Math.floor(this.ctx.memory().flashFree / 2);
    if (offer.size > slotBytes) return this.fail(offer.tid, 'INSUFFICIENT_MEMORY', `package of ${offer.size} bytes does not fit a ${slotBytes}-byte slot`);
    if (this.receiver?.offer.tid === offer.tid && !this.receiver.finished) return this.receiver.start();
    const stored = this.slots.beginTransfer(offer);
    this.receiver = this.newReceiver(offer, stored);
    const faults = this.ctx.faults();
    this.powerCutAt = faults.transferPowerLoss > 0 && this.ctx.rng.next() < faults.transferPowerLoss ? this.receiver.bitmap.count + 1 + Math.floor(this.ctx.rng.next() * Math.max(1, offer.blockCount - this.receiver.bitmap.count - 1)) : null;
    this.receiver.start();
  }

  private newReceiver(offer: TransferOffer, stored?: Uint8Array): TransferReceiver {
    return new TransferReceiver(
      offer,
      {
        send: (m) => this.send(m),
        write: (i, p) => this.slots.writeBlock(offer, i, p),
        persist: (b) => this.slots.writeBitmap(b.toBytes()),
        complete: () => void this.finish(offer),
        failed: () => {
          this.receiver = null;
        },
        now: () => this.ctx.now(),
      },
      {},
      stored,
    );
  }

  private onBlock(payload: Buffer): void {
    const r = this.receiver;
    if (!r || r.finished) return;
    const faults = this.ctx.faults();
    if (faults.blockLoss > 0 && this.ctx.rng.next() < faults.blockLoss) {
      this.stats.blocksLostByFault++;
      return;
    }
    let frame = payload;
    if (faults.blockCorruption > 0 && this.ctx.rng.next() < faults.blockCorruption && payload.byteLength > 20) {
      this.stats.blocksCorruptedByFault++;
      frame = Buffer.from(payload);
      frame[frame.byteLength - 1] ^= 0x5a;
    }
    const before = r.stats.received;
    r.onFrame(frame);
    if (r.stats.received > before) this.stats.blocksReceived++;
    if (this.powerCutAt !== null && r.bitmap.count >= this.powerCutAt && !r.finished) {
      this.powerCutAt = null;
      this.ctx.powerLoss();
    }
  }

  private onCancel(tid: string, reason: string | undefined): void {
    if (this.receiver?.offer.tid !== tid && this.slots.pendingTransfer()?.offer.tid !== tid) return;
    this.receiver = null;
    this.slots.dropTransfer();
    this.state(tid, 'canceled', { message: reason ?? 'canceled by the app' });
  }

  /** The device already holds these bytes: confirm at once, or activate the slot that holds them. */
  private async alreadyHeld(offer: TransferOffer, slot: SlotName): Promise<void> {
    if (this.slots.activeSlot === slot && !this.slots.onTrial) {
      this.state(offer.tid, 'confirmed', { slot, message: 'already running this package' });
      return;
    }
    this.finishing = offer.tid;
    const generation = this.generation;
    try {
      await this.trialBoot(slot, offer.tid);
    } catch (err) {
      if (generation === this.generation) this.fail(offer.tid, 'STORAGE_ERROR', (err as Error).message, this.slots.activeSlot ?? undefined);
    } finally {
      if (generation === this.generation) this.finishing = null;
    }
  }

  // --- after the last block --------------------------------------------------------------------

  private async finish(offer: TransferOffer): Promise<void> {
    this.finishing = offer.tid;
    const generation = this.generation;
    this.receiver = null;
    this.stats.transfersCompleted++;
    try {
      this.state(offer.tid, 'verifying');
      const bytes = this.slots.readTransfer();
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (sha256 !== offer.sha256) return this.reject(offer.tid, 'HASH_MISMATCH', `assembled bytes hash to ${sha256.slice(0, 12)}…, the offer says ${offer.sha256.slice(0, 12)}…`);
      if (offer.kind === 'delta') return await this.applyAggregate(offer, bytes, sha256, generation);
      const check = this.verify(bytes);
      if ('code' in check) return this.reject(offer.tid, check.code, check.message);
      const slot = this.slots.inactiveSlot();
      this.state(offer.tid, 'installing', { slot });
      this.slots.install(slot, bytes, { sha256, model: check.model, size: bytes.byteLength });
      this.slots.dropTransfer();
      this.stats.installs++;
      await this.trialBoot(slot, offer.tid);
    } catch (err) {
      if (generation === this.generation) this.reject(offer.tid, 'STORAGE_ERROR', (err as Error).message);
    } finally {
      if (generation === this.generation) this.finishing = null;
    }
  }

  /** An aggregated delta received whole: apply it over the active model, check the digest, keep it in the slot's chain, confirm. */
  private async applyAggregate(offer: TransferOffer, bytes: Uint8Array, sha256: string, generation: number): Promise<void> {
    const slot = this.slots.activeSlot;
    const source = this.activePackage();
    if (!slot || !source) return this.rejectCode(offer.tid, 'VERSION_MISMATCH', 'no confirmed model is active to apply the delta to');
    this.state(offer.tid, 'installing', { slot });
    // The apply may wait behind a thousand simulated devices in the compute pool; firmware writing
    // Flash says it is alive the same way, so the app's idle timeout measures silence, not the queue.
    const alive = setInterval(() => this.state(offer.tid, 'installing', { slot }), INSTALLING_HEARTBEAT_MS);
    let result: DeltaApplyResult;
    try {
      result = await this.ctx.applyDelta!(source, bytes, offer.digest!);
    } finally {
      clearInterval(alive);
    }
    if (generation !== this.generation) return;
    if (!result.ok) return this.rejectCode(offer.tid, result.code, result.message);
    this.slots.addDelta(slot, sha256, bytes);
    this.slots.dropTransfer();
    this.stats.installs++;
    this.state(offer.tid, 'confirmed', { slot });
    this.ctx.slotsChanged();
  }

  /** Like {@link reject}, with a code of rounds (VERSION_MISMATCH) as well as the transfer's. */
  private rejectCode(tid: string, code: string, message: string): void {
    this.stats.rejected++;
    this.slots.dropTransfer();
    this.state(tid, 'failed', { code, message, ...(this.slots.activeSlot ? { slot: this.slots.activeSlot } : {}) });
  }

  /** Checks the package as firmware would before writing it to a slot. */
  private verify(bytes: Uint8Array): { model: string } | { code: TransferErrorCode; message: string } {
    let manifest;
    try {
      manifest = readPackage(bytes, this.ctx.publicKey).manifest;
    } catch (err) {
      if (!(err instanceof PackageError)) throw err;
      const code: TransferErrorCode = err.code === 'bad-signature' || err.code === 'wrong-key' ? 'BAD_SIGNATURE' : err.code === 'hash-mismatch' ? 'HASH_MISMATCH' : 'BAD_PACKAGE';
      return { code, message: err.message };
    }
    const { profile } = this.ctx;
    if (manifest.target.mcu !== profile.id) return { code: 'INCOMPATIBLE_TARGET', message: `package is for ${manifest.target.mcu}, this device is ${profile.id}` };
    if (manifest.runtime.version !== RUNTIME_VERSION) return { code: 'INCOMPATIBLE_TARGET', message: `package needs runtime ${manifest.runtime.version}, this device runs ${RUNTIME_VERSION}` };
    const { sramFree } = this.ctx.memory();
    if (manifest.memoryPlan.arenaBytes > sramFree) {
      return { code: 'INSUFFICIENT_MEMORY', message: `the model's arena needs ${manifest.memoryPlan.arenaBytes} bytes, ${sramFree} bytes of SRAM are free` };
    }
    if (!manifest.selfTest) return { code: 'BAD_PACKAGE', message: 'the package carries no self-test vector' };
    return { model: `${manifest.model.id}@${manifest.model.version}` };
  }

  /** Activates `slot` on trial, runs its self-test, confirms or returns to the previous slot. */
  private async trialBoot(slot: SlotName, tid?: string): Promise<'confirmed' | 'failed'> {
    const bytes = this.slots.read(slot);
    const expected = readPackage(bytes, this.ctx.publicKey).manifest.selfTest?.outputSha256;
    this.slots.activate(slot);
    if (tid) this.state(tid, 'activated', { slot });
    this.ctx.slotsChanged();
    if (tid) this.state(tid, 'self_test', { slot });
    const generation = this.generation;
    let digest: string;
    try {
      digest = await this.ctx.selfTest(bytes, this.ctx.faults().miscompute);
    } catch (err) {
      // The self-test could not run (the compute pool stopped or failed): never keep a slot on trial.
      if (generation === this.generation) {
        this.slots.revert();
        this.ctx.slotsChanged();
      }
      throw new Error(`the self-test could not run: ${(err as Error).message}`, { cause: err });
    }
    if (generation !== this.generation) return 'failed'; // the power was cut meanwhile: the next boot reverts
    if (digest !== expected) {
      this.stats.selfTestFailures++;
      this.slots.revert();
      this.ctx.slotsChanged();
      const message = `self-test output hashes to ${digest.slice(0, 12)}…, the package expects ${expected?.slice(0, 12) ?? 'none'}…; back on slot ${this.slots.activeSlot ?? 'none'}`;
      this.ctx.event('self_test_failed', 'error', message, { slot });
      if (tid) this.fail(tid, 'SELF_TEST_FAILED', message, this.slots.activeSlot ?? undefined);
      return 'failed';
    }
    this.slots.confirm();
    this.ctx.slotsChanged();
    if (tid) this.state(tid, 'confirmed', { slot });
    return 'confirmed';
  }

  private reject(tid: string, code: TransferErrorCode, message: string): void {
    this.stats.rejected++;
    this.slots.dropTransfer();
    this.fail(tid, code, message, this.slots.activeSlot ?? undefined);
  }

  private fail(tid: string, code: TransferErrorCode, message: string, slot?: SlotName): void {
    this.state(tid, 'failed', { code, message, ...(slot ? { slot } : {}) });
  }

  private state(tid: string, state: TransferState, extra: { code?: string; message?: string; slot?: SlotName } = {}): void {
    this.send({ v: 1, t: 'state', tid, state, ...extra, ts: this.ctx.now() });
  }

  private send(message: TransferControl): void {
    this.ctx.publish(transferTopic(this.ctx.deviceId, 'dev', 'ctl'), encodeTransferControl(message));
  }
}
