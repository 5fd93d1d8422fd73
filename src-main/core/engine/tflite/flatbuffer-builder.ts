/**
 * A small FlatBuffers writer that lays objects out front to back: a parent is written first with
 * its offset fields reserved, each child is appended after it and linked back, so every uoffset
 * points forward as the format requires. Each table's vtable sits right before the table.
 */
export type ScalarType = 'u8' | 'i32' | 'u32' | 'f32' | 'u64';

export interface FieldSpec {
  slot: number;
  type: ScalarType | 'ref';
  /** Value of a scalar field (ignored for refs, which are linked later). */
  value?: number;
}

const SIZE: Record<ScalarType | 'ref', number> = { u8: 1, i32: 4, u32: 4, f32: 4, u64: 8, ref: 4 };

export class FlatBufferBuilder {
  private buf = new Uint8Array(1 << 12);
  private view = new DataView(this.buf.buffer);
  length = 0;

  /** Grows the buffer as needed (so take the position before touching `view`). */
  private reserve(n: number): number {
    while (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  /** Pads with zeros until `(length + extra) % alignment === 0`. */
  align(alignment: number, extra = 0): void {
    while ((this.length + extra) % alignment !== 0) this.reserve(1);
  }

  bytes(data: Uint8Array): number {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
    return at;
  }

  setU32(pos: number, v: number): void {
    this.view.setUint32(pos, v, true);
  }

  /** Writes a table; returns its position and the position of each field by slot (refs are linked through these). */
  table(fields: FieldSpec[]): { pos: number; at: Map<number, number> } {
    const slots = fields.length ? Math.max(...fields.map((f) => f.slot)) + 1 : 0;
    const ordered = [...fields].sort((a, b) => SIZE[b.type] - SIZE[a.type]);
    let off = 4;
    const layout = ordered.map((f) => {
      const size = SIZE[f.type];
      off = Math.ceil(off / size) * size;
      const at = off;
      off += size;
      return { f, at };
    });
    const tableSize = Math.ceil(off / 4) * 4;
    const vtableSize = 4 + 2 * slots;
    this.align(2);
    const vt = this.reserve(vtableSize);
    this.view.setUint16(vt, vtableSize, true);
    this.view.setUint16(vt + 2, tableSize, true);
    for (const { f, at } of layout) this.view.setUint16(vt + 4 + 2 * f.slot, at, true);
    this.align(8);
    const pos = this.reserve(tableSize);
    this.view.setInt32(pos, pos - vt, true);
    const positions = new Map<number, number>();
    for (const { f, at } of layout) {
      const p = pos + at;
      positions.set(f.slot, p);
      const v = f.value ?? 0;
      switch (f.type) {
        case 'u8': this.view.setUint8(p, v); break;
        case 'i32': this.view.setInt32(p, v, true); break;
        case 'u32': this.view.setUint32(p, v, true); break;
        case 'f32': this.view.setFloat32(p, v, true); break;
        case 'u64': this.view.setBigUint64(p, BigInt(v), true); break;
        case 'ref': break;
      }
    }
    return { pos, at: positions };
  }

  /** A vector whose elements start aligned to `elementAlign`; returns the position of its length prefix. */
  private vectorHeader(count: number, elementAlign: number): number {
    this.align(Math.max(4, elementAlign), 4);
    const at = this.reserve(4);
    this.view.setUint32(at, count, true);
    return at;
  }

  vectorI32(values: readonly number[]): number {
    const at = this.vectorHeader(values.length, 4);
    for (const v of values) {
      const p = this.reserve(4);
      this.view.setInt32(p, v, true);
    }
    return at;
  }

  vectorF32(values: readonly number[]): number {
    const at = this.vectorHeader(values.length, 4);
    for (const v of values) {
      const p = this.reserve(4);
      this.view.setFloat32(p, v, true);
    }
    return at;
  }

  vectorI64(values: readonly number[]): number {
    const at = this.vectorHeader(values.length, 8);
    for (const v of values) {
      const p = this.reserve(8);
      this.view.setBigInt64(p, BigInt(v), true);
    }
    return at;
  }

  vectorBytes(data: Uint8Array, elementAlign = 16): number {
    const at = this.vectorHeader(data.length, elementAlign);
    this.bytes(data);
    return at;
  }

  string(s: string): number {
    const utf8 = new TextEncoder().encode(s);
    const at = this.vectorHeader(utf8.length, 1);
    this.bytes(utf8);
    this.reserve(1); // NUL terminator
    return at;
  }

  /** A vector of offsets; returns its position and the slot position of each element, to link later. */
  vectorRefs(count: number): { pos: number; slots: number[] } {
    const pos = this.vectorHeader(count, 4);
    const slots = Array.from({ length: count }, () => this.reserve(4));
    return { pos, slots };
  }

  /** Points the uoffset at `from` to `to` (which must come later). */
  link(from: number, to: number): void {
    if (to <= from) throw new Error('flatbuffer offsets must point forward');
    this.view.setUint32(from, to - from, true);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
