/**
 * Which blocks of a transfer a receiver holds: one bit per block, bit `i % 8` of byte `i >> 3`
 * (least significant first). A device persists exactly these bytes beside the partial file, so a
 * transfer resumes after a reboot with only the missing blocks, and the app reads the same bytes in
 * a `have` field (base64) to know what is left.
 */
export class BlockBitmap {
  private readonly bits: Uint8Array;
  private held = 0;

  /** An empty bitmap of `blockCount` blocks, or one restored from stored bytes. */
  constructor(
    readonly blockCount: number,
    stored?: Uint8Array,
  ) {
    if (!Number.isInteger(blockCount) || blockCount < 1) throw new Error(`a transfer has at least one block, not ${blockCount}`);
    const bytes = Math.ceil(blockCount / 8);
    if (stored) {
      if (stored.byteLength !== bytes) throw new Error(`bitmap of ${stored.byteLength} bytes does not describe ${blockCount} blocks (needs ${bytes})`);
      const tail = blockCount % 8;
      if (tail !== 0 && (stored[bytes - 1] & (0xff << tail) & 0xff) !== 0) throw new Error('bitmap marks blocks past the last one');
      this.bits = Uint8Array.from(stored);
      for (const b of this.bits) this.held += popcount8(b);
    } else {
      this.bits = new Uint8Array(bytes);
    }
  }

  /** Restores a bitmap sent as base64 (a `have` field); throws naming the problem. */
  static fromBase64(blockCount: number, base64: string): BlockBitmap {
    return new BlockBitmap(blockCount, Buffer.from(base64, 'base64'));
  }

  /** True when block `index` is held. */
  has(index: number): boolean {
    this.check(index);
    return (this.bits[index >> 3] & (1 << (index & 7))) !== 0;
  }

  /** Marks block `index` held; returns false when it already was (a duplicate). */
  set(index: number): boolean {
    if (this.has(index)) return false;
    this.bits[index >> 3] |= 1 << (index & 7);
    this.held++;
    return true;
  }

  /** How many blocks are held. */
  get count(): number {
    return this.held;
  }

  /** True when every block is held. */
  get complete(): boolean {
    return this.held === this.blockCount;
  }

  /**
   * The first missing blocks, at most `limit` of them, as `[start, count]` runs in ascending order,
   * skipping `exclude` (blocks already requested and still in flight).
   */
  missingRuns(limit: number, exclude?: ReadonlySet<number>): Array<[number, number]> {
    const runs: Array<[number, number]> = [];
    let taken = 0;
    for (let i = 0; i < this.blockCount && taken < limit; i++) {
      if (this.has(i) || exclude?.has(i)) continue;
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] === i) last[1]++;
      else runs.push([i, 1]);
      taken++;
    }
    return runs;
  }

  /** The stored form (a copy). */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.bits);
  }

  /** The stored form as base64, for a `have` field. */
  toBase64(): string {
    return Buffer.from(this.bits).toString('base64');
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.blockCount) throw new Error(`block ${index} is outside 0..${this.blockCount - 1}`);
  }
}

function popcount8(b: number): number {
  let n = 0;
  for (let v = b; v; v &= v - 1) n++;
  return n;
}

/** Number of blocks of `size` bytes in `blockSize` pieces (the last may be shorter). */
export function blockCountOf(size: number, blockSize: number): number {
  return Math.max(1, Math.ceil(size / blockSize));
}
