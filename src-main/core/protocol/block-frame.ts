import { crc32 } from 'node:zlib';

/**
 * Binary block frames of the block transfer (protocol v1.1, docs/protocol.md §12). A frame is a
 * fixed 20-byte header followed by the block's bytes, so a device can parse it into a static buffer
 * without a decoder:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 2 | magic `TB` (0x54 0x42) |
 * | 2 | 1 | frame version (1) |
 * | 3 | 1 | flags (bit 0: last block of the transfer; other bits zero) |
 * | 4 | 8 | transfer id (the 16 hex characters of the offer, as 8 raw bytes) |
 * | 12 | 4 | block index, big-endian |
 * | 16 | 4 | CRC-32 (IEEE, as zlib) of the payload, big-endian |
 * | 20 | n | payload: `blockSize` bytes, fewer only in the last block |
 *
 * The CRC lets a receiver drop a corrupted block and request it again instead of finding out from
 * the whole file's SHA-256 and starting over.
 */

/** Bytes before a frame's payload. */
export const BLOCK_HEADER_BYTES = 20;
/** Frame layout version carried in byte 2. */
export const BLOCK_FRAME_VERSION = 1;
const MAGIC_0 = 0x54; // 'T'
const MAGIC_1 = 0x42; // 'B'
const FLAG_LAST = 0x01;

/** Transfer ids: 64 random bits as 16 lowercase hex characters. */
export const TRANSFER_ID_PATTERN = /^[0-9a-f]{16}$/;

/** One decoded block frame. `payload` is a view into the frame's buffer (no copy). */
export interface BlockFrame {
  transferId: string;
  index: number;
  last: boolean;
  payload: Uint8Array;
}

/** Why a frame was refused. */
export type BlockFrameErrorCode = 'SHORT_FRAME' | 'BAD_MAGIC' | 'UNSUPPORTED_FRAME_VERSION' | 'BAD_FLAGS' | 'BAD_CRC';

/** The result of decoding an untrusted frame; never throws. */
export type DecodedFrame = { ok: true; frame: BlockFrame } | { ok: false; code: BlockFrameErrorCode; message: string };

/** Encodes one block; `transferId` must match {@link TRANSFER_ID_PATTERN}. */
export function encodeBlockFrame(transferId: string, index: number, payload: Uint8Array, last: boolean): Buffer {
  if (!TRANSFER_ID_PATTERN.test(transferId)) throw new Error(`transfer id "${transferId}" is not 16 lowercase hex characters`);
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) throw new Error(`block index ${index} is outside 0..2^32-1`);
  const frame = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + payload.byteLength);
  frame[0] = MAGIC_0;
  frame[1] = MAGIC_1;
  frame[2] = BLOCK_FRAME_VERSION;
  frame[3] = last ? FLAG_LAST : 0;
  frame.write(transferId, 4, 8, 'hex');
  frame.writeUInt32BE(index, 12);
  frame.writeUInt32BE(crc32(payload), 16);
  frame.set(payload, BLOCK_HEADER_BYTES);
  return frame;
}

/** Decodes an untrusted frame: header fields, then the payload's CRC-32. */
export function decodeBlockFrame(data: Uint8Array): DecodedFrame {
  if (data.byteLength < BLOCK_HEADER_BYTES) {
    return { ok: false, code: 'SHORT_FRAME', message: `block frame of ${data.byteLength} bytes is shorter than its ${BLOCK_HEADER_BYTES}-byte header` };
  }
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) return { ok: false, code: 'BAD_MAGIC', message: 'block frame does not start with "TB"' };
  if (buf[2] !== BLOCK_FRAME_VERSION) {
    return { ok: false, code: 'UNSUPPORTED_FRAME_VERSION', message: `block frame version ${buf[2]} is not ${BLOCK_FRAME_VERSION}` };
  }
  if ((buf[3] & ~FLAG_LAST) !== 0) return { ok: false, code: 'BAD_FLAGS', message: `block frame flags 0x${buf[3].toString(16)} set reserved bits` };
  const payload = buf.subarray(BLOCK_HEADER_BYTES);
  const expected = buf.readUInt32BE(16);
  const actual = crc32(payload);
  if (expected !== actual) {
    return { ok: false, code: 'BAD_CRC', message: `block ${buf.readUInt32BE(12)} failed its CRC-32 (0x${actual.toString(16)}, frame says 0x${expected.toString(16)})` };
  }
  return { ok: true, frame: { transferId: buf.toString('hex', 4, 12), index: buf.readUInt32BE(12), last: (buf[3] & FLAG_LAST) !== 0, payload } };
}
