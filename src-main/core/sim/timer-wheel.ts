import type { Clock } from '../common/clock';
/**
 * One hashed timer wheel drives every simulated device, instead of one Node timer per device and
 * purpose. Timers are intrusive list nodes owned by their device and reused, so rescheduling the
 * next telemetry sample allocates nothing.
 */

/** A reusable timer; belongs to one wheel. */
export class WheelTimer {
  /** Wheel time (ms) when it fires; meaningful while scheduled. */
  due = 0;
  /** @internal bucket index, -1 when not scheduled */
  slot = -1;
  /** @internal */
  next: WheelTimer | null = null;
  /** @internal */
  prev: WheelTimer | null = null;

  constructor(readonly fire: () => void) {}

  get scheduled(): boolean {
    return this.slot >= 0;
  }
}

export interface TimerWheelOptions {
  /** Resolution in ms (timers fire at most this late, plus event-loop delay). */
  tickMs?: number;
  /** Buckets per revolution; timers further away than a revolution stay put and are re-checked. */
  slots?: number;
  /** Monotonic clock in ms. */
  now?: Clock;
}

/** Schedules many timers on a single interval. Call `start()` to run it and `stop()` to end it. */
export class TimerWheel {
  private readonly tickMs: number;
  private readonly buckets: Array<WheelTimer | null>;
  private readonly clock: Clock;
  private cursor: number;
  private interval: NodeJS.Timeout | null = null;
  private count = 0;

  constructor(options: TimerWheelOptions = {}) {
    this.tickMs = options.tickMs ?? 10;
    this.buckets = new Array<WheelTimer | null>(options.slots ?? 1024).fill(null);
    this.clock = options.now ?? (() => performance.now());
    this.cursor = Math.floor(this.clock() / this.tickMs);
  }

  /** Current wheel time in ms. */
  now(): number {
    return this.clock();
  }

  /** Number of scheduled timers. */
  get size(): number {
    return this.count;
  }

  /** Starts ticking (idempotent). */
  start(): void {
    if (this.interval) return;
    this.cursor = Math.floor(this.clock() / this.tickMs);
    this.interval = setInterval(() => this.advance(), this.tickMs);
  }

  /** Stops ticking; scheduled timers stay scheduled. */
  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
  }

  /** (Re)schedules `timer` to fire `delayMs` from now. */
  after(timer: WheelTimer, delayMs: number): void {
    this.at(timer, this.clock() + Math.max(0, delayMs));
  }

  /**
   * Reschedules a periodic timer one period after its previous due time, so periods do not drift
   * with event-loop delay; a timer that fell more than a period behind restarts from now.
   */
  every(timer: WheelTimer, periodMs: number): void {
    const now = this.clock();
    const next = timer.due + periodMs;
    this.at(timer, next < now - periodMs ? now + periodMs : next);
  }

  /** (Re)schedules `timer` at wheel time `due`. */
  at(timer: WheelTimer, due: number): void {
    if (timer.slot >= 0) this.cancel(timer);
    timer.due = due;
    // The first tick at or after `due` (so the timer is due when its bucket comes up), and never
    // a bucket the wheel has already passed.
    const tick = Math.max(Math.ceil(due / this.tickMs), this.cursor + 1);
    const slot = tick % this.buckets.length;
    timer.slot = slot;
    timer.prev = null;
    timer.next = this.buckets[slot];
    if (timer.next) timer.next.prev = timer;
    this.buckets[slot] = timer;
    this.count++;
  }

  /** Unschedules `timer` (no-op when it is not scheduled). */
  cancel(timer: WheelTimer): void {
    if (timer.slot < 0) return;
    if (timer.prev) timer.prev.next = timer.next;
    else this.buckets[timer.slot] = timer.next;
    if (timer.next) timer.next.prev = timer.prev;
    timer.next = timer.prev = null;
    timer.slot = -1;
    this.count--;
  }

  /** Fires every timer that is due; called by the interval, public for tests. */
  advance(): void {
    const now = this.clock();
    const target = Math.floor(now / this.tickMs);
    // After a long stall visiting each bucket once is enough: every due timer is found.
    const from = Math.max(this.cursor + 1, target - this.buckets.length + 1);
    for (let tick = from; tick <= target; tick++) {
      this.cursor = tick;
      const slot = tick % this.buckets.length;
      let timer = this.buckets[slot];
      while (timer) {
        const next = timer.next;
        if (timer.due > now) {
          timer = next;
          continue;
        }
        this.cancel(timer);
        try {
          timer.fire();
        } catch (err) {
          // One device's bug must not stop the wheel for all others.
          process.emitWarning(`simulator timer failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        // The callback may have cancelled `next` (a device dropping its other timers): start over.
        timer = next && next.slot === slot ? next : this.buckets[slot];
      }
    }
    this.cursor = Math.max(this.cursor, target);
  }
}
