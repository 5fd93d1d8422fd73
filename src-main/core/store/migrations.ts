import type { Database } from 'better-sqlite3';

/**
 * One schema step. Migration n takes the database from user_version n-1 to n; each runs in its own
 * transaction together with the user_version bump, so a failure leaves the previous version intact.
 * Never edit a shipped migration: append a new one.
 */
export type Migration = (db: Database) => void;

/** Device registry, operator settings, the audit log and persistent counters. */
function v1Registry(db: Database): void {
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

/** Raw telemetry and its 1-minute aggregates (sums and counts per field, so merges stay exact). */
function v2Telemetry(db: Database): void {
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

/** Device events and the commands sent to devices. */
function v3EventsAndCommands(db: Database): void {
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

/** The model registry: models, their imported versions (files are content-addressed on disk) and analyses. */
function v4Models(db: Database): void {
  db.exec(`
    CREATE TABLE models (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE model_versions (
      model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
      version INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      file_name TEXT NOT NULL,
      graph TEXT NOT NULL,
      imported_at INTEGER NOT NULL,
      PRIMARY KEY (model_id, version)
    ) STRICT;
    CREATE INDEX model_versions_sha256 ON model_versions(sha256);

    CREATE TABLE model_analyses (
      id TEXT PRIMARY KEY,
      model_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      options TEXT NOT NULL,
      report TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      finished_at INTEGER NOT NULL,
      FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX model_analyses_version ON model_analyses(model_id, version, finished_at);
  `);
}

/** Deployments: one row per rollout, the package per MCU class it sends, one execution per device. */
function v5Deployments(db: Database): void {
  db.exec(`
    CREATE TABLE deployments (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      model_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      spec TEXT NOT NULL,
      state TEXT NOT NULL,
      state_reason TEXT,
      current_wave INTEGER NOT NULL DEFAULT 0,
      wave_sizes TEXT NOT NULL,
      wave_times TEXT NOT NULL DEFAULT '[]',
      fit_gate TEXT NOT NULL,
      rollback_of TEXT,
      bytes_sent INTEGER NOT NULL DEFAULT 0,
      created_by TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER
    ) STRICT;
    CREATE INDEX deployments_created ON deployments(created_at);

    CREATE TABLE deployment_packages (
      deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
      mcu TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      arena_bytes INTEGER NOT NULL,
      plan TEXT NOT NULL,
      path TEXT NOT NULL,
      PRIMARY KEY (deployment_id, mcu)
    ) STRICT;

    CREATE TABLE deployment_devices (
      deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
      device_id TEXT NOT NULL,
      mcu TEXT NOT NULL,
      wave INTEGER NOT NULL,
      state TEXT NOT NULL,
      action TEXT NOT NULL DEFAULT 'transfer',
      attempts INTEGER NOT NULL DEFAULT 0,
      tid TEXT,
      blocks_held INTEGER NOT NULL DEFAULT 0,
      block_count INTEGER NOT NULL DEFAULT 0,
      bytes_sent INTEGER NOT NULL DEFAULT 0,
      error_code TEXT,
      error_message TEXT,
      previous_sha256 TEXT,
      previous_model TEXT,
      started_at INTEGER,
      updated_at INTEGER NOT NULL,
      finished_at INTEGER,
      PRIMARY KEY (deployment_id, device_id)
    ) STRICT;
    CREATE INDEX deployment_devices_state ON deployment_devices(deployment_id, state);
    CREATE INDEX deployment_devices_device ON deployment_devices(device_id, updated_at);
  `);
}

/** The schema history, oldest first; index i holds migration i+1. */
export const MIGRATIONS: readonly Migration[] = [v1Registry, v2Telemetry, v3EventsAndCommands, v4Models, v5Deployments];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The database was written by a newer TinyFleet; opening it could lose data, so we refuse. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
    file: string,
  ) {
    super(
      `database ${file} has schema version ${found}, but this TinyFleet understands versions up to ${supported}; ` +
        'it was written by a newer TinyFleet. Upgrade TinyFleet or use another data directory (the database was not modified).',
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Reads PRAGMA user_version. */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database up to `target` (default: the latest), one transaction per migration.
 * Throws SchemaTooNewError, without writing anything, when the database is newer than the code.
 */
export function migrate(db: Database, target: number = SCHEMA_VERSION, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = schemaVersion(db);
  if (current > migrations.length) throw new SchemaTooNewError(current, migrations.length, db.name);
  for (let version = current + 1; version <= target; version++) {
    const step = migrations[version - 1];
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return schemaVersion(db);
}
