import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_HEADER_BYTES,
  BlockBitmap,
  MAX_TRANSFER_CONTROL_BYTES,
  blockCountOf,
  decodeBlockFrame,
  decodeTransferControl,
  encodeBlockFrame,
  encodeTransferControl,
  offerSigningText,
  parseTransferLevels,
  transferTopic,
  type TransferOffer,
} from '../../../src-main/core/protocol';

const tid = '0123456789abcdef';

describe('block frames', () => {
  it('round-trips index, last flag, transfer id and payload with a 20-byte header', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const frame = encodeBlockFrame(tid, 41, payload, true);
    expect(frame.byteLength).toBe(BLOCK_HEADER_BYTES + 300);
    expect(frame.subarray(0, 4)).toEqual(Buffer.from([0x54, 0x42, 1, 1]));
    expect(frame.readUInt32BE(12)).toBe(41);
    expect(frame.readUInt32BE(16)).toBe(crc32(payload));
    const d = decodeBlockFrame(frame);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.frame).toMatchObject({ transferId: tid, index: 41, last: true });
    expect(Buffer.from(d.frame.payload)).toEqual(Buffer.from(payload));
  });

  it('refuses a corrupted payload by its CRC, naming the block', () => {
    const frame = encodeBlockFrame(tid, 3, new Uint8Array(64).fill(9), false);
    frame[BLOCK_HEADER_BYTES + 10] ^= 0x40;
    expect(decodeBlockFrame(frame)).toMatchObject({ ok: false, code: 'BAD_CRC', message: expect.stringContaining('block 3') });
  });

  it('refuses short frames, other magics, versions and reserved flags', () => {
    const good = encodeBlockFrame(tid, 0, new Uint8Array(8), false);
    expect(decodeBlockFrame(good.subarray(0, 19))).toMatchObject({ ok: false, code: 'SHORT_FRAME' });
    const badMagic = Buffer.from(good);
    badMagic[0] = 0x7b; // '{': a JSON message on the block topic
    expect(decodeBlockFrame(badMagic)).toMatchObject({ ok: false, code: 'BAD_MAGIC' });
    const badVersion = Buffer.from(good);
    badVersion[2] = 2;
    expect(decodeBlockFrame(badVersion)).toMatchObject({ ok: false, code: 'UNSUPPORTED_FRAME_VERSION' });
    const badFlags = Buffer.from(good);
    badFlags[3] = 0x80;
    expect(decodeBlockFrame(badFlags)).toMatchObject({ ok: false, code: 'BAD_FLAGS' });
  });

  it('an empty payload is a valid (last) block', () => {
    const d = decodeBlockFrame(encodeBlockFrame(tid, 0, new Uint8Array(0), true));
    expect(d.ok && d.frame.payload.byteLength).toBe(0);
  });

  it('refuses to encode an invalid transfer id or index', () => {
    expect(() => encodeBlockFrame('XYZ', 0, new Uint8Array(1), false)).toThrow(/16 lowercase hex/);
    expect(() => encodeBlockFrame(tid, -1, new Uint8Array(1), false)).toThrow(/outside/);
  });
});

describe('block bitmap', () => {
  it('tracks held blocks, duplicates and completion', () => {
    const b = new BlockBitmap(10);
    expect(b.set(0)).toBe(true);
    expect(b.set(0)).toBe(false);
    expect(b.set(9)).toBe(true);
    expect(b.count).toBe(2);
    expect(b.has(9) && !b.has(8)).toBe(true);
    for (let i = 0; i < 10; i++) b.set(i);
    expect(b.complete).toBe(true);
    expect(() => b.has(10)).toThrow(/outside 0..9/);
  });

  it('lists the first missing blocks as runs, within a limit and skipping blocks in flight', () => {
    const b = new BlockBitmap(20);
    for (const i of [0, 1, 5, 6, 7]) b.set(i);
    expect(b.missingRuns(100)).toEqual([
      [2, 3],
      [8, 12],
    ]);
    expect(b.missingRuns(4)).toEqual([
      [2, 3],
      [8, 1],
    ]);
    expect(b.missingRuns(4, new Set([3, 8]))).toEqual([
      [2, 1],
      [4, 1],
      [9, 2],
    ]);
  });

  it('restores from its stored bytes and from base64, LSB first', () => {
    const b = new BlockBitmap(12);
    b.set(0);
    b.set(3);
    b.set(11);
    expect(Array.from(b.toBytes())).toEqual([0b0000_1001, 0b0000_1000]);
    const r = BlockBitmap.fromBase64(12, b.toBase64());
    expect(r.count).toBe(3);
    expect(r.missingRuns(100)).toEqual(b.missingRuns(100));
  });

  it('refuses stored bytes that do not describe the transfer', () => {
    expect(() => new BlockBitmap(12, new Uint8Array(1))).toThrow(/needs 2/);
    expect(() => new BlockBitmap(12, Uint8Array.from([0, 0x10]))).toThrow(/past the last/);
    expect(() => new BlockBitmap(0)).toThrow(/at least one block/);
  });

  it('counts blocks of a size', () => {
    expect(blockCountOf(300_000, 4096)).toBe(74);
    expect(blockCountOf(4096, 4096)).toBe(1);
    expect(blockCountOf(4097, 4096)).toBe(2);
  });
});

describe('transfer control messages', () => {
  const offer: TransferOffer = {
    v: 1,
    t: 'offer',
    tid,
    kind: 'package',
    size: 300_000,
    blockSize: 4096,
    blockCount: 74,
    sha256: 'a'.repeat(64),
    sig: Buffer.alloc(64, 1).toString('base64'),
    window: 16,
    slot: 'b',
    model: { id: 'vww', version: 3 },
    ts: 1,
  };

  it('round-trips every message kind', () => {
    const messages = [
      offer,
      { v: 1, t: 'req', tid, want: [[0, 8], [20, 8]], ts: 2 },
      { v: 1, t: 'state', tid, state: 'receiving', have: 16, bitmap: new BlockBitmap(74).toBase64(), ts: 3 },
      { v: 1, t: 'state', tid, state: 'failed', code: 'SELF_TEST_FAILED', message: 'output hash differs', slot: 'a', ts: 4 },
      { v: 1, t: 'cancel', tid, reason: 'deployment aborted', ts: 5 },
    ] as const;
    for (const m of messages) expect(decodeTransferControl(encodeTransferControl(m as never))).toEqual({ ok: true, value: m });
  });

  it('refuses an offer whose block count disagrees with its size', () => {
    const d = decodeTransferControl(JSON.stringify({ ...offer, blockCount: 73 }));
    expect(d).toMatchObject({ ok: false, error: { code: 'INVALID', message: expect.stringContaining('blockCount') } });
  });

  it('refuses requests over the window, failed states without a code, unknown types', () => {
    const big = decodeTransferControl(JSON.stringify({ v: 1, t: 'req', tid, want: [[0, 65]], ts: 0 }));
    expect(big).toMatchObject({ ok: false, error: { message: expect.stringContaining('at most 64 blocks') } });
    expect(decodeTransferControl(JSON.stringify({ v: 1, t: 'state', tid, state: 'failed', ts: 0 }))).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('code') },
    });
    expect(decodeTransferControl(JSON.stringify({ v: 1, t: 'nope', tid, ts: 0 }))).toMatchObject({ ok: false, error: { code: 'INVALID' } });
    expect(decodeTransferControl('x'.repeat(MAX_TRANSFER_CONTROL_BYTES + 1))).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    expect(decodeTransferControl('{"v":1,')).toMatchObject({ ok: false, error: { code: 'MALFORMED_JSON' } });
  });

  it('signs the fields a receiver checks before taking a block', () => {
    expect(offerSigningText(offer)).toBe(`tinyfleet-xfer-offer/1\n${tid}\npackage\n${'a'.repeat(64)}\n300000`);
  });
});

describe('transfer topics', () => {
  it('names who publishes and the channel', () => {
    expect(transferTopic('dev-1', 'app', 'blk')).toBe('tf/v1/dev-1/xfer/app/blk');
    expect(transferTopic('dev-1', 'dev', 'ctl')).toBe('tf/v1/dev-1/xfer/dev/ctl');
    expect(() => transferTopic('Dev 1', 'app', 'ctl')).toThrow(/invalid device id/);
    expect(parseTransferLevels(['dev', 'blk'])).toEqual({ from: 'dev', channel: 'blk' });
    expect(parseTransferLevels(['dev'])).toBeNull();
    expect(parseTransferLevels(['x', 'blk'])).toBeNull();
  });
});
