import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/**
 * Built packages (.tfpk), content-addressed on disk under their SHA-256 (which is their id), one row
 * per build: the model version and MCU profile it was built for and the build options.
 */
function up(db: Database): void {
  db.exec(`
    CREATE TABLE model_packages (
      sha256 TEXT PRIMARY KEY,
      model_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      mcu TEXT NOT NULL,
      options TEXT NOT NULL,
      file_name TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      built_at INTEGER NOT NULL,
      FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX model_packages_version ON model_packages(model_id, version, built_at);
  `);
}

export const migration0005: Migration = { version: 5, name: 'model-packages', up };
