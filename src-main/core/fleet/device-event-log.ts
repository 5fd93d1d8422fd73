import { silentLogger, type Logger } from '../common/logger';
import type { DeviceEvent } from '../contract';
import type { Events } from '../contract';
import type { EventSink } from '../common/event-sink';
import { decodeEvent } from '../protocol';
import type { NewDeviceEvent, Store } from '../store';
import { trustedDeviceTime } from './device-time';
import type { DeviceRouter, Disposable } from './device-router';
import { RateLimitedLog } from './rate-limited-log';

/** Events a device may burst, and how many per second it earns back (more are dropped and logged). */
const EVENT_BURST = 20;
const EVENTS_PER_SECOND = 5;
/** How often queued events are written (ms). */
const FLUSH_INTERVAL_MS = 200;
/** Queued events that make a write happen at once rather than at the next interval. */
const FLUSH_AT = 10_000;
/** Events kept for a retry while the database refuses writes (the oldest go first beyond this). */
const MAX_QUEUED_EVENTS = 50_000;

/** Receives a device's event as decoded (kind and data as the device sent them). */
export type DeviceEventListener = (deviceId: string, kind: string, data: unknown) => void;

/** What the event log needs. */
export interface DeviceEventLogDeps {
  store: Store;
  router: DeviceRouter;
  events: EventSink<Events>;
  clock?: () => number;
  logger?: Logger;
}

/**
 * The device event log: events devices publish on `evt` and the app's own notes about devices
 * (presence changes, MCU mismatches). Events are queued and written in batches every 200 ms,
 * kept for a retry while the database is busy, and pushed to `fleet.deviceEvents/<id>`
 * subscribers once stored. A token bucket per device keeps one chatty device from flooding the log.
 */
export class DeviceEventLog {
  private readonly store: Store;
  private readonly events: EventSink<Events>;
  private readonly clock: () => number;
  private readonly log: RateLimitedLog;
  private readonly registration: Disposable;
  private readonly budget = new Map<string, { tokens: number; at: number }>();
  private readonly listeners = new Set<DeviceEventListener>();
  private queue: NewDeviceEvent[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(deps: DeviceEventLogDeps) {
    this.store = deps.store;
    this.events = deps.events;
    this.clock = deps.clock ?? Date.now;
    this.log = new RateLimitedLog(deps.logger ?? silentLogger, 10_000, this.clock);
    this.registration = deps.router.register('evt', ({ deviceId, payload }) => {
      const d = decodeEvent(payload);
      if (!d.ok) return deps.router.malformed(deviceId, d.error.message);
      // Services act on every event they own (a round's result), whatever the log's flood limit keeps.
      for (const listener of this.listeners) listener(deviceId, d.value.kind, d.value.data);
      if (this.takeToken(deviceId)) {
        const { ts, kind, level, message, data } = d.value;
        this.append({ deviceId, ts: trustedDeviceTime(ts, this.clock()), kind, level, message, data });
      } else this.log.warn(`evt-flood:${deviceId}`, `fleet: "${deviceId}" sends more than ${EVENTS_PER_SECOND} events a second; dropping the excess`);
    });
  }

  /** Calls `listener` with every well-formed event a device sends (services that act on event kinds, e.g. rounds). Returns an unsubscribe function. */
  onEvent(listener: DeviceEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes queued events every 200 ms from now on. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref?.();
  }

  /** Queues an event for the next write. */
  append(event: NewDeviceEvent): void {
    if (event.data === undefined) delete event.data;
    this.queue.push(event);
    if (this.queue.length > FLUSH_AT) this.flush();
  }

  /** Writes the queued events now and pushes them to their subscribers; on a database error keeps them for the next try. */
  flush(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    let stored: DeviceEvent[];
    try {
      stored = this.store.events.insertMany(batch);
    } catch (err) {
      // Kept for the next flush (a busy database is temporary), within the queue's bound.
      this.queue = batch.concat(this.queue).slice(-MAX_QUEUED_EVENTS);
      this.log.warn('events', `fleet: storing device events failed, retrying: ${(err as Error).message}`);
      return;
    }
    const byDevice = new Map<string, DeviceEvent[]>();
    for (const e of stored) {
      if (!this.events.hasSubscribers(`fleet.deviceEvents/${e.deviceId}`)) continue;
      let list = byDevice.get(e.deviceId);
      if (!list) byDevice.set(e.deviceId, (list = []));
      list.push(e);
    }
    for (const [deviceId, events] of byDevice) this.events.emit(`fleet.deviceEvents/${deviceId}`, { deviceId, events });
  }

  /** The newest `limit` events of a device, newest first, including those still queued. */
  recent(deviceId: string, limit: number): DeviceEvent[] {
    this.flush();
    return this.store.events.recent(deviceId, limit);
  }

  /** Stops the timer, writes what is queued and stops taking `evt` messages. */
  dispose(): void {
    this.registration.dispose();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }

  private takeToken(deviceId: string): boolean {
    const now = this.clock();
    const b = this.budget.get(deviceId) ?? { tokens: EVENT_BURST, at: now };
    b.tokens = Math.min(EVENT_BURST, b.tokens + ((now - b.at) / 1000) * EVENTS_PER_SECOND);
    b.at = now;
    this.budget.set(deviceId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
