import type { Logger } from '../host/logger';

export type { Logger };

/** A logger that drops everything (tests, CLI commands whose output is data). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
