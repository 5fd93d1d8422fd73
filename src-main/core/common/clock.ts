/**
 * Where the core reads the time: milliseconds since the epoch. Services take one (default
 * `systemClock`) so tests can drive time instead of waiting for it.
 */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
