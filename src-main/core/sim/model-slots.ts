import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TransferOffer, type SlotInfo } from '../protocol';

/** A model slot: `a` or `b`. */
export type SlotName = 'a' | 'b';

const SlotMeta = z.object({
  sha256: z.string(),
  model: z.string(),
  size: z.number().int(),
  /** SHA-256 of the aggregated deltas applied in place over the package, oldest first (federated rounds). */
  deltas: z.array(z.string()).optional(),
  /** Personalization: the kept updates over the package and its deltas (the last links of the effective model), the latest session. */
  overlay: z.object({ session: z.string(), chain: z.array(z.string()) }).optional(),
});
/** What a slot holds. */
export type SlotMeta = z.infer<typeof SlotMeta>;

const SlotState = z.object({
  active: z.enum(['a', 'b']).nullable(),
  /** True between activation and confirmation: a boot in this state reverts to `previous`. */
  trial: z.boolean(),
  previous: z.enum(['a', 'b']).nullable(),
  slots: z.object({ a: SlotMeta.nullable(), b: SlotMeta.nullable() }),
});
type SlotState = z.infer<typeof SlotState>;

const EMPTY: SlotState = { active: null, trial: false, previous: null, slots: { a: null, b: null } };

/**
 * A simulated device's model storage, kept on disk so it survives power losses the way a real
 * device's Flash does: two package slots (A/B), which one is active and whether it is confirmed,
 * and at most one partly received transfer (its offer, the bytes so far, and the block bitmap).
 *
 * Writes are ordered for power loss: a block is written before the bitmap marks it, a slot file
 * before the state names it, and the state file is replaced atomically (write, then rename). A
 * boot that finds the active slot still on trial (activated, never confirmed) returns to the
 * previous slot, as MCUboot does with an image that was test-booted but not confirmed.
 */
export class ModelSlots {
  private state: SlotState = structuredClone(EMPTY);

  constructor(readonly dir: string) {}

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Reads the stored state (a boot); reverts an unconfirmed activation. Returns the slot reverted from, if any. */
  boot(): { revertedFrom: SlotName | null } {
    mkdirSync(this.dir, { recursive: true });
    const stored = this.file('slots.json');
    this.state = existsSync(stored) ? SlotState.parse(JSON.parse(readFileSync(stored, 'utf8'))) : structuredClone(EMPTY);
    if (!this.state.trial) return { revertedFrom: null };
    const from = this.state.active;
    this.state.active = this.state.previous;
    this.state.trial = false;
    this.save();
    return { revertedFrom: from };
  }

  /** The slots as the birth message reports them. */
  info(): SlotInfo[] {
    return (['a', 'b'] as const).map((slot) => {
      const meta = this.state.slots[slot];
      const active = this.state.active === slot;
      return {
        slot,
        model: meta?.model ?? null,
        active,
        ...(meta ? { sha256: meta.sha256 } : {}),
        ...(active ? { confirmed: !this.state.trial } : {}),
      };
    });
  }

  /** The slot a new package goes to: the one not active. */
  inactiveSlot(): SlotName {
    return this.state.active === 'a' ? 'b' : 'a';
  }

  get activeSlot(): SlotName | null {
    return this.state.active;
  }

  get onTrial(): boolean {
    return this.state.trial;
  }

  meta(slot: SlotName): SlotMeta | null {
    return this.state.slots[slot];
  }

  /** The package bytes of a slot. */
  read(slot: SlotName): Buffer {
    if (!this.state.slots[slot]) throw new Error(`slot ${slot} is empty`);
    return readFileSync(this.file(`${slot}.tfpk`));
  }

  /** The aggregated deltas applied over a slot's package, oldest first. */
  readDeltas(slot: SlotName): Buffer[] {
    return (this.state.slots[slot]?.deltas ?? []).map((sha) => readFileSync(this.file(`${slot}-${sha}.tfdl`)));
  }

  /** Adds an aggregated delta to a slot's chain (the file first, then the state naming it); a new package in the slot drops the chain. */
  addDelta(slot: SlotName, sha256: string, bytes: Uint8Array): void {
    const meta = this.state.slots[slot];
    if (!meta) throw new Error(`slot ${slot} is empty`);
    this.writeAtomicBytes(`${slot}-${sha256}.tfdl`, bytes);
    meta.deltas = [...(meta.deltas ?? []), sha256];
    this.save();
  }

  /** The personalization overlay's deltas of a slot, oldest first (empty without one). */
  readOverlay(slot: SlotName): Buffer[] {
    return (this.state.slots[slot]?.overlay?.chain ?? []).map((sha) => readFileSync(this.file(`${slot}-${sha}.tfdl`)));
  }

  /**
   * Adds a personalization session's kept update to a slot's overlay (the file first, then the state
   * naming it). A later session's update goes on top: it was trained on the model the earlier one made.
   */
  addOverlay(slot: SlotName, session: string, sha256: string, bytes: Uint8Array): void {
    const meta = this.state.slots[slot];
    if (!meta) throw new Error(`slot ${slot} is empty`);
    this.writeAtomicBytes(`${slot}-${sha256}.tfdl`, bytes);
    meta.overlay = { session, chain: [...(meta.overlay?.chain ?? []), sha256] };
    this.save();
  }

  /** Drops a slot's personalization overlay (the state first, then its files). */
  dropOverlay(slot: SlotName): boolean {
    const meta = this.state.slots[slot];
    const chain = meta?.overlay?.chain;
    if (!meta || !chain) return false;
    delete meta.overlay;
    this.save();
    for (const sha of chain) if (!meta.deltas?.includes(sha)) rmSync(this.file(`${slot}-${sha}.tfdl`), { force: true });
    return true;
  }

  /** The slot holding the package with this SHA-256, if any. */
  slotHolding(sha256: string): SlotName | null {
    if (this.state.slots.a?.sha256 === sha256) return 'a';
    if (this.state.slots.b?.sha256 === sha256) return 'b';
    return null;
  }

  // --- the partly received transfer ---------------------------------------------------------

  /** The transfer held partly, with its stored bitmap. */
  pendingTransfer(): { offer: TransferOffer; bitmap: Uint8Array } | null {
    const offerFile = this.file('xfer.json');
    if (!existsSync(offerFile)) return null;
    const parsed = TransferOffer.safeParse(JSON.parse(readFileSync(offerFile, 'utf8')));
    if (!parsed.success || !existsSync(this.file('xfer.map'))) {
      this.dropTransfer();
      return null;
    }
    const bitmap = readFileSync(this.file('xfer.map'));
    if (bitmap.byteLength !== Math.ceil(parsed.data.blockCount / 8)) {
      this.dropTransfer();
      return null;
    }
    return { offer: parsed.data, bitmap };
  }

  /**
   * Starts storing `offer`: resumes the stored bitmap when it is the same transfer of the same
   * bytes, otherwise discards whatever was held and starts empty.
   */
  beginTransfer(offer: TransferOffer): Uint8Array | undefined {
    const pending = this.pendingTransfer();
    if (pending && pending.offer.tid === offer.tid && pending.offer.sha256 === offer.sha256 && pending.offer.size === offer.size && pending.offer.blockSize === offer.blockSize) {
      return pending.bitmap;
    }
    this.dropTransfer();
    writeFileSync(this.file('xfer.part'), Buffer.alloc(0));
    writeFileSync(this.file('xfer.map'), Buffer.alloc(Math.ceil(offer.blockCount / 8)));
    this.writeAtomic('xfer.json', JSON.stringify(offer));
    return undefined;
  }

  /** Writes one block at its place in the partial file. */
  writeBlock(offer: TransferOffer, index: number, payload: Uint8Array): void {
    const fd = openSync(this.file('xfer.part'), 'r+');
    try {
      writeSync(fd, payload, 0, payload.byteLength, index * offer.blockSize);
    } finally {
      closeSync(fd);
    }
  }

  /** Persists the bitmap in place (same size every time, so no rename is needed). */
  writeBitmap(bitmap: Uint8Array): void {
    const fd = openSync(this.file('xfer.map'), 'r+');
    try {
      writeSync(fd, bitmap, 0, bitmap.byteLength, 0);
    } finally {
      closeSync(fd);
    }
  }

  /** The assembled bytes of the transfer. */
  readTransfer(): Buffer {
    return readFileSync(this.file('xfer.part'));
  }

  /** Forgets the partly received transfer. */
  dropTransfer(): void {
    for (const f of ['xfer.json', 'xfer.map', 'xfer.part']) rmSync(this.file(f), { force: true });
  }

  // --- slots ---------------------------------------------------------------------------------

  /** Writes a verified package into `slot` (never the active one). */
  install(slot: SlotName, bytes: Uint8Array, meta: SlotMeta): void {
    if (slot === this.state.active) throw new Error(`slot ${slot} is active; install into the inactive slot`);
    this.writeAtomicBytes(`${slot}.tfpk`, bytes);
    this.state.slots[slot] = meta;
    this.save();
  }

  /** Makes `slot` active on trial; {@link confirm} makes it stick, a boot before that reverts it. */
  activate(slot: SlotName): void {
    if (!this.state.slots[slot]) throw new Error(`slot ${slot} is empty`);
    if (this.state.active === slot && !this.state.trial) return;
    this.state.previous = this.state.active === slot ? this.state.previous : this.state.active;
    this.state.active = slot;
    this.state.trial = true;
    this.save();
  }

  /** Confirms the active slot (its self-test passed). */
  confirm(): void {
    if (!this.state.trial) return;
    this.state.trial = false;
    this.save();
  }

  /** Returns to the previous slot (a failed self-test); false when there is none. */
  revert(): boolean {
    this.state.active = this.state.previous;
    this.state.trial = false;
    this.save();
    return this.state.active !== null;
  }

  private save(): void {
    this.writeAtomic('slots.json', JSON.stringify(this.state));
  }

  private writeAtomic(name: string, text: string): void {
    this.writeAtomicBytes(name, Buffer.from(text, 'utf8'));
  }

  private writeAtomicBytes(name: string, bytes: Uint8Array): void {
    const tmp = this.file(`${name}.tmp`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, this.file(name));
  }
}
