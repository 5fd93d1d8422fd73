import type { Database, Statement } from 'better-sqlite3';
import type { DeviceEvent } from '../contract';
import { parseJsonColumn } from './json';

/** An event before it has an id. */
export type NewDeviceEvent = Omit<DeviceEvent, 'id'>;

interface EventRow {
  id: number;
  device_id: string;
  ts: number;
  kind: string;
  level: DeviceEvent['level'];
  message: string;
  data: string | null;
}

/** Device events (from `evt` topics) and app-side notes about devices (presence changes). */
export class EventsRepo {
  private readonly insertStmt: Statement;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare('INSERT INTO device_events (device_id, ts, kind, level, message, data) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** Stores events (in one transaction) and returns them with their ids. */
  insertMany(events: readonly NewDeviceEvent[]): DeviceEvent[] {
    return this.db.transaction(() =>
      events.map((e) => {
        const data = e.data === undefined ? null : JSON.stringify(e.data);
        const id = Number(this.insertStmt.run(e.deviceId, e.ts, e.kind, e.level, e.message, data).lastInsertRowid);
        return { ...e, id };
      }),
    )();
  }

  /** The newest `limit` events of a device, newest first. */
  recent(deviceId: string, limit: number): DeviceEvent[] {
    const rows = this.db.prepare('SELECT * FROM device_events WHERE device_id = ? ORDER BY id DESC LIMIT ?').all(deviceId, limit) as EventRow[];
    return rows.map((r) => {
      const event: DeviceEvent = { id: r.id, deviceId: r.device_id, ts: r.ts, kind: r.kind, level: r.level, message: r.message };
      if (r.data !== null) event.data = parseJsonColumn<unknown>(r.data, null);
      return event;
    });
  }

  /** Deletes at most `limit` events older than `before`; returns how many. */
  prune(before: number, limit: number): number {
    return this.db.prepare('DELETE FROM device_events WHERE id IN (SELECT id FROM device_events WHERE ts < ? ORDER BY ts LIMIT ?)').run(before, limit).changes;
  }
}
