import { JOB_ID_PATTERN, MAX_NAME_LENGTH } from '../protocol';
import type { DeltaTensor, SparseDelta } from './sparse-delta';

/**
 * The binary format of a sparse delta, version 1 (docs/rounds.md has the table). Little-endian
 * like the MCUs that write it:
 *
 *   "TFDL" · u8 format version (1) · u8 flags (0) · 32 bytes base SHA-256 · u8 job id length ·
 *   job id (ASCII) · u32 round · u32 samples · f32 loss · f32 accuracy before · f32 accuracy after ·
 *   varint tensor count · per tensor, ascending ids: varint tensor id · u8 dtype (1 int8, 2 int32) ·
 *   varint covered channels · varint entry count · the entries' indices as varints (the first
 *   index, then each gap minus one) · their values (1 byte each for int8, 4 for int32).
 *
 * Varints are unsigned LEB128 of at most 5 bytes (values up to 2^32 - 1). Gaps minus one make a
 * repeated or descending index unrepresentable. Values are absolute, not differences: a delta
 * applied twice gives the same model, and its ranges can be checked without the base.
 */
export const DELTA_MAGIC = 'TFDL';
export const DELTA_FORMAT_VERSION = 1;
/** Largest delta accepted, bytes (far above any model an MCU holds). */
export const MAX_DELTA_BYTES = 16 * 1024 * 1024;
/** Most tensor sections in one delta. */
export const MAX_DELTA_TENSORS = 4096;

const DTYPE_CODES = { int8: 1, int32: 2 } as const;

/** Why bytes are not a delta. */
export type DeltaDecodeErrorCode = 'TOO_LARGE' | 'BAD_MAGIC' | 'UNSUPPORTED_FORMAT' | 'TRUNCATED' | 'MALFORMED';

/** The result of decoding untrusted delta bytes; {@link decodeDelta} never throws. */
export type DecodedDelta = { ok: true; value: SparseDelta } | { ok: false; error: { code: DeltaDecodeErrorCode; message: string } };

/** Serializes a delta (throws on a delta that breaks the format's rules: a caller bug). */
export function encodeDelta(delta: SparseDelta): Uint8Array {
  const job = Buffer.from(delta.round.job, 'ascii');
  if (!JOB_ID_PATTERN.test(delta.round.job) || job.length > MAX_NAME_LENGTH) throw new Error(`job id ${JSON.stringify(delta.round.job)} cannot go into a delta`);
  if (!/^[0-9a-f]{64}$/.test(delta.baseSha256)) throw new Error(`base SHA-256 ${JSON.stringify(delta.baseSha256)} is not 64 lowercase hex characters`);
  const w = new ByteWriter();
  w.bytes(Buffer.from(DELTA_MAGIC, 'ascii'));
  w.u8(DELTA_FORMAT_VERSION);
  w.u8(0);
  w.bytes(Buffer.from(delta.baseSha256, 'hex'));
  w.u8(job.length);
  w.bytes(job);
  w.u32(delta.round.round);
  w.u32(delta.metrics.samples);
  w.f32(delta.metrics.loss);
  w.f32(delta.metrics.accuracyBefore);
  w.f32(delta.metrics.accuracyAfter);
  w.varint(delta.tensors.length);
  let previous = -1;
  for (const t of delta.tensors) {
    if (t.tensor <= previous) throw new Error(`delta tensor sections must be in ascending tensor id (${t.tensor} after ${previous})`);
    if (t.indices.length !== t.values.length) throw new Error(`delta tensor ${t.tensor} has ${t.indices.length} indices but ${t.values.length} values`);
    previous = t.tensor;
    w.varint(t.tensor);
    w.u8(DTYPE_CODES[t.dtype]);
    w.varint(t.channels);
    w.varint(t.indices.length);
    let last = -1;
    for (const i of t.indices) {
      if (i <= last) throw new Error(`delta tensor ${t.tensor} indices must be strictly increasing (${i} after ${last})`);
      w.varint(last < 0 ? i : i - last - 1);
      last = i;
    }
    if (t.dtype === 'int8') for (const v of t.values) w.i8(v);
    else for (const v of t.values) w.i32(v);
  }
  return w.finish();
}

/** Decodes untrusted delta bytes; never throws. Checks the format only: see validateDelta for the rest. */
export function decodeDelta(bytes: Uint8Array): DecodedDelta {
  if (bytes.byteLength > MAX_DELTA_BYTES) return { ok: false, error: { code: 'TOO_LARGE', message: `delta of ${bytes.byteLength} bytes exceeds the ${MAX_DELTA_BYTES}-byte limit` } };
  try {
    return { ok: true, value: readDelta(new ByteReader(bytes)) };
  } catch (err) {
    if (err instanceof DeltaFormatError) return { ok: false, error: { code: err.code, message: err.message } };
    return { ok: false, error: { code: 'MALFORMED', message: `delta could not be read: ${(err as Error).message}` } };
  }
}

class DeltaFormatError extends Error {
  constructor(
    readonly code: DeltaDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function readDelta(r: ByteReader): SparseDelta {
  if (r.remaining < 4 || Buffer.from(r.take(4)).toString('latin1') !== DELTA_MAGIC) throw new DeltaFormatError('BAD_MAGIC', `not a sparse delta (no ${DELTA_MAGIC} magic)`);
  const version = r.u8();
  if (version !== DELTA_FORMAT_VERSION) throw new DeltaFormatError('UNSUPPORTED_FORMAT', `delta format version ${version}; this app reads version ${DELTA_FORMAT_VERSION}`);
  const flags = r.u8();
  if (flags !== 0) throw new DeltaFormatError('MALFORMED', `unknown delta flags 0x${flags.toString(16)}`);
  const baseSha256 = Buffer.from(r.take(32)).toString('hex');
  const jobLength = r.u8();
  const job = Buffer.from(r.take(jobLength)).toString('latin1');
  if (jobLength === 0 || jobLength > MAX_NAME_LENGTH || !JOB_ID_PATTERN.test(job)) throw new DeltaFormatError('MALFORMED', `job id ${JSON.stringify(job)} is not 1-${MAX_NAME_LENGTH} of [A-Za-z0-9_.:-]`);
  const round = r.u32();
  const samples = r.u32();
  const loss = r.f32();
  const accuracyBefore = r.f32();
  const accuracyAfter = r.f32();
  const count = r.varint();
  if (count > MAX_DELTA_TENSORS) throw new DeltaFormatError('MALFORMED', `${count} tensor sections exceed the limit of ${MAX_DELTA_TENSORS}`);
  const tensors: DeltaTensor[] = [];
  let previous = -1;
  for (let s = 0; s < count; s++) {
    const tensor = r.varint();
    if (tensor <= previous) throw new DeltaFormatError('MALFORMED', `tensor sections must be in strictly ascending tensor id (${tensor} after ${previous})`);
    previous = tensor;
    const code = r.u8();
    const dtype = code === DTYPE_CODES.int8 ? 'int8' : code === DTYPE_CODES.int32 ? 'int32' : null;
    if (!dtype) throw new DeltaFormatError('MALFORMED', `tensor ${tensor} has unknown dtype code ${code}`);
    const channels = r.varint();
    if (channels < 1) throw new DeltaFormatError('MALFORMED', `tensor ${tensor} covers no channels`);
    const entries = r.varint();
    const valueBytes = dtype === 'int8' ? 1 : 4;
    // Every entry takes at least one index byte and its value: refuse counts the bytes cannot hold before allocating.
    if (entries * (1 + valueBytes) > r.remaining) throw new DeltaFormatError('TRUNCATED', `tensor ${tensor} claims ${entries} entries; only ${r.remaining} bytes are left`);
    const indices = new Uint32Array(entries);
    let last = -1;
    for (let n = 0; n < entries; n++) {
      const index = last < 0 ? r.varint() : last + 1 + r.varint();
      if (index > 0xffff_ffff) throw new DeltaFormatError('MALFORMED', `tensor ${tensor} index overflows 32 bits`);
      indices[n] = last = index;
    }
    const values = new Int32Array(entries);
    for (let n = 0; n < entries; n++) values[n] = dtype === 'int8' ? r.i8() : r.i32();
    tensors.push({ tensor, dtype, channels, indices, values });
  }
  if (r.remaining !== 0) throw new DeltaFormatError('MALFORMED', `${r.remaining} bytes after the last tensor section`);
  return { baseSha256, round: { job, round }, metrics: { samples, loss, accuracyBefore, accuracyAfter }, tensors };
}

class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  private need(n: number): number {
    if (this.remaining < n) throw new DeltaFormatError('TRUNCATED', `delta ends at byte ${this.bytes.byteLength}, ${n - this.remaining} bytes short`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  u8 = () => this.view.getUint8(this.need(1));
  i8 = () => this.view.getInt8(this.need(1));
  u32 = () => this.view.getUint32(this.need(4), true);
  i32 = () => this.view.getInt32(this.need(4), true);
  f32 = () => this.view.getFloat32(this.need(4), true);

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffff_ffff) throw new DeltaFormatError('MALFORMED', `varint at byte ${this.pos - 1} exceeds 32 bits`);
        return value;
      }
    }
    throw new DeltaFormatError('MALFORMED', `varint ending at byte ${this.pos} is longer than 5 bytes`);
  }
}

class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private room(n: number): number {
    if (this.pos + n > this.buf.byteLength) {
      const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.pos + n));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.room(b.byteLength));
  }

  // room() may grow the buffer, so it runs before the view is read.
  private at(n: number): [DataView, number] {
    const at = this.room(n);
    return [this.view, at];
  }

  u8 = (v: number) => {
    const [view, at] = this.at(1);
    view.setUint8(at, v);
  };
  i8 = (v: number) => {
    const [view, at] = this.at(1);
    view.setInt8(at, v);
  };
  u32 = (v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new Error(`${v} is not a u32`);
    const [view, at] = this.at(4);
    view.setUint32(at, v, true);
  };
  i32 = (v: number) => {
    const [view, at] = this.at(4);
    view.setInt32(at, v, true);
  };
  f32 = (v: number) => {
    const [view, at] = this.at(4);
    view.setFloat32(at, v, true);
  };

  varint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new Error(`varint ${v} is not a u32`);
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.u8(v);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
