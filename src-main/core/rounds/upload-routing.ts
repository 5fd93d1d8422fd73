import type { DeltaUploads, UploadHandler } from './delta-transfers';

/** Personalization session ids start with this; federated jobs' with `fl-`. */
export const SESSION_ID_PREFIX = 'ps-';

/**
 * Shares the one device → app upload seam between federated rounds and personalization sessions:
 * an offer goes to the sessions' handler when its `round.job` is a session id, else to the rounds'.
 * Each side installs its handler on its own view as if it were the only one.
 */
export function routeUploads(inner: DeltaUploads): { rounds: DeltaUploads; sessions: DeltaUploads } {
  const handlers: { rounds: UploadHandler | null; sessions: UploadHandler | null } = { rounds: null, sessions: null };
  const pick = (job: string | undefined) => (job?.startsWith(SESSION_ID_PREFIX) ? handlers.sessions : handlers.rounds);
  let uninstall: (() => void) | null = null;
  const view = (side: keyof typeof handlers): DeltaUploads => ({
    onUpload(handler) {
      handlers[side] = handler;
      uninstall ??= inner.onUpload({
        offer: (deviceId, offer) => pick(offer.round?.job)?.offer(deviceId, offer) ?? { accept: false, code: 'UNKNOWN_ROUND', message: 'no federated round or personalization session takes uploads now' },
        delivered: (deviceId, offer, bytes) => pick(offer.round?.job)?.delivered(deviceId, offer, bytes) ?? { ok: false, code: 'UNKNOWN_ROUND', message: 'the round is no longer running' },
      });
      return () => {
        if (handlers[side] === handler) handlers[side] = null;
      };
    },
  });
  return { rounds: view('rounds'), sessions: view('sessions') };
}
