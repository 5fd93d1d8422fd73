/** Schedules one callback; returns nothing useful. Injected so tests can drive frames by hand. */
export type FrameScheduler = (callback: () => void) => void;

/**
 * Runs `callback` on the next animation frame, or after 250 ms when the page is hidden (browsers
 * pause animation frames in background tabs, and batches must not pile up meanwhile). Without a
 * DOM (stores tested under Node) it waits one 60 Hz frame.
 */
export const animationFrameScheduler: FrameScheduler = (callback) => {
  // Read through globalThis: this module is also type-checked and run by Node, which has no DOM.
  const host = globalThis as { requestAnimationFrame?: (cb: () => void) => unknown; document?: { hidden: boolean } };
  if (!host.requestAnimationFrame) setTimeout(callback, 16);
  else if (host.document?.hidden) setTimeout(callback, 250);
  else host.requestAnimationFrame(() => callback());
};

/**
 * Collects items (event payloads) and hands them over all at once, at most once per frame, so that
 * the UI applies a burst of events in one reactive update instead of one update per event.
 */
export class FrameBatcher<T> {
  private items: T[] = [];
  private scheduled = false;
  private disposed = false;

  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly schedule: FrameScheduler = animationFrameScheduler,
  ) {}

  /** Queues an item; the flush runs on the next frame. */
  push(item: T): void {
    if (this.disposed) return;
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flushNow());
  }

  /** Hands the queued items over now (no-op when none are queued). */
  flushNow(): void {
    this.scheduled = false;
    if (this.disposed || this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.flush(items);
  }

  /** Drops queued items and ignores later pushes. */
  dispose(): void {
    this.disposed = true;
    this.items = [];
  }
}
