import type { EventSink } from '../../../src-main/core/host/event-sink';

/** An EventSink that records what services emit; `listen` marks keyed events as subscribed. */
export class RecordingSink implements EventSink {
  readonly emitted: Array<{ event: string; payload: any }> = [];
  private readonly subscribed = new Set<string>();

  listen(event: string): void {
    this.subscribed.add(event);
  }

  emit(event: string, payload: unknown): void {
    this.emitted.push({ event, payload });
  }

  hasSubscribers(event: string): boolean {
    return this.subscribed.has(event);
  }

  /** Payloads of one event name, in order. */
  of(event: string): any[] {
    return this.emitted.filter((e) => e.event === event).map((e) => e.payload);
  }
}
