/**
 * A token bucket over bytes: `take` spends what the rate has refilled since the last call, up to a
 * burst of a quarter second (at least one block), so a rollout cannot flood the broker and the
 * telemetry path behind it.
 */
export class ByteRate {
  private tokens: number;
  private last: number;

  constructor(
    private bytesPerSecond: number,
    private readonly minBurst: number,
    now: number,
  ) {
    this.tokens = this.capacity;
    this.last = now;
  }

  private get capacity(): number {
    return Math.max(this.minBurst, this.bytesPerSecond / 4);
  }

  /** Changes the rate from now on. */
  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Whether `bytes` may go now; when so, they are spent. */
  take(bytes: number, now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}

/** Bytes per second over a sliding window (in quarter-second buckets), for throughput and ETA. */
export class ThroughputMeter {
  private readonly buckets: Array<[number, number]> = [];

  constructor(private readonly windowMs = 5000) {}

  add(bytes: number, now: number): void {
    const slot = Math.floor(now / 250);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last[0] === slot) last[1] += bytes;
    else this.buckets.push([slot, bytes]);
    this.trim(now);
  }

  bytesPerSecond(now: number): number {
    this.trim(now);
    const total = this.buckets.reduce((n, [, b]) => n + b, 0);
    return total / (this.windowMs / 1000);
  }

  private trim(now: number): void {
    const oldest = Math.floor((now - this.windowMs) / 250);
    while (this.buckets.length > 0 && this.buckets[0][0] < oldest) this.buckets.shift();
  }
}
