import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/**
 * Personalization sessions (core/rounds/personalization-sessions.ts): a session row holds its spec
 * and deadline; one row per device (written before its `start_round` goes out, so a restart knows
 * who was asked; the unique upload transfer id makes a duplicate upload land on the same row; an
 * accepted upload's bytes stay on the row until the device's result says whether it kept them).
 * Devices gain `personalized`, what their last birth said about a personalization overlay (JSON
 * `{session, digest}`, NULL without one): such a device is left out of global rounds.
 */
function up(db: Database): void {
  db.exec(`
    ALTER TABLE devices ADD COLUMN personalized TEXT;

    CREATE TABLE personalization_sessions (
      id TEXT PRIMARY KEY,
      spec TEXT NOT NULL,
      state TEXT NOT NULL,
      deadline INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER
    ) STRICT;
    CREATE INDEX personalization_sessions_state ON personalization_sessions(state);

    CREATE TABLE personalization_devices (
      session_id TEXT NOT NULL REFERENCES personalization_sessions(id) ON DELETE CASCADE,
      device_id TEXT NOT NULL,
      mcu TEXT NOT NULL,
      model_id TEXT,
      base_version INTEGER,
      base_digest TEXT,
      scheme TEXT,
      state TEXT NOT NULL,
      code TEXT,
      message TEXT,
      tid TEXT,
      delta BLOB,
      accuracy_before REAL,
      accuracy_after REAL,
      kept INTEGER,
      digest TEXT,
      version INTEGER,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (session_id, device_id)
    ) STRICT;
    CREATE UNIQUE INDEX personalization_devices_tid ON personalization_devices(tid) WHERE tid IS NOT NULL;
  `);
}

export const migration0010: Migration = { version: 10, name: 'personalization', up };
