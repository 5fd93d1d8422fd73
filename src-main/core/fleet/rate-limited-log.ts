import type { Logger } from '../common/logger';

/**
 * Logs at most one line per key per window and says how many were suppressed, so a device
 * flooding garbage cannot flood the log.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  warn(key: string, message: string): void {
    const now = this.clock();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.windowMs) {
      entry.suppressed++;
      return;
    }
    const suffix = entry?.suppressed ? ` (${entry.suppressed} similar messages suppressed)` : '';
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > 10_000) this.last.clear();
    this.logger.warn(message + suffix);
  }
}
