import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/** Device registry, operator settings, the audit log and persistent counters. */
function up(db: Database): void {
  db.exec(`
    CREATE TABLE devices (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      tags TEXT NOT NULL DEFAULT '[]',
      mcu TEXT NOT NULL,
      firmware TEXT,
      runtime TEXT,
      model TEXT,
      slots TEXT NOT NULL DEFAULT '[]',
      sram_free INTEGER,
      flash_free INTEGER,
      telemetry_interval_ms INTEGER,
      status TEXT NOT NULL DEFAULT 'unknown',
      simulated INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      last_seen INTEGER,
      battery REAL,
      temperature REAL,
      rssi REAL,
      free_heap REAL,
      inference_ms REAL,
      secret_hash TEXT NOT NULL,
      mosquitto_hash TEXT NOT NULL
    ) STRICT;
    CREATE INDEX devices_status ON devices(status);
    CREATE INDEX devices_mcu ON devices(mcu);

    CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ts INTEGER NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT,
      details TEXT
    ) STRICT;

    CREATE TABLE counters (
      name TEXT PRIMARY KEY,
      value INTEGER NOT NULL
    ) STRICT;
  `);
}

export const migration0001: Migration = { version: 1, name: 'registry', up };
