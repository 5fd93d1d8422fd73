import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/**
 * Federated rounds (core/rounds): a job row holds its spec, the scheme per MCU class and the stop
 * rule's bookkeeping; one row per round (its state is written before anything is sent, so a restart
 * knows where it was); one participant row per device and round (the primary key makes a device
 * impossible to count twice in a round; the unique upload transfer id makes a duplicate upload land
 * on the same row). An accepted upload's delta bytes are kept on the row until its round aggregated,
 * so a restart aggregates exactly what was accepted. Model versions gain their digest (modelDigest,
 * what devices report) and the lineage of versions produced by rounds and personalization.
 */
function up(db: Database): void {
  db.exec(`
    ALTER TABLE model_versions ADD COLUMN digest TEXT;
    ALTER TABLE model_versions ADD COLUMN lineage TEXT;
    CREATE INDEX model_versions_digest ON model_versions(digest) WHERE digest IS NOT NULL;

    CREATE TABLE round_jobs (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      model_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      spec TEXT NOT NULL,
      classes TEXT NOT NULL,
      state TEXT NOT NULL,
      state_reason TEXT,
      current_round INTEGER NOT NULL DEFAULT 0,
      latest_version INTEGER,
      base_accuracy REAL,
      global_accuracy REAL,
      best_accuracy REAL,
      rounds_without_gain INTEGER NOT NULL DEFAULT 0,
      seed INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER
    ) STRICT;
    CREATE INDEX round_jobs_state ON round_jobs(state);

    CREATE TABLE rounds (
      job_id TEXT NOT NULL REFERENCES round_jobs(id) ON DELETE CASCADE,
      round INTEGER NOT NULL,
      state TEXT NOT NULL,
      state_reason TEXT,
      base_version INTEGER NOT NULL,
      base_digest TEXT NOT NULL,
      deadline INTEGER NOT NULL,
      bytes_up INTEGER NOT NULL DEFAULT 0,
      bytes_down INTEGER NOT NULL DEFAULT 0,
      dense_bytes INTEGER NOT NULL DEFAULT 0,
      global_accuracy REAL,
      base_accuracy REAL,
      device_accuracy TEXT,
      version INTEGER,
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      PRIMARY KEY (job_id, round)
    ) STRICT;
    CREATE INDEX rounds_state ON rounds(state);

    CREATE TABLE round_participants (
      job_id TEXT NOT NULL,
      round INTEGER NOT NULL,
      device_id TEXT NOT NULL,
      mcu TEXT NOT NULL,
      scheme TEXT NOT NULL,
      state TEXT NOT NULL,
      code TEXT,
      message TEXT,
      tid TEXT,
      delta BLOB,
      samples INTEGER,
      loss REAL,
      accuracy_before REAL,
      accuracy_after REAL,
      upload_bytes INTEGER,
      train_ms INTEGER,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (job_id, round, device_id),
      FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX round_participants_state ON round_participants(job_id, round, state);
    CREATE UNIQUE INDEX round_participants_tid ON round_participants(tid) WHERE tid IS NOT NULL;
  `);
}

export const migration0009: Migration = { version: 9, name: 'federated-rounds', up };
