import { z } from 'zod';
import { TRANSFER_ID_PATTERN } from './block-frame';
import { decodeJson, type Payload } from './codec';
import type { Decoded } from './errors';
import { MAX_NAME_LENGTH, MAX_TEXT_LENGTH } from './limits';
import { Timestamp, Version } from './messages';

/**
 * Control messages of the block transfer (protocol v1.1, docs/protocol.md §12), JSON on the
 * `xfer/app/ctl` (app → device) and `xfer/dev/ctl` (device → app) topics. The same four messages
 * serve both directions: the sender offers, the receiver requests blocks and reports its state,
 * either side may cancel. Model packages go down; training deltas go up.
 */

/** Smallest, default and largest block payload, bytes. 4 KiB fits a small MCU's receive buffer. */
export const MIN_BLOCK_SIZE = 256;
export const DEFAULT_BLOCK_SIZE = 4096;
export const MAX_BLOCK_SIZE = 32_768;
/** Most blocks a receiver may have requested and not yet received (its window). */
export const MAX_WINDOW = 64;
/** Largest transfer, in blocks (its bitmap stays within one control message). */
export const MAX_TRANSFER_BLOCKS = 16_384;
/** Largest control message, bytes. */
export const MAX_TRANSFER_CONTROL_BYTES = 4096;

/** What a transfer carries: a signed model package (down) or a training delta (up or down). */
export const TransferKind = z.enum(['package', 'delta']);
export type TransferKind = z.infer<typeof TransferKind>;

export const TransferId = z.string().regex(TRANSFER_ID_PATTERN, 'transfer ids are 16 lowercase hex characters');
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 digests are 64 lowercase hex characters');
const Slot = z.enum(['a', 'b']);

/**
 * Error codes of a failed transfer or installation, in `state` messages with `state: "failed"`.
 * Firmware may send other upper-case codes; the app shows them as they are.
 */
export const TransferErrorCode = z.enum([
  'BAD_OFFER', // the offer failed its schema or its numbers disagree (size, block size, count)
  'BAD_SIGNATURE', // the offer's or the package's Ed25519 signature does not verify with the installation key
  'HASH_MISMATCH', // the assembled bytes' SHA-256 differs from the offer's
  'BAD_PACKAGE', // the bytes are not a valid package (format, manifest or graph), signature aside
  'INCOMPATIBLE_TARGET', // the package is for another MCU, runtime version or rounding mode
  'INSUFFICIENT_MEMORY', // the model's arena does not fit free SRAM, or the package does not fit the slot
  'SELF_TEST_FAILED', // the installed model's self-test output differs from the package's expected hash
  'BUSY', // another transfer or a training round is running
  'TRANSFER_TIMEOUT', // blocks stopped arriving for longer than the receiver waits
  'UNKNOWN_TRANSFER', // a request or block names a transfer the peer does not have
  'CANCELED', // the other side canceled
  'STORAGE_ERROR', // the receiver could not write the slot or its partial file
  'VERSION_MISMATCH', // an aggregated delta's base is not the device's current model digest
  'REJECTED', // the app refused an uploaded delta; the message names the validation code
  'UNKNOWN_ROUND', // an uploaded delta names a job or round the app does not run (or no longer)
  'DUPLICATE', // the app already has this device's delta for the round
]);
export type TransferErrorCode = z.infer<typeof TransferErrorCode>;

/**
 * Where a receiver is with a transfer. A device receiving a package goes accepted → receiving →
 * verifying → installing → self_test → activated → confirmed (or failed at any step, staying on
 * its previous slot); the app receiving a delta goes accepted → receiving → received (or failed).
 */
export const TransferState = z.enum(['accepted', 'receiving', 'verifying', 'installing', 'self_test', 'activated', 'confirmed', 'received', 'failed', 'canceled']);
export type TransferState = z.infer<typeof TransferState>;

/** Terminal states: nothing more happens to the transfer. */
export const TERMINAL_TRANSFER_STATES: ReadonlySet<TransferState> = new Set(['confirmed', 'received', 'failed', 'canceled']);

/** The text an offer's `sig` signs (UTF-8), so a receiver can refuse a forged offer before any block. */
export function offerSigningText(o: { tid: string; kind: TransferKind; sha256: string; size: number }): string {
  return `tinyfleet-xfer-offer/1\n${o.tid}\n${o.kind}\n${o.sha256}\n${o.size}`;
}

/** The sender announces a transfer. */
export const TransferOffer = z
  .object({
    v: Version,
    t: z.literal('offer'),
    tid: TransferId,
    kind: TransferKind,
    size: z.number().int().min(1),
    blockSize: z.number().int().min(MIN_BLOCK_SIZE).max(MAX_BLOCK_SIZE),
    blockCount: z.number().int().min(1).max(MAX_TRANSFER_BLOCKS),
    sha256: Sha256Hex,
    /** Ed25519 over {@link offerSigningText}, base64 (64 bytes). Required for packages sent by the app. */
    sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'sig is a base64 Ed25519 signature (64 bytes)').optional(),
    /** Most blocks the receiver may request at a time. */
    window: z.number().int().min(1).max(MAX_WINDOW),
    /** The slot a package goes to (the device's inactive one). */
    slot: Slot.optional(),
    /** What the package or delta holds, `id@version` style parts. */
    model: z.object({ id: z.string().min(1).max(128), version: z.number().int().min(1) }).optional(),
    /** Context of a delta (the federated job and round it belongs to), opaque to the transfer. */
    round: z.object({ job: z.string().min(1).max(MAX_NAME_LENGTH), round: z.number().int().min(0) }).optional(),
    /** v1.2, aggregated deltas (app → device): the modelDigest the device's model must have after applying. */
    digest: Sha256Hex.optional(),
    ts: Timestamp,
  })
  .refine((o) => o.blockCount === Math.ceil(o.size / o.blockSize), { message: 'blockCount must be ceil(size / blockSize)', path: ['blockCount'] });
export type TransferOffer = z.infer<typeof TransferOffer>;

/** The receiver asks for blocks: `[start, count]` runs, at most the offer's window in total. */
export const TransferRequest = z.object({
  v: Version,
  t: z.literal('req'),
  tid: TransferId,
  want: z
    .array(z.tuple([z.number().int().min(0), z.number().int().min(1)]))
    .min(1)
    .max(MAX_WINDOW)
    .refine((runs) => runs.reduce((n, [, c]) => n + c, 0) <= MAX_WINDOW, `at most ${MAX_WINDOW} blocks per request`),
  ts: Timestamp,
});
export type TransferRequest = z.infer<typeof TransferRequest>;

/** The receiver reports progress, success or failure. */
export const TransferStateMessage = z
  .object({
    v: Version,
    t: z.literal('state'),
    tid: TransferId,
    state: TransferState,
    /** Blocks held, and the bitmap itself (base64, docs §12) when resuming. */
    have: z.number().int().min(0).max(MAX_TRANSFER_BLOCKS).optional(),
    bitmap: z.string().max(((MAX_TRANSFER_BLOCKS / 8) * 4) / 3 + 4).optional(),
    code: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
    message: z.string().max(MAX_TEXT_LENGTH).optional(),
    /** The slot now active (after `activated`/`confirmed`, or the one kept after a failure). */
    slot: Slot.optional(),
    ts: Timestamp,
  })
  .refine((s) => s.state !== 'failed' || s.code !== undefined, { message: 'a failed state needs a code', path: ['code'] });
export type TransferStateMessage = z.infer<typeof TransferStateMessage>;

/** Either side stops a transfer; the receiver discards its partial bytes. */
export const TransferCancel = z.object({
  v: Version,
  t: z.literal('cancel'),
  tid: TransferId,
  reason: z.string().max(MAX_TEXT_LENGTH).optional(),
  ts: Timestamp,
});
export type TransferCancel = z.infer<typeof TransferCancel>;

/** Anything on a transfer control topic. */
export const TransferControl = z.discriminatedUnion('t', [TransferOffer, TransferRequest, TransferStateMessage, TransferCancel]);
export type TransferControl = z.infer<typeof TransferControl>;

/** Decodes an untrusted transfer control payload (either direction); never throws. */
export function decodeTransferControl(payload: Payload): Decoded<TransferControl> {
  return decodeJson('xfer control', TransferControl, MAX_TRANSFER_CONTROL_BYTES, payload);
}

/** Serializes a control message; throws when it exceeds the limit (a sender bug, not bad input). */
export function encodeTransferControl(message: TransferControl): string {
  const text = JSON.stringify(message);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_TRANSFER_CONTROL_BYTES) throw new Error(`xfer control message of ${size} bytes exceeds the ${MAX_TRANSFER_CONTROL_BYTES}-byte limit`);
  return text;
}
