/**
 * Where the core reads the time, in milliseconds. Services take one so tests can drive time instead
 * of waiting for it: wall time (`systemClock`, ms since the epoch) for what is stored or shown,
 * a monotonic one (`performance.now`) for schedulers.
 */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
