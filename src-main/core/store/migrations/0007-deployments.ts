import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/**
 * Deployments (core/deploy): a deployment row holds its spec, state and wave bookkeeping; one
 * execution row per target device (the primary key is what makes an execution impossible to
 * duplicate across app restarts), naming the package it sends and the transfer id it resumes with.
 * Devices gain the protocol revision of their birth (v1.0 devices are never offered a transfer).
 */
function up(db: Database): void {
  db.exec(`
    ALTER TABLE devices ADD COLUMN proto TEXT NOT NULL DEFAULT '1.0';
    CREATE TABLE deployments (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      model_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      spec TEXT NOT NULL,
      state TEXT NOT NULL,
      state_reason TEXT,
      current_wave INTEGER NOT NULL DEFAULT 0,
      waves TEXT NOT NULL,
      fit_gate TEXT NOT NULL,
      soak_until INTEGER,
      bytes_sent INTEGER NOT NULL DEFAULT 0,
      bytes_needed INTEGER NOT NULL DEFAULT 0,
      rollback_of TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER
    );
    CREATE INDEX deployments_state ON deployments(state);
    CREATE TABLE deployment_devices (
      deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
      device_id TEXT NOT NULL,
      mcu TEXT NOT NULL,
      wave INTEGER NOT NULL,
      state TEXT NOT NULL,
      action TEXT NOT NULL DEFAULT 'transfer',
      package_id TEXT,
      target_slot TEXT,
      tid TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      idle_retries INTEGER NOT NULL DEFAULT 0,
      blocks_held INTEGER NOT NULL DEFAULT 0,
      block_count INTEGER NOT NULL DEFAULT 0,
      bytes_sent INTEGER NOT NULL DEFAULT 0,
      previous TEXT,
      error_code TEXT,
      error_message TEXT,
      attempt_started_at INTEGER,
      last_heard_at INTEGER,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (deployment_id, device_id)
    );
    CREATE INDEX deployment_devices_state ON deployment_devices(deployment_id, state);
    CREATE INDEX deployment_devices_device ON deployment_devices(device_id, updated_at);
    CREATE UNIQUE INDEX deployment_devices_tid ON deployment_devices(tid) WHERE tid IS NOT NULL;
  `);
}

export const migration0007: Migration = { version: 7, name: 'deployments', up };
