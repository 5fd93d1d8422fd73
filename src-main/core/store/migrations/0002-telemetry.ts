import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/** Raw telemetry and its 1-minute aggregates (sums and counts per field, so merges stay exact). */
function up(db: Database): void {
  db.exec(`
    CREATE TABLE telemetry_raw (
      device_id TEXT NOT NULL,
      ts INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      battery REAL,
      temperature REAL,
      rssi REAL,
      free_heap REAL,
      inference_ms REAL,
      metrics TEXT
    ) STRICT;
    CREATE INDEX telemetry_raw_device_ts ON telemetry_raw(device_id, ts);
    CREATE INDEX telemetry_raw_ts ON telemetry_raw(ts);

    CREATE TABLE telemetry_1m (
      device_id TEXT NOT NULL,
      minute INTEGER NOT NULL,
      count INTEGER NOT NULL,
      battery_sum REAL NOT NULL DEFAULT 0, battery_n INTEGER NOT NULL DEFAULT 0,
      temperature_sum REAL NOT NULL DEFAULT 0, temperature_n INTEGER NOT NULL DEFAULT 0,
      rssi_sum REAL NOT NULL DEFAULT 0, rssi_n INTEGER NOT NULL DEFAULT 0,
      free_heap_sum REAL NOT NULL DEFAULT 0, free_heap_n INTEGER NOT NULL DEFAULT 0,
      inference_ms_sum REAL NOT NULL DEFAULT 0, inference_ms_n INTEGER NOT NULL DEFAULT 0,
      metrics TEXT NOT NULL DEFAULT '{}',
      PRIMARY KEY (device_id, minute)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX telemetry_1m_minute ON telemetry_1m(minute);
  `);
}

export const migration0002: Migration = { version: 2, name: 'telemetry', up };
