/** Where core services write diagnostics; `console` fits. */
export type Logger = Pick<Console, 'info' | 'warn' | 'error'>;

/** A logger that drops everything (tests, CLI commands whose output is data). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
