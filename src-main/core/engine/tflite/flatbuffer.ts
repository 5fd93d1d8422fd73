import { ModelFormatError } from './errors';

/**
 * A bounds-checked reader of FlatBuffers tables over a DataView. Every access checks its range and
 * throws ModelFormatError instead of reading garbage, and every step is charged to a work budget, so
 * that a malformed or hostile file fails in bounded time (vector lengths are also bounded by the
 * bytes they would need, which keeps the total work linear in the file size).
 */
export class FlatBufferReader {
  private readonly view: DataView;
  /** Units of work spent so far (one per table field, vector element or byte block touched). */
  work = 0;

  constructor(
    readonly bytes: Uint8Array,
    private readonly maxWork: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  charge(units: number): void {
    this.work += units;
    if (this.work > this.maxWork) throw new ModelFormatError(`model too complex: work budget of ${this.maxWork} exceeded`);
  }

  check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0) throw new ModelFormatError(`${what}: invalid offset ${pos} (+${size})`);
    if (pos + size > this.bytes.byteLength) {
      // Data referred to past the end: what a cut-off download or copy looks like.
      throw new ModelFormatError(`truncated: ${what} at offset ${pos} (+${size}) lies past the end of the ${this.bytes.byteLength}-byte file`, 'truncated');
    }
  }

  u8(pos: number): number {
    this.check(pos, 1, 'byte');
    return this.view.getUint8(pos);
  }
  u16(pos: number): number {
    this.check(pos, 2, 'uint16');
    return this.view.getUint16(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4, 'int32');
    return this.view.getInt32(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4, 'uint32');
    return this.view.getUint32(pos, true);
  }
  f32(pos: number): number {
    this.check(pos, 4, 'float32');
    return this.view.getFloat32(pos, true);
  }
  /** A 64-bit integer that must fit a JS number exactly. */
  i64(pos: number, what: string): number {
    this.check(pos, 8, what);
    const v = this.view.getBigInt64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER)) throw new ModelFormatError(`${what}: 64-bit value ${v} out of range`);
    return Number(v);
  }

  /** Position of the root table. */
  root(): number {
    return this.indirect(0, 'root table');
  }

  /** Follows the uoffset stored at `pos`. */
  indirect(pos: number, what: string): number {
    const target = pos + this.u32(pos);
    this.check(target, 4, what);
    return target;
  }

  /** Absolute position of field `slot` of the table at `table`, or 0 when absent. */
  field(table: number, slot: number): number {
    this.charge(1);
    const vtable = table - this.i32(table);
    this.check(vtable, 4, 'vtable');
    const vtableSize = this.u16(vtable);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new ModelFormatError(`vtable at ${vtable}: invalid size ${vtableSize}`);
    this.check(vtable, vtableSize, 'vtable');
    const entry = 4 + 2 * slot;
    if (entry >= vtableSize) return 0;
    const offset = this.u16(vtable + entry);
    if (offset === 0) return 0;
    const tableSize = this.u16(vtable + 2);
    if (offset >= tableSize) throw new ModelFormatError(`table at ${table}: field ${slot} at offset ${offset} beyond the table size ${tableSize}`);
    return table + offset;
  }

  /** Sub-table in field `slot`, or 0. */
  table(table: number, slot: number, what: string): number {
    const p = this.field(table, slot);
    return p ? this.indirect(p, what) : 0;
  }

  /** Vector in field `slot`: position of its first element and its length (elements of `elemSize` bytes), or null. */
  vector(table: number, slot: number, elemSize: number, what: string): { pos: number; length: number } | null {
    const p = this.field(table, slot);
    if (!p) return null;
    const v = this.indirect(p, what);
    const length = this.u32(v);
    this.check(v + 4, length * elemSize, `${what} (${length} elements)`);
    return { pos: v + 4, length };
  }

  scalarU8(table: number, slot: number, fallback: number): number {
    const p = this.field(table, slot);
    return p ? this.u8(p) : fallback;
  }
  scalarI32(table: number, slot: number, fallback: number): number {
    const p = this.field(table, slot);
    return p ? this.i32(p) : fallback;
  }
  scalarU32(table: number, slot: number, fallback: number): number {
    const p = this.field(table, slot);
    return p ? this.u32(p) : fallback;
  }
  scalarF32(table: number, slot: number, fallback: number): number {
    const p = this.field(table, slot);
    return p ? this.f32(p) : fallback;
  }
  scalarI64(table: number, slot: number, fallback: number, what: string): number {
    const p = this.field(table, slot);
    return p ? this.i64(p, what) : fallback;
  }

  /** Positions of the tables of a vector of tables. */
  tables(table: number, slot: number, what: string): number[] {
    const v = this.vector(table, slot, 4, what);
    if (!v) return [];
    this.charge(v.length);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.indirect(v.pos + 4 * i, what);
    return out;
  }

  int32s(table: number, slot: number, what: string): number[] | null {
    const v = this.vector(table, slot, 4, what);
    if (!v) return null;
    this.charge(v.length);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.view.getInt32(v.pos + 4 * i, true);
    return out;
  }

  float32s(table: number, slot: number, what: string): number[] | null {
    const v = this.vector(table, slot, 4, what);
    if (!v) return null;
    this.charge(v.length);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.view.getFloat32(v.pos + 4 * i, true);
    return out;
  }

  int64s(table: number, slot: number, what: string): number[] | null {
    const v = this.vector(table, slot, 8, what);
    if (!v) return null;
    this.charge(v.length);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.i64(v.pos + 8 * i, what);
    return out;
  }

  /** Bytes of a [ubyte] vector, as a copy the caller owns. */
  byteVector(table: number, slot: number, what: string): Uint8Array | null {
    const v = this.vector(table, slot, 1, what);
    if (!v) return null;
    this.charge(1 + (v.length >>> 12));
    return this.bytes.slice(v.pos, v.pos + v.length);
  }

  string(table: number, slot: number, what: string): string | null {
    const v = this.vector(table, slot, 1, what);
    if (!v) return null;
    this.charge(1 + (v.length >>> 6));
    return new TextDecoder().decode(this.bytes.subarray(v.pos, v.pos + v.length));
  }
}
