import type { TransferOffer } from '../protocol';

/**
 * The seam between the rounds engine and the block transfer (implemented by the transfer side,
 * rounds-transfer, on the transfer hub). The engine never touches MQTT transfer topics itself: it
 * decides whether an offered upload belongs to a running round, gets the assembled bytes once their
 * SHA-256 matched, and asks for an aggregated delta to be sent to a device.
 */

/** The engine's answer to a device's delta offer, before any block is requested. */
export type UploadDecision =
  | { accept: true }
  /** `UNKNOWN_ROUND` (no such running round, or the device is not in it), `DUPLICATE` (already received), ... */
  | { accept: false; code: string; message: string };

/** The engine's verdict on received bytes: `rejected` answers the device `failed` with REJECTED and the validation code. */
export type UploadVerdict = { ok: true } | { ok: false; code: string; message: string };

/** What the engine registers with the transfer side. */
export interface UploadHandler {
  /** A device offered a delta upload (offer kind `delta` with `round`); decides before any block moves. */
  offer(deviceId: string, offer: TransferOffer): UploadDecision;
  /**
   * The whole upload arrived and its SHA-256 equals the offer's. The transfer side answers the
   * device `received` when the verdict is ok, `failed` REJECTED (message naming the code) otherwise.
   * Called at most once per transfer id; after an app restart the device resumes the same tid.
   */
  delivered(deviceId: string, offer: TransferOffer, bytes: Uint8Array): Promise<UploadVerdict> | UploadVerdict;
}

/** Device → app deltas. */
export interface DeltaUploads {
  /** Installs the engine's handler (one; a second call replaces it). Returns an uninstall function. */
  onUpload(handler: UploadHandler): () => void;
}

/** How sending an aggregated delta to one device ended. */
export type DownloadOutcome =
  | { ok: true; bytesSent: number }
  /** The device's failure code (VERSION_MISMATCH, HASH_MISMATCH, BAD_SIGNATURE, ...) or TRANSFER_TIMEOUT / DEVICE_OFFLINE / CANCELED. */
  | { ok: false; code: string; message: string; bytesSent: number };

/** App → device deltas: signed offer kind `delta` with the round and the digest the device must reach. */
export interface DeltaDownloads {
  send(deviceId: string, bytes: Uint8Array, context: { round: { job: string; round: number }; digest: string; signal?: AbortSignal }): Promise<DownloadOutcome>;
}
