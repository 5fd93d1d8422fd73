import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/** Device events and the commands sent to devices. */
function up(db: Database): void {
  db.exec(`
    CREATE TABLE device_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      device_id TEXT NOT NULL,
      ts INTEGER NOT NULL,
      kind TEXT NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL,
      data TEXT
    ) STRICT;
    CREATE INDEX device_events_device ON device_events(device_id, id);
    CREATE INDEX device_events_ts ON device_events(ts);

    CREATE TABLE commands (
      id TEXT PRIMARY KEY,
      device_id TEXT NOT NULL,
      command TEXT NOT NULL,
      params TEXT NOT NULL,
      state TEXT NOT NULL,
      result TEXT,
      error TEXT,
      sent_at INTEGER NOT NULL,
      answered_at INTEGER
    ) STRICT;
    CREATE INDEX commands_device ON commands(device_id, sent_at);
  `);
}

export const migration0003: Migration = { version: 3, name: 'events-and-commands', up };
