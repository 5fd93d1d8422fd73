import type { Database } from 'better-sqlite3';
import type { Migration } from './migration';

/** The model registry: models, their imported versions (files are content-addressed on disk) and analyses. */
function up(db: Database): void {
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

export const migration0004: Migration = { version: 4, name: 'models', up };
