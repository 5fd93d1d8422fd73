/** Device clocks further off than this are not trusted; the receive time is used instead. */
const MAX_CLOCK_SKEW_PAST_MS = 24 * 3_600_000;
const MAX_CLOCK_SKEW_FUTURE_MS = 5 * 60_000;

/**
 * The time to store for a device timestamp: the device's own when it is plausible, else `now`
 * (a device without a synchronized clock sends 0, and some clocks are simply wrong).
 */
export function trustedDeviceTime(ts: number, now: number): number {
  return ts > now - MAX_CLOCK_SKEW_PAST_MS && ts < now + MAX_CLOCK_SKEW_FUTURE_MS ? ts : now;
}
